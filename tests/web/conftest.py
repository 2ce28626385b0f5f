"""Fixtures of the admin web app: the app on a fresh hub store, users of both roles, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.access import users
from hub.platform.db import session

ADMIN = ("admin@example.com", "admin password 1")
USER = ("user@example.com", "user password 1")


@dataclass
class Web:
    app: FastAPI

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="http://testserver")

    def signed_in(self, who: tuple[str, str] = ADMIN) -> TestClient:
        client = self.client()
        login(client, *who)
        return client

    def token(self, who: tuple[str, str] = ADMIN) -> str:
        with session("sandbox") as s:
            _, plain = users.create_token(s, users.get_user(s, who[0]).id, "tests")  # type: ignore[arg-type]
        return plain


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def login(client: TestClient, email: str, password: str, expect: int = 303) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == expect, response.text


def post_form(client: TestClient, path: str, data: dict[str, object] | None = None, page: str = "/") -> object:
    """Submit a form as the browser would: with the page's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


@pytest.fixture
def web(hub_db: str, prefect_backend: str) -> Iterator[Web]:
    from hub.web import create_app

    with session("sandbox") as s:
        users.create_user(s, ADMIN[0], ADMIN[1], role="Administrator")
        users.create_user(s, USER[0], USER[1], role="User")
    app = create_app()
    yield Web(app)
    app.state.sync_jobs.join()
