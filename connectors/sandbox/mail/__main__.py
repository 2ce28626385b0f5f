"""CLI: ``python -m connectors.sandbox.mail --port P --smtp-port Q``.

Prints one JSON line (admin URL, SMTP host and port) first so wrappers can parse it, then
serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse

from connectors.sandbox.cli import announce_and_serve

from .server import MailSandbox


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m connectors.sandbox.mail", description="SMTP sandbox")
    p.add_argument("--port", type=int, default=0, help="HTTP admin port (0 picks a free port)")
    p.add_argument("--smtp-port", type=int, default=0, help="SMTP port (0 picks a free port)")
    p.add_argument("--host", default="127.0.0.1")
    # accepted for symmetry with the other sandboxes' command lines; a mail server has no seeded data
    p.add_argument("--records", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    server = MailSandbox(port=a.port, host=a.host, smtp_port=a.smtp_port)
    server.bind()
    server.start_smtp()
    announce_and_serve(server, f"Mail sandbox: SMTP on {a.host}:{server.smtp_port} (no TLS, no login), "
                               f"received mail at {server.url}/_admin/messages - Ctrl+C to stop.")


if __name__ == "__main__":
    main()
