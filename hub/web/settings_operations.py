"""The settings screens' operations (documents, dunning, notifications, mail): what the pages and the API call."""

from __future__ import annotations

from typing import Any

from connectors.http import ApiError
from hub.collections import dunning_settings as dunning_config
from hub.collections import (
    mail_settings,
)
from hub.collections import notification_settings as notify_settings
from hub.collections.mail_settings import mail_problem
from hub.documents import settings as documents_config
from hub.web import queries
from hub.web.auth import Actor

# --- connector cards ----------------------------------------------------------------------------
from hub.web.operations import whole_numbers
from hub.web.schemas import (
    DocumentSettingsFormIn,
    DocumentSettingsIn,
    DunningSettingsFormIn,
    DunningSettingsIn,
    MailSettingsIn,
    NotificationSharedIn,
    NotificationTypeIn,
)


def document_settings(actor: Actor) -> dict[str, Any]:
    return actor.call(documents_config.get_settings).as_json()


def update_document_settings(actor: Actor, body: DocumentSettingsIn | DocumentSettingsFormIn) -> dict[str, Any]:
    """Store what the body gives (the form: all its fields; the API: those sent)."""
    changes = body.model_dump(exclude_unset=isinstance(body, DocumentSettingsIn))
    if isinstance(body, DocumentSettingsFormIn):
        changes["image_sources"] = [part for part in body.image_sources.replace(" ", "").split(",") if part]
    with actor.session() as s:
        return documents_config.update(s, actor=actor.email, **changes).as_json()


def dunning_settings(actor: Actor) -> dict[str, Any]:
    return actor.call(dunning_config.get_settings).as_dict()


def update_dunning(actor: Actor, body: DunningSettingsIn | DunningSettingsFormIn) -> dict[str, Any]:
    if isinstance(body, DunningSettingsFormIn):
        changes = {**body.model_dump(), "levels": whole_numbers(body.levels, "levels"),
                   "severities": dunning_config.severities_from_text(body.severities)}
    else:
        changes = body.model_dump(exclude_unset=True)
    for name in ("penalty_percent", "penalty_fixed"):
        if changes.get(name) is not None:
            changes[name] = str(changes[name])
    with actor.session() as s:
        return dunning_config.update_settings(s, **changes).as_dict()


def notification_settings(actor: Actor) -> dict[str, Any]:
    """Every type's resolved settings; ``own`` lists the ticket fields a type sets itself."""
    with actor.session() as s:
        settings = notify_settings.get_settings(s)
        overrides = queries.notification_overrides(s)
    shared = settings.ticket_config
    rows = [{**row, "own": overrides.get(row["type"], {})} for row in notify_settings.settings_table(settings)]
    try:
        psas = notify_settings.psa_ticket_choices(actor.environment)
        choices, unreachable = notify_settings.common_choices(psas), None
    except ApiError as exc:  # the pickers fall back to text boxes; saving checks again
        psas, choices, unreachable = {}, None, str(exc)
    return {"sender_name": settings.sender_name, "choices": choices, "psas": sorted(psas),
            "unreachable": unreachable,
            "ticket": {"destination": shared.destination, "priority": shared.priority, "issue_type": shared.issue_type},
            "types": rows}


def update_notifications(actor: Actor, type: str | None, body: NotificationTypeIn | NotificationSharedIn) -> None:
    """One type's row (``type``) or the shared ticket configuration and sender name; a queue,
    priority or issue type the PSA does not list is refused."""
    changes = body.model_dump()
    notify_settings.check_against_psa(actor.environment, changes, type=type)
    with actor.session() as s:
        notify_settings.update_settings(s, type, **changes)


def mail_view(actor: Actor) -> dict[str, Any]:
    """Settings → Mail: the server in use (saved, or from ``CASHRAIL_SMTP_*``) and what stops mail."""
    with actor.session() as s:
        return {**mail_settings.mail_view(s), "problem": mail_problem(s)}


def save_mail(actor: Actor, body: MailSettingsIn) -> None:
    actor.call(mail_settings.save_mail, **dict(body))


def send_test_mail(actor: Actor, to_address: str) -> str:
    """The mail server's answer to a test e-mail (raises MailDeliveryError with its plain reason)."""
    return actor.call(mail_settings.send_test, to_address)
