"""ConnectWise API member auth: Basic ``companyId+publicKey:privateKey`` on every request.

There is no token to fetch or refresh; the ``clientId`` header goes with the client's headers.
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
from pydantic import SecretStr


class ConnectWiseAuth(httpx.Auth):
    """``httpx.Auth`` sending the API member's keys; its repr shows no secret."""

    def __init__(self, company_id: str, public_key: str, private_key: SecretStr) -> None:
        self._company_id = company_id
        self._public_key = public_key
        self._private_key = private_key

    def __repr__(self) -> str:
        return f"ConnectWiseAuth(company_id={self._company_id!r}, public_key={self._public_key!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._company_id}+{self._public_key}:{self._private_key.get_secret_value()}"
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair.encode()).decode()}"
        yield request
