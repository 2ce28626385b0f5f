"""The one base of every error Cashrail raises on purpose.

A :class:`CashrailError`'s message is written for the person who caused it: one line that
names the field or the thing, never a traceback or SQL. ``status`` is what the API answers
with; the CLI prints the message on one line and exits 1. Errors of a domain derive from it
(``CardError``, ``SubscriptionError``, ``CollectionRuleError`` ...), keeping the builtin they
always were (``ValueError``, ``PermissionError`` ...) as a second base, so the CLI and the web
app agree on what a user error is by one ``except CashrailError``.

Errors of 5xx status are the hub's own failures (a broken invariant, a mail server that will
not take a message): the web app does not show their text to the caller.
"""

from __future__ import annotations

from typing import ClassVar


class CashrailError(Exception):
    """An error whose message is meant for the user; ``status`` is its HTTP status."""

    status: ClassVar[int] = 400

    @property
    def user_facing(self) -> bool:
        """Whether the message may be shown to whoever caused it (4xx)."""
        return self.status < 500


class InputError(CashrailError, ValueError):
    """Bad input: the message names the field and says what is wrong with it (400)."""


class RuleError(InputError):
    """A domain rule was broken; ``field`` names what, ``reason`` says why in plain words (400)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class NotAllowed(CashrailError, PermissionError):
    """The acting role may not do this (403)."""

    status = 403


class Unavailable(CashrailError, RuntimeError):
    """Something the request needs is not there or not running (a key, a server): 503."""

    status = 503
