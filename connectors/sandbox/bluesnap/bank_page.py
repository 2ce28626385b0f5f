"""The hosted bank-account (ACH mandate) page a customer contact opens: form, consent, checks, answers.

Beside the card page (``page.py``): the contact types the account holder, the routing and account
numbers and the account type, and accepts the debit authorisation; the gateway keeps the numbers
and Cashrail only ever sees the vaulted shopper (masked numbers, last 4).
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from .banks import ACCOUNT_TYPES, routing_ok
from .page import _document
from .state import BankAccount

FIELDS = ("holderName", "routingNumber", "accountNumber", "accountType", "consent")
LABELS = {"holderName": "Account holder", "routingNumber": "Routing number (ABA, 9 digits)",
          "accountNumber": "Account number", "accountType": "Account type", "consent": "Authorisation"}
TYPE_LABELS = {"CONSUMER_CHECKING": "Personal checking", "CONSUMER_SAVINGS": "Personal savings",
               "CORPORATE_CHECKING": "Business checking", "CORPORATE_SAVINGS": "Business savings"}
#: the debit authorisation the contact accepts (NACHA asks for the payer's authorisation of recurring debits)
CONSENT_TEXT = ("I authorise the merchant, through its payment processor, to debit the bank account above by "
                "ACH for the invoices I am sent, on or after their due date, and, if a debit is returned, to "
                "debit it again. This authorisation stays in force until I revoke it by telling the merchant; "
                "I confirm I may authorise debits on this account.")


def form_page(action: str, values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    """The mandate form; ``errors`` (field -> message) are listed on top and under each field."""
    values, errors = values or {}, errors or {}
    summary = ""
    if errors:
        items = "".join(f"<li>{escape(LABELS[f])}: {escape(m)}</li>" for f, m in errors.items())
        summary = (f"<div class=\"box\" role=\"alert\"><strong>Please correct the bank details:</strong>"
                   f"<ul>{items}</ul></div>")

    def error(name: str) -> str:
        return f"<p class=\"err\" id=\"{name}-error\">{escape(errors[name])}</p>" if name in errors else ""

    def text(name: str, numeric: bool = False) -> str:
        kept = "" if name == "accountNumber" else values.get(name, "")  # an account number is never echoed back
        mode = " inputmode=\"numeric\" autocomplete=\"off\"" if numeric else " autocomplete=\"name\""
        return (f"<label for=\"{name}\">{escape(LABELS[name])}</label>"
                f"<input id=\"{name}\" name=\"{name}\" value=\"{escape(kept)}\" required{mode}>{error(name)}")

    chosen = values.get("accountType", "")
    options = "".join(f"<option value=\"{t}\"{' selected' if t == chosen else ''}>{escape(TYPE_LABELS[t])}</option>"
                      for t in ACCOUNT_TYPES)
    checked = " checked" if values.get("consent") else ""
    body = (f"<h1>Set up a direct debit</h1>"
            f"<p>Your bank details are kept by the payment gateway and debited for your invoices when they are "
            f"due.</p>{summary}<form method=\"post\" action=\"{escape(action)}\">"
            f"{text('holderName')}{text('routingNumber', True)}{text('accountNumber', True)}"
            f"<label for=\"accountType\">{escape(LABELS['accountType'])}</label>"
            f"<select id=\"accountType\" name=\"accountType\" required><option value=\"\">Choose…</option>"
            f"{options}</select>{error('accountType')}"
            f"<p id=\"consent-text\">{escape(CONSENT_TEXT)}</p>"
            f"<label><input type=\"checkbox\" id=\"consent\" name=\"consent\" value=\"yes\" style=\"width:auto\""
            f"{checked}> I agree to this direct debit authorisation</label>{error('consent')}"
            f"<button type=\"submit\">Authorise direct debit</button></form>")
    return _document("Set up a direct debit", body)


def done_page(bank: BankAccount) -> str:
    kind = TYPE_LABELS.get(bank.account_type, bank.account_type).lower()
    return _document("Direct debit set up", (
        f"<div class=\"box ok\" role=\"status\"><h1>Thank you</h1><p>Your {escape(kind)} account ending "
        f"{escape(bank.last4)} will be debited for your invoices when they are due. You can close this page.</p>"
        f"</div>"))


def check_bank(form: dict[str, str], now: datetime) -> tuple[BankAccount | None, dict[str, str]]:
    """The account the form describes, or the errors naming each bad field."""
    errors: dict[str, str] = {}
    name = " ".join(form.get("holderName", "").split())
    if not name:
        errors["holderName"] = "enter the name of the account holder"
    routing = re.sub(r"[\s-]", "", form.get("routingNumber", ""))
    if not routing:
        errors["routingNumber"] = "enter the routing number"
    elif not routing.isdigit() or len(routing) != 9:
        errors["routingNumber"] = "a routing number has 9 digits"
    elif not routing_ok(routing):
        errors["routingNumber"] = "this routing number is not valid (checksum mismatch); check for a typo"
    account = re.sub(r"[\s-]", "", form.get("accountNumber", ""))
    if not account:
        errors["accountNumber"] = "enter the account number"
    elif not account.isdigit() or not 4 <= len(account) <= 17:
        errors["accountNumber"] = "an account number has 4 to 17 digits"
    kind = form.get("accountType", "")
    if kind not in ACCOUNT_TYPES:
        errors["accountType"] = "choose the account type"
    if not form.get("consent"):
        errors["consent"] = "tick the box to authorise the direct debit"
    if errors:
        return None, errors
    first, _, last = name.rpartition(" ")
    return BankAccount(routing, account, kind, first or last, last if first else "", now), {}
