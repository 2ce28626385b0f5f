"""Payment methods (seed 000): card capture through the sandbox's real card page, mandates,
removal, and who pays an invoice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.sandbox.bluesnap import fill_card_form
from hub.collections import payments
from hub.collections.payments import PaymentMethodError
from hub.platform.db import session
from hub.platform.models import AuditEntry, CardRequest, Invoice, NotificationMessage, OrganisationLink
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, world  # noqa: F401


def _notifications(kind: str) -> list[NotificationMessage]:
    with session(ENV) as s:
        return list(s.execute(select(NotificationMessage).where(NotificationMessage.type == kind)).scalars())


def test_card_entered_by_the_contact_becomes_the_payment_method_with_type_holder_last4_and_expiry(
    world: World,
) -> None:
    org, contact = customer(world, "1", "Tyrell")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com")
    assert request.status == "sent" and request.email == "ada@1.example"
    assert request.url and request.url.startswith(world.gateway.url)

    with pytest.raises(PaymentMethodError, match="has not entered a card"):
        payments.complete_card_request(ENV, request.id)  # type: ignore[arg-type]
    fill_card_form(request.url, "4111 1111 1111 1111", "Ada Lovelace", "12/30", "123")
    method = payments.complete_card_request(ENV, request.id, actor="admin@example.com")  # type: ignore[arg-type]

    assert (method.kind, method.card_brand, method.card_last4, method.holder_name) == (
        "card", "VISA", "1111", "Ada Lovelace")
    assert (method.card_exp_month, method.card_exp_year, method.status) == (12, 2030, "active")
    assert payments.describe(method) == "VISA ending 1111 (12/2030)"
    with session(ENV) as s:
        done = s.execute(select(CardRequest).where(CardRequest.id == request.id)).scalar_one()
        assert done.status == "completed" and done.payment_method_id == method.id
        actions = [a.action for a in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    assert actions[-2:] == ["payment_method.card_form_sent", "payment_method.set"]
    [added] = _notifications("payment_method_added")
    assert added.fields["card_last4"] == "1111" and added.organisation_id == org
    # completing again (a double click) changes nothing
    assert payments.complete_card_request(ENV, request.id).id == method.id  # type: ignore[arg-type]


def test_a_new_card_replaces_the_old_one_which_is_kept_as_removed(world: World) -> None:
    org, contact = customer(world, "1", "Tyrell")
    first = capture_card(org, contact, "4111111111111111")
    second = capture_card(org, contact, "5555555555554444")
    with session(ENV) as s:
        methods = payments.list_methods(s, org, include_removed=True)
        assert [(m.id, m.status) for m in methods] == [(first.id, "removed"), (second.id, "active")]
        assert payments.active_method(s, org).card_brand == "MASTERCARD"  # type: ignore[union-attr]


def test_direct_debit_needs_a_reference_and_four_digits_and_bad_input_writes_nothing(world: World) -> None:
    org, _ = customer(world, "1", "Tyrell")
    with pytest.raises(PaymentMethodError, match="account_last4"):
        with session(ENV) as s:
            payments.set_method(s, org, "direct_debit", mandate_reference="MANDATE-1", account_last4="12a4")
    with pytest.raises(PaymentMethodError, match="mandate_reference"):
        with session(ENV) as s:
            payments.set_method(s, org, "direct_debit", account_last4="1234")
    with pytest.raises(PaymentMethodError, match="kind"):
        with session(ENV) as s:
            payments.set_method(s, org, "card")
    with session(ENV) as s:
        assert payments.list_methods(s, include_removed=True) == []
        method = payments.set_method(s, org, "direct_debit", mandate_reference="MANDATE-1", account_last4="6789")
    assert payments.describe(method) == "direct debit MANDATE-1 (account ...6789)"

    with session(ENV) as s:
        none = payments.set_method(s, org, "none")
    assert none.kind == "none" and not none.autopay
    [removed] = _notifications("payment_method_removed")
    assert removed.fields["payment_method"] == "direct_debit"


def test_removing_the_card_tells_the_customer_and_a_second_removal_is_refused(world: World) -> None:
    org, contact = customer(world, "1", "Tyrell")
    card = capture_card(org, contact)
    with session(ENV) as s:
        payments.set_footer_note(s, org, True)
        removed = payments.remove_method(s, org)
    assert removed.id == card.id and removed.status == "removed" and removed.footer_note
    assert len(_notifications("payment_method_removed")) == 1
    with pytest.raises(PaymentMethodError, match="no payment method to remove"):
        with session(ENV) as s:
            payments.remove_method(s, org)


def test_the_form_goes_only_to_a_contact_of_the_organisation(world: World) -> None:
    org, _ = customer(world, "1", "Tyrell")
    _, stranger = customer(world, "2", "Initech")
    with pytest.raises(PaymentMethodError, match="contact: contact .* is not a contact of Tyrell"):
        payments.send_card_form(ENV, org, stranger)
    with session(ENV) as s:
        assert s.execute(select(CardRequest)).first() is None


def test_an_erp_invoice_is_paid_by_the_card_of_the_linked_psa_organisation(world: World) -> None:
    from tests.factories import bms_card

    erp_card = bms_card("erp", url=world.psa.url).id
    psa_org, contact = customer(world, "1", "Tyrell")
    erp_org, _ = customer(world, "C1", "Tyrell Ltd", connector_id=erp_card)
    card = capture_card(psa_org, contact)
    invoice_id = invoice(world, "C1", "1", connector_id=erp_card)
    with session(ENV) as s:
        inv = s.execute(select(Invoice).where(Invoice.id == invoice_id)).scalar_one()
        assert payments.payer(s, inv).method is None  # type: ignore[union-attr]  (not linked yet)
        s.add(OrganisationLink(environment=ENV, psa_organisation_id=psa_org, erp_organisation_id=erp_org,
                               method="manual"))
        s.flush()
        who = payments.payer(s, inv)
        assert who is not None and who.organisation.id == psa_org and who.method.id == card.id  # type: ignore[union-attr]


def test_go_e_mails_the_card_page_link_to_the_contact_chosen_not_the_billing_contact(world: World) -> None:
    from connectors.sandbox.mail import MailSandbox
    from hub.collections import notifications
    from hub.collections.mailer import SmtpSecurity, SmtpSettings

    org, contact = customer(world, "1", "Tyrell")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com")
    [note] = _notifications("card_form")
    assert note.fields["contact_id"] == contact and note.fields["card_form_url"] == request.url
    with MailSandbox() as box:
        smtp = SmtpSettings(host="127.0.0.1", port=box.smtp_port, security=SmtpSecurity.NONE,
                            from_address="accounts@msp.example")
        notifications.deliver(ENV, smtp=smtp)
        notifications.deliver(ENV, smtp=smtp)  # a second run sends nothing again
        [mail] = box.messages()
    assert mail.rcpt_tos == ("ada@1.example",)
    assert request.url in mail.summary()["body"]
