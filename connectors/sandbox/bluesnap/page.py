"""The hosted card-entry page a customer contact opens (seed 000): form, checks, answers."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from .cards import card_type, luhn_ok
from .state import Card

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d2733}
h1{font-size:1.3rem} label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
.row{display:flex;gap:1rem} .row>div{flex:1} .err{color:#b00020;font-size:.9rem;margin:.2rem 0}
.box{border:1px solid #b00020;background:#fdecee;padding:.6rem;margin:1rem 0}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem} .ok{border-color:#2e7d32;background:#edf7ed}
"""

FIELDS = ("cardNumber", "holderName", "expiry", "cvv")
LABELS = {"cardNumber": "Card number", "holderName": "Name on card", "expiry": "Expiry (MM/YY)",
          "cvv": "Security code (CVV)"}
_AUTOCOMPLETE = {"cardNumber": "cc-number", "holderName": "cc-name", "expiry": "cc-exp", "cvv": "cc-csc"}


def _document(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")


def form_page(action: str, values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    """The card form; ``errors`` (field -> message) are listed on top and under each field."""
    values, errors = values or {}, errors or {}
    summary = ""
    if errors:
        items = "".join(f"<li>{escape(LABELS[f])}: {escape(m)}</li>" for f, m in errors.items())
        summary = f"<div class=\"box\" role=\"alert\"><strong>Please correct the card details:</strong><ul>{items}</ul></div>"

    def field(name: str) -> str:
        kept = "" if name == "cvv" else values.get(name, "")  # a security code is never echoed back
        mode = " inputmode=\"numeric\"" if name in {"cardNumber", "cvv"} else ""
        error = f"<p class=\"err\" id=\"{name}-error\">{escape(errors[name])}</p>" if name in errors else ""
        return (f"<label for=\"{name}\">{escape(LABELS[name])}</label>"
                f"<input id=\"{name}\" name=\"{name}\" value=\"{escape(kept)}\" required "
                f"autocomplete=\"{_AUTOCOMPLETE[name]}\"{mode}>{error}")

    body = (f"<h1>Enter your card details</h1>"
            f"<p>Your card is stored by the payment gateway and charged for your invoices when they are due.</p>"
            f"{summary}<form method=\"post\" action=\"{escape(action)}\">"
            f"{field('cardNumber')}{field('holderName')}"
            f"<div class=\"row\"><div>{field('expiry')}</div><div>{field('cvv')}</div></div>"
            f"<button type=\"submit\">Save card</button></form>")
    return _document("Enter your card details", body)


def done_page(card: Card) -> str:
    return _document("Card saved", (
        f"<div class=\"box ok\" role=\"status\"><h1>Thank you</h1><p>Your {escape(card.card_type)} card ending "
        f"{escape(card.last4)} (expires {card.exp_month:02d}/{card.exp_year}) is saved. You can close this page.</p>"
        f"</div>"))


def message_page(title: str, text: str) -> str:
    return _document(title, f"<div class=\"box\" role=\"alert\"><h1>{escape(title)}</h1><p>{escape(text)}</p></div>")


def check_card(form: dict[str, str], today: datetime) -> tuple[Card | None, dict[str, str]]:
    """The card the form describes, or the errors naming each bad field."""
    errors: dict[str, str] = {}
    number = re.sub(r"[\s-]", "", form.get("cardNumber", ""))
    brand = None
    if not number:
        errors["cardNumber"] = "enter the card number"
    elif not number.isdigit() or not 12 <= len(number) <= 19:
        errors["cardNumber"] = "a card number has 12 to 19 digits"
    elif not luhn_ok(number):
        errors["cardNumber"] = "this card number is not valid (check digit mismatch); check for a typo"
    else:
        brand = card_type(number)
        if brand is None:
            errors["cardNumber"] = "this card type is not accepted (Visa, Mastercard, American Express, Discover)"
    name = " ".join(form.get("holderName", "").split())
    if not name:
        errors["holderName"] = "enter the name as printed on the card"
    month = year = 0
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", form.get("expiry", ""))
    if not match:
        errors["expiry"] = "enter the expiry as MM/YY"
    else:
        month, year = int(match.group(1)), int(match.group(2))
        year += 2000 if year < 100 else 0
        if not 1 <= month <= 12:
            errors["expiry"] = "the month must be 01 to 12"
        elif (year, month) < (today.year, today.month):
            errors["expiry"] = f"the card expired in {month:02d}/{year}"
    cvv = form.get("cvv", "").strip()
    digits = 4 if brand == "AMEX" else 3
    if not (cvv.isdigit() and len(cvv) == digits):
        errors["cvv"] = f"the security code has {digits} digits"
    if errors or brand is None:
        return None, errors
    first, _, last = name.rpartition(" ")
    return Card(number, brand, first or last, last if first else "", month, year), {}
