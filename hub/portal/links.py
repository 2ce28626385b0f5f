"""Signed, expiring, revocable links to one customer's portal pages.

A link is ``<public url>/portal/<token>``; the token names the environment, the customer (a
hub organisation), the customer's link version and the expiry, signed with HMAC-SHA256 under
a key derived from the hub's secret key. Nothing but the token is needed to open the pages, so
a token is a bearer secret: it is never logged or audited (its expiry and version are).

Revoking a customer's links raises its link version: every link signed with an older version
stops working at once. Rotating the hub's key (``cashrail keys rotate``) also ends every link
signed with the old key once the rotation completes (during it both keys verify).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from hub.platform import audit
from hub.platform.db import get_engine, session
from hub.platform.errors import CashrailError, InputError
from hub.platform.keys import ensure_key_for_new_secrets
from hub.platform.models import Organisation, PortalAccess, stored_id
from hub.platform.security import SecretKeyError, check_key, load_key, next_key_path
from hub.platform.settings import ENVIRONMENTS, Settings, get_settings
from hub.platform.types import utcnow
from hub.portal.settings import MAX_LINK_DAYS
from hub.portal.settings import get_settings as portal_settings

PREFIX = "/portal/"
_VERSION = "p1"
_PURPOSE = b"cashrail customer portal links v1"


class LinkError(CashrailError):
    """A link that opens nothing: altered, expired or revoked. The message is for the customer
    and says nothing of any customer."""

    status = 403

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class LinkInputError(InputError):
    """A request for a link that cannot be made (no such customer, bad number of days)."""


@dataclass(frozen=True)
class PortalLink:
    """What a verified token grants: one customer's pages in one environment until ``expires_at``."""

    environment: str
    organisation_id: int
    version: int
    expires_at: datetime


@dataclass(frozen=True)
class IssuedLink:
    url: str
    token: str
    organisation_id: int
    expires_at: datetime


def _signing_keys(settings: Settings) -> list[bytes]:
    """The keys links are signed with (the first) and verified with (any): during a key rotation
    the next key signs and both verify."""
    keys = [load_key(settings)]
    pending = next_key_path(settings)
    if pending.exists():
        keys.insert(0, check_key(pending.read_bytes().strip(), str(pending)))
    return [hmac.new(k, _PURPOSE, hashlib.sha256).digest() for k in dict.fromkeys(keys)]


def keyed_digest(text: str, settings: Settings | None = None) -> str:
    """HMAC of ``text`` under the portal's current key (one-time codes are kept only so)."""
    return _signature(_signing_keys(settings or get_settings())[-1], text)


def verified_mark(token: str, expires_at: datetime, settings: Settings | None = None) -> str:
    """The cookie value saying the visitor of ``token`` entered a one-time code, until ``expires_at``."""
    stamp = int(expires_at.timestamp())
    return f"{stamp}.{keyed_digest(f'verified|{token}|{stamp}', settings)}"


def is_verified(token: str, mark: str | None, now: datetime | None = None, settings: Settings | None = None) -> bool:
    stamp, _, signature = (mark or "").partition(".")
    if not stamp.isdigit() or int(stamp) <= (now or utcnow()).timestamp():
        return False
    return any(hmac.compare_digest(_signature(k, f"verified|{token}|{stamp}"), signature)
               for k in _signing_keys(settings or get_settings()))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def sign(link: PortalLink, settings: Settings | None = None) -> str:
    """The token of ``link`` (signed with the current key)."""
    stamp = int(link.expires_at.timestamp())
    body = _b64(f"{_VERSION}|{link.environment}|{link.organisation_id}|{link.version}|{stamp}".encode())
    return f"{body}.{_signature(_signing_keys(settings or get_settings())[0], body)}"


_ALTERED = "This link is not valid: it may have been copied incompletely or changed. Ask us for a new link."


def verify(token: str, now: datetime | None = None, settings: Settings | None = None) -> PortalLink:
    """The link ``token`` stands for, if its signature holds and it has not expired (the link
    version is checked by :func:`open_link`).

    Raises:
        LinkError: altered (``reason="tampered"``) or expired (``reason="expired"``).
    """
    body, dot, signature = (token or "").partition(".")
    try:
        keys = _signing_keys(settings or get_settings())
    except SecretKeyError:
        raise LinkError(_ALTERED, reason="tampered") from None
    if not dot or len(token) > 300 or not any(hmac.compare_digest(_signature(k, body), signature) for k in keys):
        raise LinkError(_ALTERED, reason="tampered")
    try:
        version, environment, org, link_version, stamp = _unb64(body).decode().split("|")
        link = PortalLink(environment, int(org), int(link_version), datetime.fromtimestamp(int(stamp), UTC))
    except (ValueError, UnicodeDecodeError):
        raise LinkError(_ALTERED, reason="tampered") from None
    if version != _VERSION or environment not in ENVIRONMENTS:
        raise LinkError(_ALTERED, reason="tampered")
    if (now or utcnow()) >= link.expires_at:
        raise LinkError("This link has expired. Ask us for a new one, or use the link in our latest e-mail.",
                        reason="expired")
    return link


def form_token(token: str, settings: Settings | None = None) -> str:
    """The CSRF token of the portal's forms opened with ``token``: only a page served for this
    link carries it, so another site cannot post a form in the customer's name."""
    return _signature(_signing_keys(settings or get_settings())[-1], f"form|{token}")


def form_token_ok(token: str, submitted: str, settings: Settings | None = None) -> bool:
    return any(hmac.compare_digest(_signature(k, f"form|{token}"), submitted or "")
               for k in _signing_keys(settings or get_settings()))


def _access(s: Session, organisation_id: int) -> PortalAccess | None:
    return s.exec(select(PortalAccess).where(col(PortalAccess.organisation_id) == organisation_id)).one_or_none()


def link_version(s: Session, organisation_id: int) -> int:
    access = _access(s, organisation_id)
    return access.link_version if access is not None else 0


def open_link(token: str, now: datetime | None = None, settings: Settings | None = None) -> PortalLink:
    """Verify ``token`` and that its customer exists and has not revoked it.

    Raises:
        LinkError: altered, expired or revoked (``reason="revoked"``).
    """
    link = verify(token, now, settings)
    with session(link.environment, get_engine(settings) if settings else None) as s:
        org = s.get(Organisation, link.organisation_id)
        if org is None or org.is_deleted or org.environment != link.environment:
            raise LinkError(_ALTERED, reason="tampered")
        if link.version != link_version(s, link.organisation_id):
            raise LinkError("This link was withdrawn. Ask us for a new one, or use the link in our latest e-mail.",
                            reason="revoked")
    return link


def _organisation(s: Session, customer: Organisation | int) -> Organisation:
    org_id = customer if isinstance(customer, int) else stored_id(customer)
    org = s.get(Organisation, org_id)
    if org is None or org.is_deleted or org.environment != s.info["environment"]:
        raise LinkInputError(f"customer: no customer {org_id} in {s.info['environment']}")
    return org


def issue(s: Session, customer: Organisation | int, *, days: int | None = None, actor: str | None = None,
          now: datetime | None = None, settings: Settings | None = None) -> IssuedLink:
    """A new link to the customer's pages, valid ``days`` (default: the portal setting); audited
    (the customer and the expiry, never the token)."""
    org = _organisation(s, customer)
    configured = portal_settings(s)
    if days is not None and not 1 <= days <= MAX_LINK_DAYS:
        raise LinkInputError(f"days: a link lasts 1 to {MAX_LINK_DAYS} days, not {days}")
    settings = settings or get_settings()
    ensure_key_for_new_secrets(s, settings)  # a new install gets its key now, as with its first secret
    expires = (now or utcnow()) + timedelta(days=days or configured.link_days)
    link = PortalLink(s.info["environment"], stored_id(org), link_version(s, stored_id(org)),
                      expires.replace(microsecond=0))
    token = sign(link, settings)
    if actor is not None:
        audit.record(s, "portal.link", "organisation", org.id, actor=actor, expires_at=link.expires_at,
                     version=link.version)
    return IssuedLink(f"{configured.public_url}{PREFIX}{token}", token, stored_id(org), link.expires_at)


def pay_link(customer: Organisation | int, *, s: Session | None = None, days: int | None = None,
             environment: str | None = None) -> str:
    """The pay link to put in an e-mail to ``customer`` (an organisation, or its id with ``s``
    or ``environment``): its portal, where the open invoices can be paid."""
    if s is not None:
        return issue(s, customer, days=days).url
    env = environment or (customer.environment if isinstance(customer, Organisation) else None)
    if env is None:
        raise LinkInputError("environment: say which environment the customer is in")
    with session(env) as own:
        return issue(own, customer, days=days).url


def revoke(s: Session, customer: Organisation | int, *, actor: str | None = None) -> int:
    """Withdraw every link handed out to the customer so far; the new link version (audited)."""
    org = _organisation(s, customer)
    access = _access(s, stored_id(org)) or PortalAccess(environment=s.info["environment"],
                                                        organisation_id=stored_id(org))
    before = access.link_version
    access.link_version = before + 1
    access.revoked_at = access.updated_at = utcnow()
    access.revoked_by = actor
    s.add(access)
    s.flush()
    audit.record(s, "portal.revoke", "organisation", org.id, actor=actor, before={"version": before},
                 after={"version": access.link_version})
    return access.link_version
