"""An API token dies with the password or the role it was made under (issue 22)."""

from __future__ import annotations

from hub.access import users
from hub.platform.db import session


def _user_with_token(email: str) -> str:
    with session("sandbox") as s:
        users.create_user(s, "admin@example.com", "a long admin passphrase", role="Administrator")
        user = users.create_user(s, email, "a long user passphrase")
        _, token = users.create_token(s, user.id, "nightly")  # type: ignore[arg-type]
    with session("sandbox") as s:
        assert users.user_for_token(s, token) is not None
    return token


def test_a_password_reset_revokes_the_users_api_tokens(hub_db: str) -> None:
    token = _user_with_token("bob@example.com")
    with session("sandbox") as s:
        users.set_password(s, "bob@example.com", "a brand new passphrase")
    with session("sandbox") as s:
        assert users.user_for_token(s, token) is None
        assert users.tokens_of(s, users.get_user(s, "bob@example.com").id) == []  # type: ignore[arg-type]


def test_a_role_change_revokes_the_users_api_tokens(hub_db: str) -> None:
    token = _user_with_token("bob@example.com")
    with session("sandbox") as s:
        users.set_role(s, "bob@example.com", "Administrator")
    with session("sandbox") as s:
        assert users.user_for_token(s, token) is None
