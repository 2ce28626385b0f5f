"""Renewal-notice notifications: the contract's details reach the ERP connector's notification
endpoint once per notice, also when the endpoint fails first and the run is repeated."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.http import RetryPolicy
from hub.billing import actions, generation, plans, renewal_notices, setup
from hub.billing.rules import errors
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from hub.sync import cards
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord


class Receiver:
    """A real HTTP endpoint on loopback that records what it gets; ``fail`` answers 503 first."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.fail = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.received.append((dict(self.headers), json.loads(body)))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/harp/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _plan_with_notice(url: str | None, *, notify: bool = True) -> int:
    spec = cards.CardSpec(name="erp", kind="business_central", environment="sandbox", settings={
        "tenant_id": "t", "client_id": "c", "environment": "production", "company": "CRONUS",
        "notification_url": url, "sandbox": True}, secrets={"client_secret": SecretStr("s")})
    with session("sandbox") as s:
        card = cards.create(s, spec)
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"}, raw={"id": "c1"})],
            fetched=1)
        setup.create_program_type(s, "Support")
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Support", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1),
            global_end=date(2024, 12, 31), renewal_notice=True, renewal_notice_days=30,
            renewal_notice_notification=notify, salesperson="Dana"))
        plans.add_line(s, plan.id, product="SUP", quantity=Decimal(2), sales_price=Decimal("49.50"),
                               currency="USD")
        plans.set_plan_status(s, plan.id, "Published")
        generation.run_generator(s, date(2024, 12, 5))
        return plan.id  # type: ignore[return-value]


FAST = RetryPolicy(max_attempts=1)


def test_renewal_notice_posts_the_contract_details_once_even_after_a_failed_delivery(hub_db, receiver) -> None:
    _plan_with_notice(receiver.url)
    receiver.fail = 1
    first = renewal_notices.deliver("sandbox", retry=FAST)
    assert first.sent == [] and len(first.failed) == 1 and "503" in first.failed[0]["error"]
    with session("sandbox") as s:
        notice = s.execute(select(SubscriptionAction).where(SubscriptionAction.action_type == "Renewal Notice")).scalars().one()
        assert notice.notified_at is None and "503" in (notice.error or "")  # the reason stays on the action
    second = renewal_notices.deliver("sandbox", retry=FAST)
    third = renewal_notices.deliver("sandbox", retry=FAST)
    assert len(second.sent) == 1 and third.as_dict() == {"sent": [], "failed": [], "no_endpoint": []}
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert headers["Idempotency-Key"] == notice.key
    assert body["contract"] == {"start": "2024-01-01", "end": "2024-12-31", "automatic_renewal": False,
                                "renewal_notice_days": 30}
    assert body["customer"] == {"id": "c1", "name": "Acme"} and body["plan"]["salesperson"] == "Dana"
    assert body["lines"][0]["amount_after_discount"] == "99.00" and body["lines"][0]["currency"] == "USD"
    with session("sandbox") as s:
        notice = s.get(SubscriptionAction, notice.id)
        assert notice.notified_at is not None and notice.error is None


def test_cancelled_or_unrequested_notices_are_not_sent_and_a_missing_endpoint_is_reported(hub_db, receiver) -> None:
    _plan_with_notice(None)
    report = renewal_notices.deliver("sandbox", retry=FAST)
    assert report.sent == [] and len(report.no_endpoint) == 1  # said, not silently dropped
    with session("sandbox") as s:
        notice = s.execute(select(SubscriptionAction)).scalars().all()
        actions.cancel(s, [a.id for a in notice if a.action_type == "Renewal Notice"], by="ops")
    assert renewal_notices.deliver("sandbox", retry=FAST).as_dict() == {"sent": [], "failed": [], "no_endpoint": []}


def test_a_notification_without_a_renewal_notice_is_refused_naming_the_field(hub_db) -> None:
    with pytest.raises(errors.SubscriptionError, match="renewal_notice_notification"):
        with session("sandbox") as s:
            _card_customer_program(s)
            plans.create_plan(s, plans.PlanRequest(
                name="X", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1),
                global_end=date(2024, 12, 31), renewal_notice_notification=True))


def _card_customer_program(s: Any) -> None:
    card = cards.create(s, cards.CardSpec(name="erp", kind="business_central", environment="sandbox", settings={
        "tenant_id": "t", "client_id": "c", "environment": "production", "company": "CRONUS"},
        secrets={"client_secret": SecretStr("s")}))
    apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
        external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"}, raw={"id": "c1"})],
            fetched=1)
    setup.create_program_type(s, "Support")


def test_a_renewal_notice_also_tells_the_customer_once_through_the_notification_outbox(hub_db) -> None:
    from hub.collections.outbox import notification_of
    from hub.platform.models import NotificationMessage

    _plan_with_notice(None, notify=False)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 12, 6))  # a second run creates nothing new
        [row] = s.execute(select(NotificationMessage)).scalars().all()
        note = notification_of(row)
    assert (note.type.value, note.customer_name, note.plan_name, note.renewal_date) == (
        "renewal_notice", "Acme", "Support", date(2024, 12, 31))
