"""The notify row: BMS sandbox faults (and SIGKILL, lost database connections) a delivery run goes
through; afterwards each notification's e-mail arrived once and its PSA ticket exists once."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import select

from connectors.bms.client import ticket_marker
from connectors.sandbox.bms import SandboxServer
from connectors.sandbox.mail import MailSandbox
from hub.collections import notifications
from hub.collections.mailer import message_id
from hub.collections.outbox import enqueue
from hub.collections.rules import Notification, NotificationType
from hub.collections.rules.notifications import delivery_key
from hub.platform.db import session
from hub.platform.models import NotificationDelivery, NotificationMessage
from hub.platform.settings import get_settings
from tests.collections.notify_builders import SMTP_FROM, bms_card, contact, organisation
from tests.faults.harness import Ctx, cashrail, drop_hub_connections, kill_mid_run, put, repeatedly, wait_for
from tests.faults.matrix import scenario

ENV = "sandbox"
NOTIFICATIONS = 6
DELIVER = ("notifications", "deliver", "--json")
RUNS_UNDER_FAULT = 2
KNOBS = {"429": {"rate_429": 0.3, "retry_after": 0}, "5xx": {"rate_5xx": 0.25},
         "timeout-after-apply": {"rate_drop_after_write": 0.5}, "connection-reset": {"rate_drop": 0.2}}
STAT = {"429": "429", "5xx": "5xx", "timeout-after-apply": "drop_after_write", "connection-reset": "drop"}
CLEAR = {"rate_429": 0, "rate_5xx": 0, "rate_drop": 0, "rate_drop_after_write": 0, "latency_ms": 0}


@dataclass
class Outbox:
    psa: SandboxServer
    mail: MailSandbox
    keys: list[str]


def _outbox(ctx: Ctx) -> Outbox:
    """NOTIFICATIONS pending payment-failed notifications of one PSA customer (e-mail and ticket
    each), SMTP set to the mail sandbox through CASHRAIL_SMTP_* (for workers too)."""
    psa: SandboxServer = ctx.fixture("bms")
    mail: MailSandbox = ctx.fixture("mail")
    monkeypatch = ctx.fixture("monkeypatch")
    for name, value in {"HOST": mail.host, "PORT": str(mail.smtp_port), "SECURITY": "none",
                        "FROM_ADDRESS": SMTP_FROM}.items():
        monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
    account = httpx.get(f"{psa.url}/_admin/records/accounts").json()[0]
    keys = [f"nf-{i}" for i in range(NOTIFICATIONS)]
    with session(ENV) as s:
        org = organisation(s, bms_card(s, psa.url), str(account["Id"]), account["AccountName"], raw=account)
        contact(s, org, "ina@berg.example.de")
        for i, key in enumerate(keys):
            enqueue(s, Notification(type=NotificationType.PAYMENT_FAILED, key=key, customer_name=account["AccountName"],
                                    invoice_number=f"INV-{i}", amount=Decimal("10.00"), currency="EUR"),
                    organisation_id=org.id)
    return Outbox(psa, mail, keys)


def _rows() -> list[NotificationDelivery]:
    with session(ENV) as s:
        return list(s.execute(select(NotificationDelivery).order_by(NotificationDelivery.id)).scalars())


def _assert_failures_visible(report: notifications.DeliveryReport) -> None:
    """A channel not yet sent shows why on its row (attempts, last error), its notification on the run."""
    for row in _rows():
        if row.status not in ("sent", "skipped"):
            assert row.status in ("pending", "unknown") and row.attempts >= 1 and row.last_error, (
                row.key, row.status, row.attempts, row.last_error)
    for entry in report.pending:
        assert entry["error"], entry


def _emails_per_message_id(outbox: Outbox) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in outbox.mail.messages())


def _tickets_per_key(outbox: Outbox) -> Counter[str]:
    markers = {ticket_marker(delivery_key(k, "ticket")): k for k in outbox.keys}
    return Counter(markers[line] for t in httpx.get(f"{outbox.psa.url}/_admin/records/tickets").json()
                   for line in str(t.get("Details") or "").splitlines() if line in markers)


def _assert_delivered_once(outbox: Outbox) -> None:
    """Every channel sent; one ticket per notification; one e-mail per Message-ID."""
    rows = _rows()
    assert sorted((r.key, r.status) for r in rows) == sorted(
        (delivery_key(k, c), "sent") for k in outbox.keys for c in ("email", "ticket"))
    with session(ENV) as s:
        assert {m.key: m.status for m in s.execute(select(NotificationMessage)).scalars()} == dict.fromkeys(outbox.keys, "delivered")
    tickets = _tickets_per_key(outbox)
    assert tickets == dict.fromkeys(outbox.keys, 1), "a ticket was lost or doubled"
    refs = {r.key: r.external_ref for r in rows}
    emails = _emails_per_message_id(outbox)
    assert emails.keys() == {message_id(delivery_key(k, "email"), SMTP_FROM) for k in outbox.keys}
    assert {refs[delivery_key(k, "email")] for k in outbox.keys} == emails.keys()
    assert set(emails.values()) == {1}, f"an e-mail went twice: {emails}"


def _settle_unknown(outbox: Outbox, report: notifications.DeliveryReport) -> None:
    """What a person does with an e-mail of unknown delivery: look its Message-ID up in the mail
    server's log (here the sandbox's), then say "sent" or "send again"."""
    received = _emails_per_message_id(outbox)
    for entry in report.unknown:
        gone = message_id(delivery_key(entry["key"], "email"), SMTP_FROM) in received
        with session(ENV) as s:
            notifications.resolve_unknown(s, entry["key"], "sent" if gone else "resend")


def _finish(outbox: Outbox) -> None:
    report = notifications.deliver(ENV)
    _settle_unknown(outbox, report)
    if report.unknown:
        report = notifications.deliver(ENV)
    assert not report.pending and not report.failed and not report.unknown and not report.busy, report.as_dict()
    _assert_delivered_once(outbox)
    again = notifications.deliver(ENV)  # nothing left: nothing sent
    assert again.as_dict() == {"delivered": [], "pending": [], "failed": [], "unknown": [], "busy": False}
    _assert_delivered_once(outbox)


def _stats(outbox: Outbox) -> dict[str, int]:
    return httpx.get(f"{outbox.psa.url}/_admin/stats").json()["faults"]  # type: ignore[no-any-return]


@scenario("notify", "429", "5xx", "timeout-after-apply", "connection-reset")
def notify_through_psa_errors(ctx: Ctx) -> None:
    fault = ctx.request.node.callspec.params["fault"]
    outbox = _outbox(ctx)
    put(outbox.psa.url, "/_admin/faults", {**KNOBS[fault], "seed": 4})
    for _ in range(RUNS_UNDER_FAULT):
        _assert_failures_visible(notifications.deliver(ENV))
    assert _stats(outbox)[STAT[fault]] > 0, "the fault never fired"
    put(outbox.psa.url, "/_admin/faults", CLEAR)
    _finish(outbox)


@scenario("notify", "token-expiry")
def notify_while_tokens_expire(ctx: Ctx) -> None:
    outbox = _outbox(ctx)
    url = outbox.psa.url
    put(url, "/_admin/faults", {"latency_ms": 20})
    issued = len(httpx.get(f"{url}/_admin/tokens").json())
    with repeatedly(lambda: httpx.post(f"{url}/_admin/expire-tokens").raise_for_status(), every=0.1):
        _assert_failures_visible(notifications.deliver(ENV))
    put(url, "/_admin/faults", CLEAR)
    assert len(httpx.get(f"{url}/_admin/tokens").json()) > issued + 2, "no token was renewed mid-run"
    _finish(outbox)


def _began() -> Callable[[], bool]:
    """True once a worker counted one more delivery attempt than there were."""
    before = sum(r.attempts for r in _rows())
    return lambda: sum(r.attempts for r in _rows()) > before


@scenario("notify", "sigkill")
def notify_run_killed_then_completed(ctx: Ctx) -> None:
    outbox = _outbox(ctx)
    put(outbox.psa.url, "/_admin/faults", {"latency_ms": 100})
    landed = sum(kill_mid_run(ctx, DELIVER, began=_began(), kills=1) for _ in range(2))
    assert landed, "no kill landed mid-run"
    # and once exactly in the window: the mail server has queued the e-mail, the worker is killed
    # before it hears so and records it
    put(outbox.mail.url, "/_admin/faults", {"hold_reply_ms": 5000})
    before = len(outbox.mail.messages())
    proc = cashrail(ctx, *DELIVER)
    in_window = wait_for(lambda: len(outbox.mail.messages()) > before, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    put(outbox.mail.url, "/_admin/faults", {"hold_reply_ms": 0})
    put(outbox.psa.url, "/_admin/faults", CLEAR)
    assert in_window, "the worker never reached the mail server"
    assert any(r.channel == "email" and r.status == "sending" for r in _rows()), "no e-mail was caught mid-send"
    _finish(outbox)


@scenario("notify", "db-connection-loss")
def notify_run_losing_its_database_connections(ctx: Ctx) -> None:
    outbox = _outbox(ctx)
    url = get_settings().resolved_database_url()
    put(outbox.psa.url, "/_admin/faults", {"latency_ms": 60})
    proc = cashrail(ctx, *DELIVER)
    assert wait_for(_began(), proc), "the run never began"
    cut: list[int] = []
    with repeatedly(lambda: cut.append(drop_hub_connections(url)), every=0.25):
        out, err = proc.communicate(timeout=300)
    assert sum(cut), "no connection was cut mid-run"
    put(outbox.psa.url, "/_admin/faults", CLEAR)
    if proc.returncode != 0:  # the run failed visibly (its flow run and exit status say why)
        assert "error" in (out + err).lower()
    _finish(outbox)
