"""Every answer carries the security headers, and links built from names and e-mails are
percent-encoded, so a crafted name cannot turn one button into another (issue 22)."""

from __future__ import annotations

import re

from sqlmodel import select

from hub.access import users
from hub.platform.db import session
from hub.platform.models import Connector
from tests.factories import bms_card
from tests.web.conftest import Web, post_form

NAMES = {"a/b": "a%2Fb", "q?x": "q%3Fx", "h#x": "h%23x", "..": "%2E%2E", "p%41": "p%2541"}
CRAFTED_EMAIL = "x/../../connectors/psa/y@evil.example"


def test_every_answer_carries_the_security_headers(web: Web) -> None:
    client = web.signed_in()
    for path in ("/login", "/", "/connectors", "/static/app.css", "/api/connectors", "/no-such-page", "/api/docs"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path  # a form posted back names its page; no other site sees it
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
    assert "'unsafe-inline'" not in client.get("/connectors").headers["content-security-policy"]
    assert "style=" not in client.get("/customers").text  # the pages need no inline style or script


def test_links_built_from_names_and_emails_are_percent_encoded(web: Web) -> None:
    bms_card("psa")
    with session("sandbox") as s:
        settings = s.exec(select(Connector)).one().settings
        for name in NAMES:  # rows named before names were checked, or written around the service
            s.add(Connector(environment="sandbox", name=name, kind="bms", status="draft", settings=settings,
                            secrets_encrypted=""))
        users.create_user(s, CRAFTED_EMAIL, "a long crafted passphrase")
    client = web.signed_in()
    page = client.get("/connectors").text
    for name, encoded in NAMES.items():
        for action in ("test", "sync", "activate", "delete"):
            assert f'action="/connectors/{encoded}/{action}"' in page, (name, action)
        assert f'href="/connectors/{encoded}/settings"' in page
    targets = re.findall(r'(?:action|href)="(/connectors/[^"]*)"', page)
    assert all("/../" not in t and "?" not in t and "#" not in t for t in targets), targets
    crafted = "x%2F..%2F..%2Fconnectors%2Fpsa%2Fy%40evil.example"
    users_page = client.get("/users").text
    assert f'action="/users/{crafted}/deactivate"' in users_page and "/users/x/../" not in users_page

    # the encoded links reach the card they name
    answer = post_form(client, f"/connectors/{NAMES['q?x']}/deactivate", page="/connectors")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    with session("sandbox") as s:
        from hub.sync import cards

        assert cards.get(s, "q?x").status == "deactivated" and cards.get(s, "h#x").status == "draft"
