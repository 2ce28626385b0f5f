"""Loopback simulator of BlueSnap's Payment API v2: card-entry page, shoppers, charges, refunds, IPNs.

Test cards (any expiry in the future, any CVV of the right length) are in ``cards.TEST_CARDS``
and ``GET /_admin/test-cards``: approve, soft-decline (INSUFFICIENT_FUNDS, DO_NOT_HONOR, or the
first charge only), hard-decline (EXPIRED_CARD, CARD_LOST_OR_STOLEN), and charge-then-time-out
or charge-then-drop-the-connection. Bank accounts for ACH (the mandate page, ECP debits and
their NACHA returns) are in ``banks.TEST_ACCOUNTS`` and ``GET /_admin/test-accounts``.
"""

from .app import BlueSnapSandboxApp, create_app
from .banks import TEST_ACCOUNTS
from .cards import TEST_CARDS, Outcome, TestCard
from .fill import CardFormRejected, fill_bank_form, fill_card_form
from .server import SandboxServer
from .state import GatewayState

__all__ = ["TEST_ACCOUNTS", "TEST_CARDS", "BlueSnapSandboxApp", "CardFormRejected", "GatewayState", "Outcome",
           "SandboxServer", "TestCard", "create_app", "fill_bank_form", "fill_card_form"]
