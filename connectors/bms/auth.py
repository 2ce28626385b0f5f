"""BMS bearer tokens: fetched with the API user's password, refreshed ahead of expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from connectors.auth import BearerTokenAuth
from connectors.http import ApiClient, ApiError, AuthenticationError, get_ci

#: refresh this long before AccessTokenExpireOn, so no request races the expiry
REFRESH_MARGIN = timedelta(seconds=60)
#: assumed lifetime when the server's expiry cannot be read
DEFAULT_LIFETIME = timedelta(minutes=15)


class BmsAuth(BearerTokenAuth):
    """``httpx.Auth`` for BMS v2: caches the token, refreshes it ahead of expiry and once on a 401."""

    def __init__(
        self,
        token_client: ApiClient,
        *,
        tenant: str,
        username: str,
        password: SecretStr,
        time_zone: ZoneInfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self._client = token_client
        self._tenant = tenant
        self._username = username
        self._password = password
        self._tz = time_zone
        self._clock = clock
        self._refresh: SecretStr | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)

    def __repr__(self) -> str:
        return f"BmsAuth(tenant={self._tenant!r}, username={self._username!r})"

    def _due(self) -> bool:
        return self._clock() + REFRESH_MARGIN >= self._expires_at

    def _renew(self, force: bool) -> None:
        if self._refresh is not None:
            try:
                self._store(
                    self._client.request(
                        "POST",
                        "/v2/security/refreshtoken",
                        data={"refreshToken": self._refresh.get_secret_value()},
                    )
                )
                return
            except AuthenticationError:
                self._refresh = None  # refresh token expired too: log in again
        self._store(
            self._client.request(
                "POST",
                "/v2/security/authenticate",
                data={
                    "grantType": "password",
                    "userName": self._username,
                    "password": self._password.get_secret_value(),
                    "tenant": self._tenant,
                },
            )
        )

    def _store(self, response: httpx.Response) -> None:
        body = response.json()
        if not get_ci(body, "Success", True):
            error = get_ci(body, "Error") or {}
            raise AuthenticationError(
                get_ci(error, "Message") or "authentication failed",
                status_code=401,
                code=get_ci(error, "Code"),
                method="POST",
                path="/v2/security/authenticate",
            )
        result = get_ci(body, "Result") or {}
        access = get_ci(result, "AccessToken")
        if not access:
            raise ApiError(
                "authentication answered without an access token",
                method="POST",
                path="/v2/security/authenticate",
            )
        refresh = get_ci(result, "RefreshToken")
        self._access = SecretStr(str(access))
        self._refresh = SecretStr(str(refresh)) if refresh else None
        self._expires_at = self._parse_expiry(get_ci(result, "AccessTokenExpireOn"))

    def _parse_expiry(self, raw: object) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=self._tz)
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):  # .NET's empty date 0001-01-01 overflows in some zones
            return self._clock() + DEFAULT_LIFETIME
