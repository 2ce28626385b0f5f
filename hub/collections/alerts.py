"""Alerts to the firm's administrators: a sync that failed its schema contract (a vendor release
that renamed a field) is e-mailed to every active Administrator, so it is not found a day late.

E-mail goes out over the hub's outgoing mail server (``CASHRAIL_SMTP_*``); without one nothing is
sent, and the failure still shows on the console, the run, the card and the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlmodel import col, select

from hub.access.roles import Role
from hub.collections.mail_settings import smtp_for
from hub.collections.mailer import MailDeliveryError, compose, send
from hub.platform.db import session
from hub.platform.models import User
from hub.sync.runner import SchemaDriftError

log = logging.getLogger(__name__)


def alert_schema_drift(environment: str, connector: str, run_id: int,
                       failures: Mapping[str, BaseException]) -> list[str]:
    """E-mail the administrators about the streams that failed their schema contract in this run;
    the addresses it went to (none without drift, administrators or a mail server)."""
    drifted = {name: exc for name, exc in failures.items() if isinstance(exc, SchemaDriftError)}
    if not drifted:
        return []
    try:
        settings = smtp_for(environment)
    except ValueError as exc:  # a bad CASHRAIL_SMTP_* value: the sync's own failure still shows
        log.warning("schema drift alert not sent: %s", exc)
        return []
    if settings is None:
        return []
    with session(environment) as s:
        admins = [u.email for u in s.exec(select(User).where(
            User.role == Role.ADMINISTRATOR.value, col(User.is_active).is_(True)).order_by(col(User.email)))]
    subject = f"Cashrail: schema drift in {connector} ({', '.join(drifted)}) — the sync failed"
    body = "\n\n".join([
        f"Sync run {run_id} of connector {connector} ({environment}) failed its schema contract:",
        *(f"- {exc}" for exc in drifted.values()),
        "The records are kept in quarantine. Fix the mapping or the data, then replay them:\n"
        f"  cashrail quarantine list --connector {connector} --env {environment}\n"
        f"  cashrail quarantine retry --connector {connector} --env {environment}",
    ])
    sent: list[str] = []
    for address in admins:
        message = compose(settings, key=f"sync-drift:{environment}:{run_id}:{address}", to_address=address,
                          subject=subject, body=body)
        try:
            send(settings, message)
        except MailDeliveryError as exc:
            log.warning("schema drift alert to %s not sent: %s", address, exc)
            continue
        sent.append(address)
    return sent
