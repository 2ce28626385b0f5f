"""A real SMTP server (aiosmtpd) on loopback: plain, STARTTLS with login, or implicit TLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from connectors.sandbox.business_central.certs import TlsFiles, generate_tls

SMTP_USER, SMTP_PASSWORD = "cashrail", "s3cret-smtp-pass"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class LoopbackSmtp:
    """What the test server received; ``tls`` holds its CA when it speaks TLS."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    tls: TlsFiles | None = None


class _Handler:
    """Accepts mail, except for ``nobody@`` (550: permanent) and ``busy@`` (451: try later)."""

    def __init__(self, box: list[Received]) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy@"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.box.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


class _LoopbackController(Controller):
    """Binds port 0 (a free port, no race) and learns the port before aiosmtpd's self-check."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _server_context(tls: TlsFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.cert_path, tls.key_path)
    return ctx


def _serve(box: LoopbackSmtp, **kwargs: Any) -> Iterator[LoopbackSmtp]:
    controller = _LoopbackController(_Handler(box.received), hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[LoopbackSmtp]:
    """A plain SMTP relay on 127.0.0.1 without login."""
    yield from _serve(LoopbackSmtp("127.0.0.1", 0))


@pytest.fixture
def smtp_starttls_server(tmp_path: Path) -> Iterator[LoopbackSmtp]:
    """SMTP that requires STARTTLS (a local CA's certificate) and a login before mail."""
    tls = generate_tls(tmp_path / "smtp-tls")
    yield from _serve(
        LoopbackSmtp("127.0.0.1", 0, tls=tls),
        tls_context=_server_context(tls),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )


@pytest.fixture
def smtp_ssl_server(tmp_path: Path) -> Iterator[LoopbackSmtp]:
    """SMTP over implicit TLS (as on port 465) with a login."""
    tls = generate_tls(tmp_path / "smtp-tls")
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from the first byte
    yield from _serve(
        LoopbackSmtp("127.0.0.1", 0, tls=tls),
        ssl_context=_server_context(tls),
        auth_required=True,
        auth_require_tls=False,
        authenticator=_authenticator,
    )
