"""Bearer-token auth every connector shares: one cached token, renewed ahead of expiry and once on a 401."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Generator

import httpx
from pydantic import SecretStr


class BearerTokenAuth(httpx.Auth, ABC):
    """``httpx.Auth`` that sends a cached bearer token, renews it ahead of expiry behind a lock,
    and renews it once when a request comes back 401.

    A subclass says when the cached token is due (``_due``) and fetches a new one (``_renew``),
    storing it in ``_access`` with whatever expiry it tracks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._access: SecretStr | None = None

    def token(self, *, force: bool = False, stale: SecretStr | None = None) -> SecretStr:
        """A valid access token; ``force`` renews it (``stale`` is the one a 401 just refused)."""
        with self._lock:
            if force and stale is not None and self._access is not None and self._access != stale:
                return self._access  # another thread renewed it already
            if force or self._access is None or self._due():
                self._renew(force)
            assert self._access is not None
            return self._access

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        response = yield request
        if response.status_code == 401:
            token = self.token(force=True, stale=token)
            request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
            yield request

    @abstractmethod
    def _due(self) -> bool:
        """Whether the cached token is too close to its expiry to be sent."""

    @abstractmethod
    def _renew(self, force: bool) -> None:
        """Fetch a new token into ``_access``; ``force`` means a cached one must not be reused."""
