"""Notification e-mails per language (files in ``templates/<language>/``), rendered with Jinja2.

A template's first line is ``Subject: ...``; the body follows a blank line. Overdue notices
use the template of their severity (``overdue_reminder``, ``overdue_firm``,
``overdue_final``), so the wording gets stiffer with the level. The language is the
contact's, when a template set exists for it, else English.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.collections.rules.domain import PaymentMethodKind
from hub.collections.rules.formatting import DEFAULT_LANGUAGE, format_date, format_money
from hub.collections.rules.notifications import Notification
from hub.platform.text import one_line

TEMPLATE_DIR = Path(__file__).with_name("templates")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def languages() -> tuple[str, ...]:
    """The languages that have a template set, English first."""
    found = sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir())
    return tuple(sorted(found, key=lambda lang: lang != DEFAULT_LANGUAGE))


def choose_language(language: str | None) -> str:
    """The template language for a contact's ``language`` ("de", "de-CH", "DE_de" -> "de").

    English when the contact has no language or one without templates.
    """
    code = (language or "").strip().replace("_", "-").split("-")[0].lower()
    return code if code in languages() else DEFAULT_LANGUAGE


def template_name(notification: Notification) -> str:
    if notification.type.overdue_level is not None:
        return f"overdue_{notification.severity}"
    return notification.type.value


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str
    language: str
    template: str


def _render(name: str, language: str, context: dict[str, Any]) -> str:
    def money(amount: Decimal, currency: str | None = None) -> str:
        return format_money(amount, currency or context["currency"], language)

    def day(value: date) -> str:
        return format_date(value, language)

    template = _environment().get_template(f"{language}/{name}.txt")
    return template.render(**context, money=money, day=day)


def render(
    notification: Notification,
    language: str | None,
    *,
    recipient_name: str | None = None,
    sender_name: str = "Accounts Receivable",
) -> RenderedMessage:
    """Render ``notification`` in ``language`` (chosen by :func:`choose_language`).

    ``recipient_name`` greets the contact (default: the customer's name); ``sender_name``
    signs the message.
    """
    lang = choose_language(language)
    name = template_name(notification)
    context = asdict(notification)
    context.update(
        recipient_name=recipient_name or notification.customer_name, sender_name=sender_name
    )
    # synced names and numbers on one line: a line break in one must not end the Subject line
    # and start the body with the rest
    context = {k: one_line(v) if isinstance(v, str) else v for k, v in context.items()}
    text = _render(name, lang, context)
    head, _, body = text.partition("\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"template {lang}/{name}.txt must start with a 'Subject:' line")
    return RenderedMessage(
        subject=head.removeprefix("Subject:").strip(),
        body=body.strip() + "\n",
        language=lang,
        template=name,
    )


def invoice_footer_note(method: PaymentMethodKind, language: str | None = None) -> str | None:
    """The note for autopay customers' invoices (seed 000), so they don't pay twice.

    ``"Issued for information only, the amount shown will be collected by credit card"`` for
    a card (direct debit likewise); None when the customer has no payment method.
    """
    text = _render(
        "invoice_footer",
        choose_language(language),
        {"payment_method": PaymentMethodKind(method).value},
    )
    return text.strip() or None
