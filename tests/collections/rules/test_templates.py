from datetime import date
from decimal import Decimal as D

import pytest

from hub.collections.rules import (
    Notification,
    NotificationType,
    PaymentMethodKind,
    choose_language,
    format_date,
    format_money,
    invoice_footer_note,
    render,
)
from hub.collections.rules.templates import languages

INVOICE = {"invoice_number": "1033", "amount": D("1234.5"), "currency": "EUR"}
CARD = {"card_brand": "Visa", "card_last4": "1111"}
EXAMPLES = {
    NotificationType.PAYMENT_SUCCEEDED: {**INVOICE, **CARD},
    NotificationType.PAYMENT_FAILED: INVOICE,
    NotificationType.RETRY_SCHEDULED: {**INVOICE, "retry_on": date(2012, 8, 16)},
    NotificationType.NEW_CARD_NEEDED: {**INVOICE, **CARD},
    NotificationType.CARD_EXPIRING: {**CARD, "card_expiry": "09/12"},
    NotificationType.PAYMENT_METHOD_ADDED: {**CARD, "payment_method": "card"},
    NotificationType.PAYMENT_METHOD_REMOVED: {"payment_method": "direct_debit"},
    NotificationType.CARD_FORM: {"card_form_url": "https://pay.example/card/abc", "contact_id": 7},
    NotificationType.MANDATE_FORM: {"card_form_url": "https://pay.example/ach/abc", "contact_id": 7},
    NotificationType.PAYMENT_RETURNED: {**INVOICE, "return_code": "R01", "return_reason": "Insufficient Funds",
                                        "retry_on": date(2012, 8, 16)},
    **{
        NotificationType.overdue(n): {**INVOICE, "due_date": date(2012, 8, 10), "days_overdue": d}
        for n, d in ((1, 15), (2, 45), (3, 60))
    },
    NotificationType.PORTAL_CODE: {"portal_code": "042917", "contact_id": 7},
    NotificationType.RENEWAL_NOTICE: {
        "plan_name": "Endpoint care",
        "renewal_date": date(2013, 1, 31),
        "amount": D("59.97"),
        "currency": "USD",
    },
    NotificationType.REFUND_ISSUED: {**INVOICE, **CARD, "reason": "Goodwill"},
    NotificationType.CHARGEBACK_RECEIVED: {**INVOICE, "reason": "Fraud"},
    NotificationType.INVOICE: {**INVOICE, "due_date": date(2012, 8, 10),
                               "pay_link": "https://msp.example/portal/abc"},
    NotificationType.STATEMENT: {"statement_date": date(2012, 8, 31), "amount": D("25"), "currency": "USD"},
}


def note(kind: NotificationType, **extra) -> Notification:
    return Notification(
        type=kind, key=f"{kind.value}:1", customer_name="Contoso", **{**EXAMPLES[kind], **extra}
    )


def test_template_sets_exist_for_english_and_german():
    assert languages() == ("en", "de")


@pytest.mark.parametrize(
    ("contact_language", "chosen"),
    [
        ("de", "de"),
        ("de-DE", "de"),
        ("DE_ch", "de"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_is_the_contacts_falling_back_to_english(contact_language, chosen):
    assert choose_language(contact_language) == chosen


@pytest.mark.parametrize("kind", list(NotificationType))
@pytest.mark.parametrize("language", ["en", "de"])
def test_every_type_renders_in_every_language_with_its_amounts_and_no_gaps(kind, language):
    message = render(note(kind), language)
    assert message.language == language
    assert message.subject and "\n" not in message.subject
    assert "None" not in message.subject + message.body
    assert "Contoso" in message.body  # greets the customer when no contact name is known
    if "amount" in EXAMPLES[kind]:
        assert (
            format_money(EXAMPLES[kind]["amount"], EXAMPLES[kind]["currency"], language)
            in message.body
        )


@pytest.mark.parametrize(
    ("language", "level", "subject_starts", "body_says"),
    [
        ("en", 1, "Friendly reminder: invoice 1033 is overdue", "friendly reminder"),
        ("en", 2, "Second notice: invoice 1033 is 45 days overdue", "Please pay it now"),
        ("en", 3, "Final notice: invoice 1033 is 60 days overdue", "Pay immediately"),
        (
            "de",
            1,
            "Freundliche Zahlungserinnerung: Rechnung 1033 ist überfällig",
            "freundlich daran erinnern",
        ),
        ("de", 2, "Zweite Mahnung: Rechnung 1033 ist seit 45 Tagen überfällig", "umgehend"),
        (
            "de",
            3,
            "Letzte Mahnung: Rechnung 1033 ist seit 60 Tagen überfällig",
            "Zahlen Sie sofort",
        ),
    ],
)
def test_overdue_emails_get_stiffer_with_each_level_in_each_language(
    language, level, subject_starts, body_says
):
    message = render(note(NotificationType.overdue(level)), language)
    assert message.subject == subject_starts
    assert body_says in message.body
    assert message.template == ("overdue_reminder", "overdue_firm", "overdue_final")[level - 1]


def test_the_template_follows_the_levels_configured_severity():
    milder = render(note(NotificationType.OVERDUE_3, severity="reminder"), "en")
    assert milder.subject.startswith("Friendly reminder")


def test_the_final_notice_names_the_penalty_when_one_was_raised():
    with_penalty = render(note(NotificationType.OVERDUE_3, penalty_amount=D("61.73")), "de")
    assert "Verzugsgebühr von 61,73 €" in with_penalty.body
    assert "penalty" not in render(note(NotificationType.OVERDUE_3), "en").body


def test_amounts_and_dates_are_written_the_contacts_way():
    en = render(note(NotificationType.RETRY_SCHEDULED), "en")
    de = render(note(NotificationType.RETRY_SCHEDULED), "de")
    assert "€1,234.50" in en.body and "August 16, 2012" in en.subject
    assert "1.234,50 €" in de.body and "16. August 2012" in de.subject


def test_greeting_uses_the_contacts_name_and_the_signature_the_senders():
    message = render(
        note(NotificationType.PAYMENT_FAILED),
        "en",
        recipient_name="Anna Weber",
        sender_name="Acme MSP Accounts",
    )
    assert message.body.startswith("Dear Anna Weber,")
    assert message.body.rstrip().endswith("Acme MSP Accounts")


@pytest.mark.parametrize(
    ("amount", "currency", "language", "text"),
    [
        (D("100"), "USD", "en", "$100.00"),
        (D("1234567.891"), "USD", "en", "$1,234,567.89"),
        (D("-25"), "USD", "en", "-$25.00"),
        (D("1234.5"), "EUR", "de", "1.234,50 €"),
        (D("1999.5"), "JPY", "en", "¥2,000"),
        (D("12.3456"), "KWD", "de", "12,346 KWD"),
        (D("10"), "SEK", "en", "SEK 10.00"),
        (D("10"), "GBP", "fr", "£10.00"),  # no French formats: English ones
    ],
)
def test_format_money_rounds_to_the_minor_unit_and_writes_the_currency(
    amount, currency, language, text
):
    assert format_money(amount, currency, language) == text


def test_format_date_per_language():
    assert [format_date(date(2012, 3, 5), lang) for lang in ("en", "de")] == [
        "March 5, 2012",
        "5. März 2012",
    ]


@pytest.mark.parametrize(
    ("method", "language", "text"),
    [
        (
            "card",
            "en",
            "Issued for information only, the amount shown will be collected by credit card",
        ),
        (
            PaymentMethodKind.DIRECT_DEBIT,
            "en",
            "Issued for information only, the amount shown will be collected by direct debit",
        ),
        (
            "card",
            "de-AT",
            "Nur zur Information ausgestellt, der ausgewiesene Betrag wird per Kreditkarte "
            "eingezogen",
        ),
        ("none", "en", None),
    ],
)
def test_autopay_invoice_footer_note_of_seed_000(method, language, text):
    assert invoice_footer_note(method, language) == text


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_returned_debit_says_when_it_is_debited_again_or_that_it_will_not_be(language):
    again = render(note(NotificationType.PAYMENT_RETURNED), language).body
    stopped = render(note(NotificationType.PAYMENT_RETURNED, return_code="R02", retry_on=None), language).body
    assert "R01" in again and ("16" in again) and "R02" in stopped
    assert ("debit your account again" in again) if language == "en" else ("erneut ein" in again)
    assert ("will not debit this account again" in stopped) if language == "en" else ("nicht mehr ein" in stopped)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_invoice_email_carries_the_pay_link_only_when_there_is_one(language):
    with_link = render(note(NotificationType.INVOICE), language)
    without = render(note(NotificationType.INVOICE, pay_link=None), language)
    assert "https://msp.example/portal/abc" in with_link.body
    assert "http" not in without.body and "online" not in without.body


@pytest.mark.parametrize("kind", [NotificationType.overdue(1), NotificationType.overdue(2), NotificationType.overdue(3),
                                  NotificationType.PAYMENT_FAILED, NotificationType.CARD_EXPIRING,
                                  NotificationType.NEW_CARD_NEEDED, NotificationType.STATEMENT])
@pytest.mark.parametrize("language", ["en", "de"])
def test_overdue_notices_card_warnings_and_statements_carry_the_pay_link_when_given(kind, language):
    with_link = render(note(kind, pay_link="https://msp.example/portal/xyz"), language)
    without = render(note(kind), language)
    assert "https://msp.example/portal/xyz" in with_link.body
    assert with_link.body.replace("https://msp.example/portal/xyz", "") != without.body
    assert "portal" not in without.body and "\n\n\n" not in with_link.body + without.body
