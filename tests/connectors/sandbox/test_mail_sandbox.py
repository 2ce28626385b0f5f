"""The mail sandbox: what the hub's mailer sends arrives, and the admin view shows it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from connectors.sandbox.mail import MailSandbox
from hub.collections.mailer import MailDeliveryError, SmtpSecurity, SmtpSettings, compose, send


def _settings(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, security=SmtpSecurity.NONE,
                        from_address="billing@msp.example", from_name="Acme MSP Accounts")


def test_mail_sent_to_the_sandbox_is_listed_with_its_subject_language_and_recipient() -> None:
    with MailSandbox() as box:
        message = compose(_settings(box.smtp_port), key="n-1/email", to_address="ap@customer.example",
                          subject="Zahlung fehlgeschlagen", body="Hallo", language="de")
        message_id = send(_settings(box.smtp_port), message)
        listed = httpx.get(f"{box.url}/_admin/messages").json()
        assert [(m["message_id"], m["to"], m["subject"], m["language"]) for m in listed] == [
            (message_id, ["ap@customer.example"], "Zahlung fehlgeschlagen", "de")]
        assert httpx.get(f"{box.url}/_admin/counts").json() == {"messages": 1, "recipients": 1}


def test_the_sandbox_refuses_unknown_mailboxes_for_good_and_busy_ones_for_now() -> None:
    with MailSandbox() as box:
        for address, permanent in (("nobody@customer.example", True), ("busy@customer.example", False)):
            message = compose(_settings(box.smtp_port), key=f"{address}/email", to_address=address,
                              subject="s", body="b")
            with pytest.raises(MailDeliveryError) as refused:
                send(_settings(box.smtp_port), message)
            assert refused.value.permanent is permanent
        assert box.messages() == []


def test_the_mail_sandbox_command_prints_its_smtp_port_and_serves() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "connectors.sandbox.mail", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        send(_settings(info["smtp_port"]), compose(_settings(info["smtp_port"]), key="k/email",
                                                    to_address="ap@customer.example", subject="s", body="b"))
        assert httpx.get(f"{info['url']}/_admin/counts").json()["messages"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
