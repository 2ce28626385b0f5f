"""A mail sandbox: an SMTP server on loopback that keeps what it receives, with an HTTP admin
view (``/_admin/messages``, ``/_admin/counts``) so the demo and tests can see what was sent.

Run it: ``python -m connectors.sandbox.mail --port 0``. Recipients starting ``nobody@`` are
refused for good (550) and ``busy@`` for now (451), as real servers do.
"""

from .server import MailSandbox, ReceivedMail

__all__ = ["MailSandbox", "ReceivedMail"]
