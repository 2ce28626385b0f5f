"""HTTP Basic for BlueSnap's API user."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
from pydantic import SecretStr


class BasicAuth(httpx.Auth):
    """HTTP Basic whose password stays a SecretStr until the header is built."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._username = username
        self._password = password

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._username}:{self._password.get_secret_value()}".encode()
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        yield request
