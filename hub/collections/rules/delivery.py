"""What one notification turns into: an e-mail to the billing contact and/or a PSA ticket.

Pure: the hub's outbox stores the plan's drafts under their keys and marks each delivered, so
a retried run never sends twice; the mailer and the PSA connector do the sending.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hub.collections.rules.notifications import EMAIL_ONLY, Notification, NotificationSettings, Recipient, delivery_key
from hub.collections.rules.templates import RenderedMessage, render

#: service tickets are for the firm's own staff: written in this language
TICKET_LANGUAGE = "en"


@dataclass(frozen=True)
class EmailDraft:
    key: str
    recipient: Recipient
    message: RenderedMessage


@dataclass(frozen=True)
class TicketDraft:
    """A PSA service ticket: title and details, filed to ``destination`` with the given
    priority and issue type (names as the PSA lists them)."""

    key: str
    customer_name: str
    title: str
    details: str
    destination: str
    priority: str
    issue_type: str


@dataclass(frozen=True)
class DeliveryPlan:
    """``email``/``ticket`` are None when switched off or impossible; ``skipped`` says why."""

    notification_key: str
    email: EmailDraft | None
    ticket: TicketDraft | None
    skipped: tuple[str, ...] = ()


def plan_delivery(
    notification: Notification, settings: NotificationSettings, recipient: Recipient | None
) -> DeliveryPlan:
    """Plan ``notification``'s deliveries under its type's settings.

    The e-mail is rendered in the recipient's language; with no recipient (no billing contact
    with an e-mail address in the PSA or the ERP) it is skipped, and the ticket says so.
    """
    setting = settings.for_type(notification.type)
    skipped: list[str] = []
    email = None
    if not setting.email:
        skipped.append(f"e-mail: switched off for {notification.type.value}")
    elif recipient is None:
        skipped.append("e-mail: no billing contact with an e-mail address in the PSA or the ERP")
    else:
        message = render(
            notification,
            recipient.language,
            recipient_name=recipient.name or None,
            sender_name=settings.sender_name,
        )
        email = EmailDraft(delivery_key(notification.key, "email"), recipient, message)
    ticket = None
    if notification.type in EMAIL_ONLY:
        skipped.append(f"ticket: a {notification.type.value} goes to its contact only")
    elif setting.ticket:
        # the customer's pay link opens their pages without a password: it goes to them, not into a ticket
        staff = render(replace(notification, pay_link=None), TICKET_LANGUAGE, sender_name=settings.sender_name)
        if email is not None:
            sent = (
                f"E-mailed to {email.recipient.email} ({email.recipient.source.value.upper()} "
                f"billing contact, {email.message.language})."
            )
        else:
            sent = "Not e-mailed: " + "; ".join(skipped) + "."
        cfg = setting.ticket_config
        ticket = TicketDraft(
            key=delivery_key(notification.key, "ticket"),
            customer_name=notification.customer_name,
            title=f"{notification.customer_name}: {staff.subject}",
            details=f"{staff.body}\n{sent}\n",
            destination=cfg.destination,
            priority=cfg.priority,
            issue_type=cfg.issue_type,
        )
    else:
        skipped.append(f"ticket: switched off for {notification.type.value}")
    return DeliveryPlan(notification.key, email, ticket, tuple(skipped))
