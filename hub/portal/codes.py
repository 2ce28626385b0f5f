"""One-time codes for the portal (setting ``require_code``): a 6-digit code e-mailed to a contact
of the customer, asked for on top of the link.

Only a keyed hash of each code is stored. A code works once, for ``CODE_MINUTES``; a customer
gets at most ``MAX_CODES`` codes per ``WINDOW`` (the e-mails cannot be used to flood a contact),
and after ``MAX_ATTEMPTS`` wrong entries the live codes stop working (a new one must be sent).
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hub.platform.errors import CashrailError, InputError
from hub.platform.models import PortalCode, stored_id
from hub.platform.types import utcnow
from hub.portal.links import keyed_digest

CODE_MINUTES = 10
WINDOW = timedelta(minutes=15)
MAX_CODES = 3
MAX_ATTEMPTS = 5


class CodeError(InputError):
    """A code that does not open the portal (wrong, used, expired, or none sent)."""


class CodeThrottled(CashrailError):
    """Too many codes asked for: the message says when another can be sent."""

    status = 429


def _hash(organisation_id: int, code: str) -> str:
    return keyed_digest(f"code|{organisation_id}|{code}")


def new_code(s: Session, organisation_id: int, contact_id: int, now: datetime | None = None) -> tuple[int, str]:
    """A new code for the customer, to be e-mailed to ``contact_id``: (its row id, the code).

    Raises:
        CodeThrottled: ``MAX_CODES`` were sent within ``WINDOW`` already.
    """
    now = now or utcnow()
    recent = list(s.exec(select(PortalCode.created_at).where(
        col(PortalCode.organisation_id) == organisation_id, col(PortalCode.created_at) > now - WINDOW)
        .order_by(col(PortalCode.created_at))).all())
    if len(recent) >= MAX_CODES:
        wait = math.ceil((recent[0] + WINDOW - now).total_seconds() / 60)
        raise CodeThrottled(f"code: {MAX_CODES} codes were sent in the last {WINDOW.seconds // 60} minutes; "
                            f"use the latest one or ask again in {wait} minute{'s' if wait != 1 else ''}")
    code = f"{secrets.randbelow(10**6):06d}"
    row = PortalCode(environment=s.info["environment"], organisation_id=organisation_id, contact_id=contact_id,
                     code_hash=_hash(organisation_id, code), created_at=now,
                     expires_at=now + timedelta(minutes=CODE_MINUTES))
    s.add(row)
    s.flush()
    return stored_id(row), code


def check_code(s: Session, organisation_id: int, code: str, now: datetime | None = None) -> None:
    """Accept ``code`` once if it is one of the customer's live codes.

    Raises:
        CodeError: wrong (counted against the live codes), used, expired, or no live code.
    """
    now = now or utcnow()
    live = list(s.exec(select(PortalCode).where(
        col(PortalCode.organisation_id) == organisation_id, col(PortalCode.used_at).is_(None),
        col(PortalCode.expires_at) > now, col(PortalCode.attempts) < MAX_ATTEMPTS)
        .order_by(col(PortalCode.id).desc())).all())
    if not live:
        raise CodeError("code: no code is waiting (it expired, was used, or was entered wrongly too often); "
                        "send a new one")
    entered = "".join((code or "").split())
    digest = _hash(organisation_id, entered)
    for row in live:
        if hmac.compare_digest(row.code_hash, digest):
            row.used_at = now
            s.add(row)
            return
    for row in live:
        row.attempts += 1
        s.add(row)
    left = MAX_ATTEMPTS - max(r.attempts for r in live)
    raise CodeError(f"code: that is not the code we sent; {left} tr{'ies' if left != 1 else 'y'} left"
                    if left > 0 else "code: that is not the code we sent; send a new one")

