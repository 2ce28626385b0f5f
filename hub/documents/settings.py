"""Document settings per environment (hub_settings section "documents"): the balance mode and
its history (seed 001's billing configuration), the *Invoice Image Data* order (seed 002) and
when the invoice e-mail goes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from hub.access.roles import allow
from hub.collections.rules import CollectionRuleError, InvoiceMode
from hub.documents.rules.choices import DEFAULT_IMAGE_SOURCES, ImageSource, ModeChange, image_order, mode_on
from hub.platform import audit
from hub.platform.errors import InputError
from hub.platform.hub_settings import get_section, put_section

SECTION = "documents"


class InvoiceEmail(StrEnum):
    """When the billing contact gets the invoice e-mail."""

    POSTED = "posted"  # when Cashrail posts a billing action's invoice into the ERP
    SYNCED = "synced"  # also when a PSA or ERP invoice syncs in
    OFF = "off"


class DocumentSettingsError(InputError):
    """Bad document settings, naming the field."""


@dataclass(frozen=True)
class DocumentSettings:
    #: the balance mode changes, oldest first (none: dynamic, seed 001's first mode)
    modes: tuple[ModeChange, ...] = ()
    image_sources: tuple[ImageSource, ...] = DEFAULT_IMAGE_SOURCES
    invoice_email: InvoiceEmail = InvoiceEmail.POSTED
    #: the e-mail of invoices issued before this day is never sent (no flood of the synced history)
    invoice_email_since: date | None = None

    def mode_for(self, issue_date: date | None) -> InvoiceMode:
        """The balance mode of an invoice issued on ``issue_date`` (None: the mode in force now)."""
        return mode_on(self.modes, issue_date)

    @property
    def balance_mode(self) -> InvoiceMode:
        return self.mode_for(None)

    def as_json(self) -> dict[str, Any]:
        return {
            "balance_mode": self.balance_mode.value,
            "balance_mode_history": [
                {"mode": c.mode.value, "effective_from": c.effective_from.isoformat() if c.effective_from else None}
                for c in self.modes],
            "image_sources": [s.value for s in self.image_sources],
            "invoice_email": self.invoice_email.value,
            "invoice_email_since": self.invoice_email_since.isoformat() if self.invoice_email_since else None,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DocumentSettings:
        """Validate stored settings; errors name the field."""
        try:
            modes = tuple(ModeChange(c["mode"], _date(c.get("effective_from"), "balance_mode_history"))
                          for c in value.get("balance_mode_history") or [])
            sources = image_order(value.get("image_sources") or [s.value for s in DEFAULT_IMAGE_SOURCES])
        except CollectionRuleError as exc:
            raise DocumentSettingsError(str(exc)) from None
        except (KeyError, TypeError):
            raise DocumentSettingsError("balance_mode_history: each change needs its mode") from None
        try:
            email = InvoiceEmail(value.get("invoice_email") or InvoiceEmail.POSTED)
        except ValueError:
            raise DocumentSettingsError(
                f"invoice_email: must be posted, synced or off, not {value.get('invoice_email')!r}") from None
        return cls(modes, sources, email, _date(value.get("invoice_email_since"), "invoice_email_since"))


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DocumentSettingsError(f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def get_settings(s: Session) -> DocumentSettings:
    return DocumentSettings.from_json(get_section(s, SECTION))


def update(s: Session, *, balance_mode: str | None = None, effective_from: date | None = None,
           image_sources: list[str] | None = None, invoice_email: str | None = None,
           invoice_email_since: date | None = None, today: date | None = None,
           actor: str | None = None) -> DocumentSettings:
    """Change what is given; the rest is kept. Audited.

    A new balance mode takes effect from the next billing cycle: invoices issued from
    ``effective_from`` on (default: the day after ``today``); invoices issued before keep theirs.
    """
    allow(s, "Billing Settings", "Update")
    before = get_settings(s)
    value = before.as_json()
    if invoice_email == InvoiceEmail.SYNCED and invoice_email_since is None and not value["invoice_email_since"]:
        # from now on: switching synced invoices on does not e-mail the whole synced history
        invoice_email_since = today or date.today()
    if balance_mode is not None:
        try:
            mode = InvoiceMode(str(balance_mode).strip().lower())
        except ValueError:
            raise DocumentSettingsError(
                f"balance_mode: must be dynamic, static or batch, not {balance_mode!r}") from None
        start = effective_from or (today or date.today()) + timedelta(days=1)
        kept = [c for c in value["balance_mode_history"] if (c["effective_from"] or "") < start.isoformat()]
        value["balance_mode_history"] = [*kept, {"mode": mode.value, "effective_from": start.isoformat()}]
    elif effective_from is not None:
        raise DocumentSettingsError("effective_from: give it with a new balance_mode")
    if image_sources is not None:
        value["image_sources"] = list(image_sources)
    if invoice_email is not None:
        value["invoice_email"] = invoice_email
    if invoice_email_since is not None:
        value["invoice_email_since"] = invoice_email_since.isoformat()
    after = DocumentSettings.from_json(value)
    stored = after.as_json()
    put_section(s, SECTION, stored, actor=actor)
    audit.record(s, "settings.edit", "hub_settings", SECTION, actor=actor, before=before.as_json(), after=stored)
    return after
