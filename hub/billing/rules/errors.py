"""The billing engine's errors: each names the field (or subject) it is about."""

from __future__ import annotations

from hub.platform.errors import InputError


class BillingRuleError(InputError):
    """A billing rule was broken; ``field`` names what, ``reason`` says why in plain words.

    It is a ``ValueError``, so callers that only care about bad input can catch that.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class SubscriptionError(InputError):
    """A subscription request (plan, line, action) that cannot be honoured, in plain words."""
