from datetime import date
from decimal import Decimal as D

import pytest

from hub.collections.rules import (
    CollectionRuleError,
    ContactRecord,
    ContactSource,
    Notification,
    NotificationSetting,
    NotificationSettings,
    NotificationType,
    Recipient,
    Severity,
    TicketConfig,
    choose_recipient,
    plan_delivery,
)

SEED_002_TYPES = {
    "payment_succeeded",
    "payment_failed",
    "retry_scheduled",
    "card_expiring",
    "payment_method_added",
    "payment_method_removed",
    "overdue_1",
    "overdue_2",
    "overdue_3",
    "renewal_notice",
}


def test_every_notification_type_the_issue_names_exists():
    assert {t.value for t in NotificationType} >= SEED_002_TYPES


def test_by_default_every_type_emails_and_raises_a_ticket_with_the_shared_ticket_configuration():
    settings = NotificationSettings()
    for kind in set(NotificationType) - {NotificationType.INVOICE, NotificationType.STATEMENT}:
        resolved = settings.for_type(kind)
        assert (resolved.email, resolved.ticket) == (True, True)
        assert resolved.ticket_config == TicketConfig("Accounts Receivable", "Medium", "Billing")


@pytest.mark.parametrize("kind", [NotificationType.INVOICE, NotificationType.STATEMENT])
def test_invoice_and_statement_emails_file_a_ticket_only_where_the_settings_ask(kind):
    note = Notification(type=kind, key=f"{kind.value}/1", customer_name="Contoso", invoice_number="1033",
                        amount=D("100.00"), currency="USD", statement_date=date(2012, 8, 31))
    by_default = plan_delivery(note, NotificationSettings(), RECIPIENT)
    assert by_default.email is not None and by_default.ticket is None
    assert by_default.skipped == (f"ticket: switched off for {kind.value}",)
    only_email_changed = NotificationSettings(per_type={kind: NotificationSetting(email=True)})
    assert plan_delivery(note, only_email_changed, RECIPIENT).ticket is None
    asked = plan_delivery(note, NotificationSettings(per_type={kind: NotificationSetting(ticket=True)}), RECIPIENT)
    assert asked.ticket is not None and asked.ticket.key == f"{kind.value}/1/ticket"


def test_a_type_can_drop_its_ticket_or_email_or_file_its_ticket_elsewhere():
    urgent = TicketConfig(destination="Service Desk", priority="High", issue_type="Payment")
    settings = NotificationSettings(
        ticket_config=TicketConfig(
            destination="Accounts Receivable", priority="Low", issue_type="Billing"
        ),
        per_type={
            "payment_succeeded": NotificationSetting(ticket=False),
            NotificationType.OVERDUE_3: NotificationSetting(ticket_config=urgent),
            NotificationType.CARD_EXPIRING: NotificationSetting(email=False),
        },
    )
    assert settings.for_type(NotificationType.PAYMENT_SUCCEEDED).ticket is False
    assert settings.for_type(NotificationType.OVERDUE_3).ticket_config == urgent
    assert settings.for_type(NotificationType.OVERDUE_1).ticket_config.priority == "Low"
    assert settings.for_type(NotificationType.CARD_EXPIRING).email is False


def test_an_unknown_type_in_the_settings_is_refused_listing_the_known_ones():
    with pytest.raises(
        CollectionRuleError, match="no notification type 'payment_bounced'.*payment_failed"
    ):
        NotificationSettings(per_type={"payment_bounced": NotificationSetting()})


@pytest.mark.parametrize("field", ["destination", "priority", "issue_type"])
def test_a_ticket_configuration_needs_destination_priority_and_issue_type(field):
    with pytest.raises(CollectionRuleError, match=f"ticket.{field}"):
        TicketConfig(**{field: " "})


def billing(email, **kw):
    return ContactRecord(email=email, is_billing_contact=True, **kw)


@pytest.mark.parametrize(
    ("psa", "erp", "expected"),
    [
        # the PSA's billing contact wins over other PSA contacts and over the ERP
        (
            [
                ContactRecord("ceo@contoso.com", "Ceo", is_primary=True),
                billing("ap@contoso.com", name="AP"),
            ],
            [ContactRecord("erp@contoso.com")],
            ("ap@contoso.com", ContactSource.PSA),
        ),
        # no billing contact in the PSA: the ERP's contact, even if the PSA has other contacts
        (
            [ContactRecord("ceo@contoso.com")],
            [ContactRecord("billing@contoso.com", "Billing")],
            ("billing@contoso.com", ContactSource.ERP),
        ),
        # a PSA billing contact that is inactive or has no usable address does not count
        (
            [billing("old@contoso.com", is_active=False), billing(None), billing("not an address")],
            [ContactRecord("erp@contoso.com")],
            ("erp@contoso.com", ContactSource.ERP),
        ),
        # several billing contacts: the primary one
        (
            [billing("b@contoso.com"), billing("a@contoso.com", is_primary=True)],
            [],
            ("a@contoso.com", ContactSource.PSA),
        ),
        # in the ERP, a billing or primary contact before the others
        (
            [],
            [ContactRecord("x@contoso.com"), ContactRecord("p@contoso.com", is_primary=True)],
            ("p@contoso.com", ContactSource.ERP),
        ),
        ([], [ContactRecord(None), ContactRecord("")], None),
    ],
)
def test_recipient_is_the_psa_billing_contact_else_the_erp_contact(psa, erp, expected):
    chosen = choose_recipient(psa, erp)
    assert (None if chosen is None else (chosen.email, chosen.source)) == expected


def test_the_recipient_keeps_the_contacts_name_and_language():
    chosen = choose_recipient([billing(" ap@contoso.de ", name="Anna Weber", language="de-DE")], [])
    assert chosen == Recipient("ap@contoso.de", "Anna Weber", "de-DE", ContactSource.PSA)


def overdue(level=1, **kw):
    values = {
        "type": NotificationType.overdue(level),
        "key": f"overdue:inv-1033:{level}",
        "customer_name": "Contoso",
        "invoice_number": "1033",
        "amount": D("100.00"),
        "currency": "USD",
        "due_date": date(2012, 8, 10),
        "days_overdue": 15,
    }
    values.update(kw)
    return Notification(**values)


def test_an_overdue_notice_takes_its_levels_default_severity_unless_told():
    assert [overdue(n).severity for n in (1, 2, 3)] == [
        Severity.REMINDER,
        Severity.FIRM,
        Severity.FINAL,
    ]
    assert overdue(1, severity="final").severity == Severity.FINAL


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (
            {
                "type": "payment_succeeded",
                "key": "k",
                "customer_name": "Contoso",
                "amount": D("1"),
                "currency": "USD",
            },
            "invoice_number",
        ),
        (
            {
                "type": "retry_scheduled",
                "key": "k",
                "customer_name": "Contoso",
                "invoice_number": "1",
                "amount": D("1"),
                "currency": "USD",
            },
            "retry_on",
        ),
        (
            {
                "type": "payment_succeeded",
                "key": "k",
                "customer_name": "Contoso",
                "invoice_number": "1",
                "amount": 1.0,
                "currency": "USD",
            },
            "amount",
        ),
        (
            {
                "type": "payment_succeeded",
                "key": " ",
                "customer_name": "Contoso",
                "invoice_number": "1",
                "amount": D("1"),
                "currency": "USD",
            },
            "key",
        ),
        (
            {
                "type": "payment_method_added",
                "key": "k",
                "customer_name": "Contoso",
                "payment_method": "card",
            },
            "card_last4",
        ),
        (
            {
                "type": "card_expiring",
                "key": "k",
                "customer_name": "",
                "card_brand": "Visa",
                "card_last4": "1111",
                "card_expiry": "09/12",
            },
            "customer_name",
        ),
    ],
)
def test_a_notification_missing_what_its_type_needs_is_refused_naming_the_field(kwargs, field):
    with pytest.raises(CollectionRuleError, match=field):
        Notification(**kwargs)


def test_overdue_levels_beyond_three_have_no_notification_type():
    with pytest.raises(CollectionRuleError, match="no Overdue 4"):
        NotificationType.overdue(4)


RECIPIENT = Recipient("ap@contoso.de", "Anna Weber", "de", ContactSource.PSA)


def test_delivery_plan_has_an_email_in_the_contacts_language_and_an_english_ticket():
    plan = plan_delivery(
        overdue(3, days_overdue=61), NotificationSettings(sender_name="Acme MSP"), RECIPIENT
    )
    assert plan.email is not None and plan.ticket is not None
    assert plan.email.key == "overdue:inv-1033:3/email"
    assert plan.email.message.language == "de"
    assert plan.email.message.subject.startswith("Letzte Mahnung")
    assert plan.ticket.key == "overdue:inv-1033:3/ticket"
    assert plan.ticket.title == "Contoso: Final notice: invoice 1033 is 61 days overdue"
    assert (plan.ticket.destination, plan.ticket.priority, plan.ticket.issue_type) == (
        "Accounts Receivable",
        "Medium",
        "Billing",
    )
    assert "E-mailed to ap@contoso.de (PSA billing contact, de)." in plan.ticket.details
    assert plan.skipped == ()


def test_delivery_plan_is_the_same_every_time_so_an_outbox_can_dedupe_it():
    settings = NotificationSettings()
    assert plan_delivery(overdue(), settings, RECIPIENT) == plan_delivery(
        overdue(), settings, RECIPIENT
    )


def test_without_a_billing_contact_only_the_ticket_goes_and_it_says_why():
    plan = plan_delivery(overdue(), NotificationSettings(), None)
    assert plan.email is None
    assert plan.skipped == (
        "e-mail: no billing contact with an e-mail address in the PSA or the ERP",
    )
    assert (
        plan.ticket is not None
        and "Not e-mailed: e-mail: no billing contact" in plan.ticket.details
    )


def test_switched_off_channels_are_not_planned():
    settings = NotificationSettings(
        per_type={"overdue_1": NotificationSetting(email=False, ticket=False)}
    )
    plan = plan_delivery(overdue(), settings, RECIPIENT)
    assert (plan.email, plan.ticket) == (None, None)
    assert plan.skipped == (
        "e-mail: switched off for overdue_1",
        "ticket: switched off for overdue_1",
    )
