"""Card numbers: Luhn, brands, and the sandbox's test cards and what charging them does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    DECLINE_FIRST = "decline_first"  # the shopper's first charge is declined, later ones approve
    TIMEOUT_AFTER_CHARGE = "timeout_after_charge"  # charged, then the answer comes too late
    DROP_AFTER_CHARGE = "drop_after_charge"  # charged, then the connection is dropped


@dataclass(frozen=True)
class TestCard:
    number: str
    outcome: Outcome
    error_name: str | None = None
    description: str = ""

    __test__ = False  # not a pytest class, whatever its name


#: The documented test cards; any other valid card number approves.
TEST_CARDS: dict[str, TestCard] = {c.number: c for c in (
    TestCard("4111111111111111", Outcome.APPROVE, description="Visa: approves"),
    TestCard("5555555555554444", Outcome.APPROVE, description="Mastercard: approves"),
    TestCard("378282246310005", Outcome.APPROVE, description="American Express: approves"),
    TestCard("6011111111111117", Outcome.APPROVE, description="Discover: approves"),
    TestCard("4000000000009995", Outcome.DECLINE, "INSUFFICIENT_FUNDS", "soft decline: insufficient funds"),
    TestCard("4000000000000002", Outcome.DECLINE, "DO_NOT_HONOR", "soft decline: do not honor"),
    TestCard("4000000000000341", Outcome.DECLINE_FIRST, "INSUFFICIENT_FUNDS",
             "soft decline on the shopper's first charge, approves the retries"),
    TestCard("4000000000000069", Outcome.DECLINE, "EXPIRED_CARD", "hard decline: expired card"),
    TestCard("4000000000009987", Outcome.DECLINE, "CARD_LOST_OR_STOLEN", "hard decline: lost or stolen"),
    TestCard("4000000000000119", Outcome.TIMEOUT_AFTER_CHARGE,
             description="charges, then answers only after slow_response_seconds (past the client's timeout)"),
    TestCard("4000000000000127", Outcome.DROP_AFTER_CHARGE,
             description="charges, then drops the connection without answering"),
)}

DECLINE_TEXT = {
    "INSUFFICIENT_FUNDS": "Insufficient funds.",
    "DO_NOT_HONOR": "The issuer declined the transaction (do not honor).",
    "EXPIRED_CARD": "The card has expired.",
    "CARD_LOST_OR_STOLEN": "The card was reported lost or stolen.",
}


def luhn_ok(number: str) -> bool:
    """The Luhn checksum of a digit string."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_type(number: str) -> str | None:
    """BlueSnap's cardType for a number's brand (VISA, MASTERCARD, AMEX, DISCOVER), else None."""
    if number.startswith("4"):
        return "VISA"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
        return "MASTERCARD"
    if number[:2] in {"34", "37"}:
        return "AMEX"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3] or 0) <= 649:
        return "DISCOVER"
    return None


def outcome_of(number: str) -> TestCard:
    """What charging this card does."""
    return TEST_CARDS.get(number, TestCard(number, Outcome.APPROVE))
