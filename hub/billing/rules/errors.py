"""The billing engine's errors: each names the field (or subject) it is about."""

from __future__ import annotations

from hub.platform.errors import InputError, RuleError


class BillingRuleError(RuleError):
    """A billing rule was broken; ``field`` names what, ``reason`` says why in plain words.

    It is a ``ValueError``, so callers that only care about bad input can catch that.
    """


class SubscriptionError(InputError):
    """A subscription request (plan, line, action) that cannot be honoured, in plain words."""
