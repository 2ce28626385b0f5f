"""SMTP (aiosmtpd) + HTTP admin (FastAPI on the shared LoopbackServer) in one object."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import asdict, dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI, HTTPException

from connectors.sandbox.net import LoopbackServer


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    def attachments(self) -> list[tuple[str, str, bytes]]:
        """(file name, content type, bytes) of each attached file."""
        found = []
        for part in self.message.iter_attachments():
            data = part.get_payload(decode=True)
            found.append((part.get_filename() or "", part.get_content_type(), data if isinstance(data, bytes) else b""))
        return found

    def summary(self) -> dict[str, Any]:
        body = self.message.get_body(preferencelist=("plain",))
        return {
            "message_id": self.message["Message-ID"],
            "from": self.mail_from,
            "to": list(self.rcpt_tos),
            "subject": self.message["Subject"],
            "language": self.message["Content-Language"],
            "body": body.get_content() if body is not None else "",
            "attachments": [{"filename": name, "content_type": kind, "size": len(data)}
                            for name, kind, data in self.attachments()],
        }


@dataclass
class MailFaults:
    """What a real mail server or the network between does now and then, on demand: the server
    has queued the message when the connection is lost (``drop_after_accept``: the next N
    messages), or it queues the message and is slow to confirm it (``hold_reply_ms``)."""

    drop_after_accept: int = 0
    hold_reply_ms: int = 0


class _Handler:
    def __init__(self, box: list[ReceivedMail], lock: threading.Lock) -> None:
        self.box, self.lock = box, lock
        self.faults = MailFaults()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy@"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.box.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
            drop = self.faults.drop_after_accept > 0
            if drop:
                self.faults.drop_after_accept -= 1
        if self.faults.hold_reply_ms:
            await asyncio.sleep(self.faults.hold_reply_ms / 1000)
        if drop:  # queued, but the client never hears so
            server.transport.abort()
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """Binds port 0 and learns the real port before aiosmtpd's start-up self-check."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated


class MailSandbox(LoopbackServer):
    """An SMTP server on ``smtp_port`` and its HTTP admin view on ``port`` (both loopback)."""

    thread_name = "mail-sandbox"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", smtp_port: int = 0) -> None:
        super().__init__(host, port)
        self.received: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._handler = _Handler(self.received, self._lock)
        self._smtp = _Controller(self._handler, hostname=host, port=smtp_port)
        self.app = self._admin_app()

    @property
    def smtp_port(self) -> int:
        return int(self._smtp.port)

    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self.received)

    def _admin_app(self) -> FastAPI:
        app = FastAPI(title="Mail sandbox admin", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/_admin/messages")
        def messages() -> list[dict[str, Any]]:
            return [m.summary() for m in self.messages()]

        @app.get("/_admin/counts")
        def counts() -> dict[str, int]:
            found = self.messages()
            return {"messages": len(found), "recipients": len({r for m in found for r in m.rcpt_tos})}

        @app.put("/_admin/faults")
        def faults(body: dict[str, int]) -> dict[str, int]:
            unknown = set(body) - {"drop_after_accept", "hold_reply_ms"}
            if unknown or any(not isinstance(v, int) or v < 0 for v in body.values()):
                raise HTTPException(400, f"faults: drop_after_accept and hold_reply_ms, counts >= 0 (got {body})")
            with self._lock:
                for name, value in body.items():
                    setattr(self._handler.faults, name, value)
                return asdict(self._handler.faults)

        @app.delete("/_admin/messages")
        def clear() -> dict[str, int]:
            with self._lock:
                n = len(self.received)
                self.received.clear()
            return {"deleted": n}

        return app

    def start_smtp(self) -> None:
        """Start the SMTP side (idempotent: the CLI starts it early to learn its port)."""
        if getattr(self._smtp, "_thread", None) is None:
            self._smtp.start()

    def start(self, timeout: float = 10.0) -> MailSandbox:
        self.start_smtp()
        return super().start(timeout)

    def serve_forever(self) -> None:
        self.start_smtp()
        super().serve_forever()

    def info(self) -> dict[str, Any]:
        """The machine-readable startup line printed by the CLI."""
        return {"url": self.url, "smtp_host": self.host, "smtp_port": self.smtp_port, "security": "none"}

    def cleanup(self) -> None:
        if getattr(self._smtp, "_thread", None) is not None:
            self._smtp.stop()
        super().cleanup()
