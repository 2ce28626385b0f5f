"""Who may do what (seed 003, "Users > Roles"), as data plus one check.

The seed's table lists each feature's operations under Administrator and Users columns without
marks; this reading gives Administrators everything and Users the day-to-day work: plans
(except unpublishing), plan lines, actions and running HARP Connect; the setup (connectors,
users, program types, reason codes) is for Administrators. "Run HARP Connect with a test date"
is open to everyone in the sandbox and to Administrators in production. Collections (seeds
000-002): everyone manages customers' payment methods, pays invoices and refunds payments; the collection,
dunning and notification settings are for Administrators.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from hub.platform.errors import NotAllowed


class Role(StrEnum):
    """The two roles of seed 003: an Administrator may do everything, a User what the table allows."""

    ADMINISTRATOR = "Administrator"
    USER = "User"

RUN = "Run"

#: feature -> its operations
FEATURES: dict[str, tuple[str, ...]] = {
    "Connectors": ("Create", "Update", "Delete", "Deactivate", "Activate"),
    "Users": ("Create", "Update", "Delete", "Activate", "Deactivate", "Update Roles"),
    "Program Types": ("Create", "Update", "Delete"),
    "Reason Code": ("Create", "Update", "Delete"),
    "Subscription Plan": ("Create", "Update", "Cancel", "Publish", "Unpublish"),
    "Subscription Plan Lines": ("Create", "Update", "Disable", "Enable"),
    "Subscription Actions": ("Edit", "Firm", "Post", "Cancel", "Reset"),
    "Run HARP Connect": (RUN,),
    "Run HARP Connect with a test date": (RUN,),
    "Audit Log": ("View",),
    "Payment Methods": ("Create", "Update", "Remove"),
    "Collections": ("Pay", "Hold", "Refund"),
    "Collection Settings": ("Update",),
    "Billing Settings": ("Update",),
    "Notification Settings": ("Update",),
    "Notifications": ("Resolve",),
}

_ALL = {feature: frozenset(ops) for feature, ops in FEATURES.items()}

#: (role, environment) -> feature -> allowed operations
PERMISSIONS: dict[tuple[Role, str], dict[str, frozenset[str]]] = {}
_USER = {
    "Subscription Plan": frozenset({"Create", "Update", "Cancel", "Publish"}),
    "Subscription Plan Lines": _ALL["Subscription Plan Lines"],
    "Subscription Actions": frozenset({"Edit", "Firm", "Post", "Cancel"}),  # Reset: administrators
    "Run HARP Connect": _ALL["Run HARP Connect"],
    "Payment Methods": _ALL["Payment Methods"],
    "Collections": _ALL["Collections"],
}
for _env in ("production", "sandbox"):
    PERMISSIONS[(Role.ADMINISTRATOR, _env)] = dict(_ALL)
    PERMISSIONS[(Role.USER, _env)] = dict(_USER)
PERMISSIONS[(Role.USER, "sandbox")]["Run HARP Connect with a test date"] = frozenset({RUN})

ENVIRONMENTS = ("production", "sandbox")

_NOUNS = {
    "Connectors": "connectors",
    "Users": "users",
    "Program Types": "program types",
    "Reason Code": "reason codes",
    "Subscription Plan": "subscription plans",
    "Subscription Plan Lines": "subscription plan lines",
    "Subscription Actions": "subscription actions",
    "Audit Log": "the audit log",
    "Payment Methods": "payment methods",
    "Collection Settings": "the collection and dunning settings",
    "Billing Settings": "the billing settings",
    "Notification Settings": "the notification settings",
    "Notifications": "notifications",
}


class NotAllowedError(NotAllowed):
    """The role may not perform the operation; the message says so in a plain sentence."""


def _lookup(name: str, known: tuple[str, ...] | list[str], what: str) -> str:
    for k in known:
        if k.casefold() == name.strip().casefold():
            return k
    raise ValueError(f"unknown {what} {name!r}; known: {', '.join(known)}")


def allowed(
    role: Role, feature: str, operation: str, *, environment: str = "production"
) -> bool:
    """Return whether ``role`` may perform ``operation`` on ``feature`` (names ignore case).

    Raises:
        ValueError: an unknown feature, operation or environment.
    """
    env = _lookup(environment, ENVIRONMENTS, "environment")
    feat = _lookup(feature, list(FEATURES), "feature")
    op = _lookup(operation, FEATURES[feat], f"operation on {feat}")
    return op in PERMISSIONS[(Role(role), env)].get(feat, frozenset())


def authorize(
    role: Role, feature: str, operation: str, *, environment: str = "production"
) -> None:
    """Raise :class:`NotAllowedError` unless ``role`` may perform ``operation`` on ``feature``."""
    if allowed(role, feature, operation, environment=environment):
        return
    feat = _lookup(feature, list(FEATURES), "feature")
    op = _lookup(operation, FEATURES[feat], f"operation on {feat}")
    if op == RUN:
        what = f"run {feat.removeprefix('Run ')}"
    elif op == "Update Roles":
        what = "update users' roles"
    else:
        what = f"{op.lower()} {_NOUNS[feat]}"
    raise NotAllowedError(
        f"A {Role(role).value} may not {what} in {environment.strip().lower()}; "
        "ask an administrator."
    )


class _Acting(Protocol):
    """Whoever acts: a session (or anything) whose ``info`` holds the role and the environment."""

    @property
    def info(self) -> dict[Any, Any]: ...


def allow(s: _Acting, feature: str, operation: str) -> None:
    """The seed-003 role table, enforced for whoever acts through this session (its ``info``
    holds the acting role and the environment)."""
    authorize(Role(s.info.get("role", Role.ADMINISTRATOR)), feature, operation, environment=s.info["environment"])
