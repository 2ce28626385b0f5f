"""Notification settings (issue 23, "7. Settings"): the ticket's queue, priority and issue type are
picked from what the PSA lists (the BMS sandbox here); a name the PSA does not list is refused,
naming the field and the names it does list, on the page, through the API and on the CLI."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from connectors.sandbox.bms import SandboxServer
from hub.collections import notification_settings
from hub.platform.db import session
from hub.sync import cards
from tests.factories import bms_card
from tests.web.conftest import Web, post_form

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)

PAGE = "/notifications/settings"


@pytest.fixture
def psa(hub_db: str) -> Iterator[SandboxServer]:
    with SandboxServer(records=3, seed=3) as server:
        bms_card("psa", url=server.url)
        with session("sandbox") as s:
            cards.set_status(s, "psa", "active")
        yield server


def _options(page: str, select_name: str, form: str | None = None) -> list[str]:
    owner = f' form="{form}"' if form else ""
    found = re.search(rf'<select name="{select_name}"{owner}[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no picker {select_name} {form or ''}"
    return [html.unescape(o) for o in re.findall(r"<option[^>]*>([^<]*)</option>", found.group(1))]


def test_the_ticket_fields_are_picked_from_the_queues_priorities_and_issue_types_the_psa_lists(
        web: Web, psa: SandboxServer) -> None:
    page = web.signed_in().get(PAGE).text
    assert _options(page, "destination") == ["Accounts Receivable", "Service Desk"]
    assert _options(page, "priority") == ["Low", "Medium", "High", "Critical"]
    assert _options(page, "issue_type") == ["Billing", "Payment", "General"]
    kind = re.search(r'<tr data-type="([a-z_0-9]+)">', page).group(1)  # type: ignore[union-attr]
    # a type's row offers the shared value first (blank: follow it), then the PSA's names
    assert _options(page, "priority", f"type-{kind}") == ["(shared: Medium)", "Low", "Medium", "High", "Critical"]
    assert "as psa lists them now" in page


def test_a_queue_the_psa_does_not_list_is_refused_naming_the_ones_it_does_and_nothing_is_saved(
        web: Web, psa: SandboxServer) -> None:
    admin = web.signed_in()
    post_form(admin, PAGE, {"sender_name": "Accounts", "destination": "Accounts Payable", "priority": "High",
                            "issue_type": "Billing"}, page=PAGE)
    shown = html.unescape(admin.get(PAGE).text)
    assert ("destination: 'Accounts Payable' is not a queue in the PSA psa; choose one of: Accounts Receivable, "
            "Service Desk") in shown
    assert _options(shown, "priority")[0] == "Low" and 'selected>Medium</option>' in shown  # priority not saved either

    kind = "overdue_1"
    post_form(admin, f"{PAGE}/{kind}", {"ticket": "true", "issue_type": "Refund"}, page=PAGE)
    shown = html.unescape(admin.get(PAGE).text)
    assert "issue_type: 'Refund' is not an issue type in the PSA psa; choose one of: Billing, Payment, General" in shown

    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    refused = api.patch("/api/notifications/settings", json={"priority": "Urgent"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == ("priority: 'Urgent' is not a priority in the PSA psa; choose one of: Low, "
                                        "Medium, High, Critical")
    with session("sandbox") as s:
        settings = notification_settings.get_settings(s)
    assert (settings.ticket_config.destination, settings.ticket_config.priority) == ("Accounts Receivable", "Medium")


def test_a_name_the_psa_lists_is_saved_whatever_its_case(web: Web, psa: SandboxServer) -> None:
    admin = web.signed_in()
    post_form(admin, PAGE, {"sender_name": "Accounts", "destination": "service desk", "priority": "High",
                            "issue_type": "Payment"}, page=PAGE)
    assert "Ticket configuration saved." in admin.get(PAGE).text
    with session("sandbox") as s:
        ticket = notification_settings.get_settings(s).ticket_config
    assert (ticket.destination, ticket.priority, ticket.issue_type) == ("service desk", "High", "Payment")


@pytest.fixture
def cw(hub_db: str) -> Iterator[object]:
    from connectors.sandbox.connectwise import SandboxServer as ConnectWiseSandbox
    from tests.collections.test_connectwise_psa import connectwise_card

    with ConnectWiseSandbox(records=5, seed=3) as server:
        with session("sandbox") as s:
            connectwise_card(s, server)
        yield server


def test_a_connectwise_issue_type_must_be_one_of_the_chosen_boards_types_not_any_boards(web: Web, cw: object) -> None:
    """ConnectWise lists issue types per board (Accounts Receivable: Billing, Payment; Service Desk:
    Incident, General): a type of another board is refused, naming the board and its own types."""
    admin = web.signed_in()
    post_form(admin, PAGE, {"sender_name": "Accounts", "destination": "Accounts Receivable",
                            "priority": "Priority 3 - Normal Response", "issue_type": "Incident"}, page=PAGE)
    shown = html.unescape(admin.get(PAGE).text)
    assert ("issue_type: 'Incident' is not an issue type of the board 'Accounts Receivable' in the PSA psa; "
            "choose one of: Billing, Payment") in shown
    with session("sandbox") as s:
        assert notification_settings.get_settings(s).ticket_config.issue_type == "Billing"  # nothing saved

    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    # a type's row that keeps the shared board (Accounts Receivable) is checked against that board
    refused = api.patch("/api/notifications/settings/overdue_1", json={"issue_type": "General"})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("issue_type: 'General' is not an issue type of the board "
                                               "'Accounts Receivable'")
    # moving to a board whose types do not include the issue type kept is refused too
    moved = api.patch("/api/notifications/settings", json={"destination": "Service Desk"})
    assert moved.status_code == 400 and "'Billing' is not an issue type of the board 'Service Desk'" in moved.text
    # the board and one of its own types together are saved
    saved = api.patch("/api/notifications/settings/overdue_1", json={"destination": "service desk",
                                                                      "issue_type": "Incident"})
    assert saved.status_code == 200, saved.text
    with session("sandbox") as s:
        row = notification_settings.get_settings(s).for_type("overdue_1").ticket_config  # type: ignore[arg-type]
    assert (row.destination, row.issue_type) == ("service desk", "Incident")


def test_a_connectwise_issue_type_is_picked_under_its_own_board(web: Web, cw: object) -> None:
    """The issue-type picker groups ConnectWise's types by the board they belong to, so the one
    picked is seen to be of the board chosen as destination (a BMS picker stays one flat list)."""
    shown = web.signed_in().get(PAGE).text
    found = re.search(r'<select name="issue_type"[^>]*>(.*?)</select>', shown, re.S)
    assert found
    groups = {html.unescape(board): [html.unescape(o) for o in re.findall(r"<option[^>]*>([^<]*)</option>", body)]
              for board, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', found.group(1), re.S)}
    assert groups == {"Accounts Receivable": ["Billing", "Payment"], "Service Desk": ["Incident", "General"]}
    assert re.search(r"<option selected>Billing</option>", found.group(1))  # the saved type, under its board
