"""Entra ID client-credentials tokens for Business Central, through msal.

msal does the Microsoft part (OpenID discovery, the token request, its own token cache);
this module turns msal's error dicts and exceptions into plain ``AuthenticationError``s
and plugs the token into httpx.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from connectors.auth import BearerTokenAuth
from connectors.http import AuthenticationError

if TYPE_CHECKING:
    import requests

#: msal apps by (authority, client id, secret digest, CA bundle, timeout); see BcAuth._msal_app
_APPS: dict[tuple[Any, ...], ClientApp] = {}
_APPS_LOCK = threading.Lock()

#: renew this long before the token's expiry, so no request races it
REFRESH_MARGIN = 120.0
#: assumed lifetime when the answer has no ``expires_in``
DEFAULT_LIFETIME = 3000.0

TokenResult = Mapping[str, Any]
TokenProvider = Callable[[], TokenResult]

_AADSTS = re.compile(r"AADSTS(\d+)")


class ClientApp(Protocol):
    """The part of ``msal.ConfidentialClientApplication`` BcAuth uses (tests inject fakes)."""

    def acquire_token_for_client(self, scopes: list[str]) -> TokenResult: ...

    def remove_tokens_for_client(self) -> None: ...


def is_public_cloud(authority_url: str) -> bool:
    """True for Microsoft's own login hosts, where msal's instance discovery applies."""
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

    return (urlsplit(authority_url).hostname or "").lower() in WELL_KNOWN_AUTHORITY_HOSTS


class BcAuth(BearerTokenAuth):
    """``httpx.Auth`` for Business Central: an Entra ID app token, renewed before expiry and once on a 401.

    Args:
        tenant_id: Entra tenant (GUID or domain).
        client_id: The app registration's client id.
        client_secret: Its secret; never logged, never in a message.
        authority_url: Login host, e.g. ``https://login.microsoftonline.com``.
        scope: Token scope, e.g. ``https://api.businesscentral.dynamics.com/.default``.
        ca_bundle: PEM file msal verifies the login host with (private CAs, proxies).
        timeout: Seconds for msal's HTTP calls.
        app: A ready msal-like app; by default one is built lazily on first use, since
            msal's constructor already fetches the OpenID configuration.
        token_provider: Replaces msal altogether: returns msal's result dict (tests).
        clock: Monotonic seconds, for expiry.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr,
        authority_url: str = "https://login.microsoftonline.com",
        scope: str = "https://api.businesscentral.dynamics.com/.default",
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        app: ClientApp | None = None,
        token_provider: TokenProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority = f"{authority_url.rstrip('/')}/{tenant_id}"
        self.scope = scope
        self._secret = client_secret
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._app = app
        self._provider = token_provider
        self._clock = clock
        self._expires_at = 0.0
        self._session: requests.Session | None = None  # the session msal uses, once built

    def __repr__(self) -> str:
        return f"BcAuth(authority={self.authority!r}, client_id={self.client_id!r}, scope={self.scope!r})"

    def close(self) -> None:
        """Release msal's HTTP session (its pooled connection to the login host)."""
        if self._session is not None:
            self._session.close()  # still usable afterwards: requests reopens its pools

    @property
    def host(self) -> str:
        return urlsplit(self.authority).hostname or self.authority

    def _due(self) -> bool:
        return self._clock() + REFRESH_MARGIN >= self._expires_at

    def _renew(self, force: bool) -> None:
        self._store(self._acquire(force))

    # --- msal ------------------------------------------------------------------------

    def _acquire(self, force: bool) -> TokenResult:
        if self._provider is not None:
            return self._provider()
        try:
            app = self._msal_app()
            if force:
                app.remove_tokens_for_client()
            return app.acquire_token_for_client(scopes=[self.scope])
        except AuthenticationError:
            raise
        except Exception as exc:
            raise self._failure_for(exc) from None

    def _msal_app(self) -> ClientApp:
        """msal's app for this principal, shared by every BcAuth of the process: one OpenID
        discovery and one token serve all of a sync's streams (msal caches the token)."""
        if self._app is None:
            secret = self._secret.get_secret_value()
            key = (self.authority, self.client_id, hashlib.sha256(secret.encode()).hexdigest(),
                   self._ca_bundle, self._timeout)
            with _APPS_LOCK:
                if key not in _APPS:
                    import msal

                    _APPS[key] = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=secret,
                        authority=self.authority,
                        http_client=self._http_client(),
                        timeout=self._timeout,
                        # Only Microsoft's hosts answer instance discovery; a private or sandbox
                        # authority is taken as-is (its OpenID configuration is still fetched).
                        instance_discovery=None if is_public_cloud(self.authority) else False,
                    )
                self._app = _APPS[key]
        return self._app

    def _http_client(self) -> requests.Session:
        self._session = _http_session(self._ca_bundle)
        return self._session

    def _store(self, result: TokenResult) -> None:
        if not isinstance(result, Mapping):
            raise AuthenticationError(f"{self.host} answered the token request with nothing usable")
        access = result.get("access_token")
        if not access:
            raise self._refusal(result)
        try:
            lifetime = float(result.get("expires_in") or DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        self._access = SecretStr(str(access))
        self._expires_at = self._clock() + lifetime

    def _refusal(self, result: TokenResult) -> AuthenticationError:
        """Plain words for msal's ``{"error", "error_description"}``."""
        error = str(result.get("error") or "no_token")
        description = self._scrub(str(result.get("error_description") or ""))
        match = _AADSTS.search(description)
        code = match.group(1) if match else ""
        if code in {"7000215", "7000216"} or (error == "invalid_client" and not code):
            text = (
                f"Entra ID refused the client secret (AADSTS{code or '7000215'}): use the secret's "
                "value, not its secret ID, and check it belongs to this app registration"
            )
        elif code == "7000222":
            text = "the client secret has expired (AADSTS7000222): create a new one for the app registration"
        elif code == "700016":
            text = (
                f"application {self.client_id} was not found in tenant {self.tenant_id} (AADSTS700016): "
                "check the client ID, and that the app is consented in this tenant"
            )
        elif code in {"90002", "90023", "900023"} or "tenant" in error:
            text = f"tenant {self.tenant_id} not found at {self.host} (AADSTS{code or '90002'}): check the tenant ID"
        elif code == "500011":
            text = (
                f"the resource of scope {self.scope} was not found in tenant {self.tenant_id} "
                "(AADSTS500011): check the scope and that Business Central is provisioned"
            )
        else:
            first_line = description.splitlines()[0] if description else "no access token"
            text = f"Entra ID refused the sign-in ({error}: {first_line[:300]})"
        return AuthenticationError(text, code=error)

    def _failure_for(self, exc: Exception) -> AuthenticationError:
        name = type(exc).__name__
        text = self._scrub(str(exc))
        if "SSL" in name or "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return AuthenticationError(
                f"could not verify the TLS certificate of {self.host}; if a proxy or a private CA "
                "signs it, set ca_bundle to that CA's PEM file",
                code=name,
            )
        if isinstance(exc, ValueError) and ("authority" in text or "OIDC Discovery" in text):
            return AuthenticationError(
                f"tenant {self.tenant_id} not found at {self.host} (its OpenID configuration could "
                "not be read): check the tenant ID and the authority URL",
                code="tenant_not_found",
            )
        if "Timeout" in name or "Connection" in name:
            return AuthenticationError(
                f"could not reach {self.host}: check the authority URL and the network",
                code=name,
            )
        return AuthenticationError(f"signing in at {self.host} failed", code=name)

    def _scrub(self, text: str) -> str:
        secret = self._secret.get_secret_value()
        return text.replace(secret, "***") if secret else text


def _http_session(ca_bundle: str | None) -> requests.Session:
    """The requests session msal talks through.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's ``verify``, so an
    explicit CA bundle would be ignored on machines that set them: with one configured the
    environment is not trusted for certificates, while proxies from it are kept.
    """
    import urllib.request

    import requests

    session = requests.Session()
    if ca_bundle:
        session.trust_env = False
        session.verify = ca_bundle
        session.proxies.update(urllib.request.getproxies())
    return session
