"""Play the customer contact: fill the sandbox's card-entry page over HTTP (tests and the demo)."""

from __future__ import annotations

import httpx


class CardFormRejected(ValueError):
    """The card-entry page refused the card (its error messages are in ``str()``)."""


def fill_card_form(url: str, number: str, holder: str, expiry: str, cvv: str, *, timeout: float = 10.0) -> str:
    """Open the card-entry page at ``url`` and submit the card as a contact would.

    Returns the page's answer (the "Card saved" page). Raises :class:`CardFormRejected`
    when the page lists errors (a bad number, an expired card ...) or the link is gone.
    """
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        form = client.get(url)
        if form.status_code != 200 or "<form" not in form.text:
            raise CardFormRejected(f"the card-entry page at {url} answered {form.status_code}")
        answer = client.post(url, data={"cardNumber": number, "holderName": holder, "expiry": expiry, "cvv": cvv})
    if answer.status_code != 200:
        raise CardFormRejected(f"the card-entry page refused the card ({answer.status_code})")
    return answer.text


def fill_bank_form(url: str, routing: str, account: str, holder: str, account_type: str = "CORPORATE_CHECKING",
                   *, consent: bool = True, timeout: float = 10.0) -> str:
    """Open the mandate page at ``url`` and authorise the direct debit as a contact would.

    Returns the page's answer ("Direct debit set up"). Raises :class:`CardFormRejected` when the
    page lists errors (a bad routing number, no consent ...) or the link is gone.
    """
    data = {"holderName": holder, "routingNumber": routing, "accountNumber": account, "accountType": account_type}
    if consent:
        data["consent"] = "yes"
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        form = client.get(url)
        if form.status_code != 200 or "<form" not in form.text:
            raise CardFormRejected(f"the direct-debit page at {url} answered {form.status_code}")
        answer = client.post(url, data=data)
    if answer.status_code != 200:
        raise CardFormRejected(f"the direct-debit page refused the bank account ({answer.status_code})")
    return answer.text
