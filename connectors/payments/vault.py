"""Vaulting what a contact entered on a hosted page (a card, or a bank account for a mandate)
under a new BlueSnap shopper: one request, one set of token errors for both kinds."""

from __future__ import annotations

from typing import Any

from connectors.http import ApiClient, ClientRequestError
from connectors.payments.models import TOKEN_GONE, TOKEN_NOT_COMPLETED, CardEntryExpired, CardEntryIncomplete


def vault_shopper(api: ApiClient, *, pf_token: str, first_name: str, last_name: str, email: str | None,
                  source: str, not_yet: str, gone: str) -> dict[str, Any]:
    """POST the shopper with ``paymentSources[source] = [{pfToken}]``; its JSON.

    Raises:
        ValueError: the token or a name is empty.
        CardEntryIncomplete: nothing was entered for the token yet (``not_yet`` says what).
        CardEntryExpired: the token expired or is unknown (``gone`` says what to do).
    """
    if not pf_token.strip():
        raise ValueError("pf_token is empty")
    if not first_name.strip() or not last_name.strip():
        raise ValueError("the shopper needs a first and a last name")
    body: dict[str, Any] = {"firstName": first_name.strip(), "lastName": last_name.strip(),
                            "paymentSources": {source: [{"pfToken": pf_token}]}}
    if email:
        body["email"] = email
    try:
        response = api.request("POST", "/vaulted-shoppers", json=body, retry_writes=False)
    except ClientRequestError as exc:
        kind = (CardEntryIncomplete, not_yet) if exc.code == TOKEN_NOT_COMPLETED else (
            (CardEntryExpired, gone) if exc.code in TOKEN_GONE else None)
        if kind is None:
            raise
        raise kind[0](kind[1], status_code=exc.status_code, code=exc.code, method=exc.method,
                      path=exc.path) from None
    return dict(response.json())
