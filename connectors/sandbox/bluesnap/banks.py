"""Bank accounts for ACH/ECP: routing-number checksum, account types, NACHA return codes, and
the sandbox's test accounts and what debiting them does."""

from __future__ import annotations

from dataclasses import dataclass

#: BlueSnap's ECP account types
ACCOUNT_TYPES = ("CONSUMER_CHECKING", "CONSUMER_SAVINGS", "CORPORATE_CHECKING", "CORPORATE_SAVINGS")

#: NACHA return reason codes the sandbox sends (the common ones: the code, the bank's words)
RETURN_CODES: dict[str, str] = {
    "R01": "Insufficient Funds",
    "R02": "Account Closed",
    "R03": "No Account/Unable to Locate Account",
    "R04": "Invalid Account Number Structure",
    "R05": "Unauthorized Debit to Consumer Account Using Corporate SEC Code",
    "R07": "Authorization Revoked by Customer",
    "R08": "Payment Stopped",
    "R09": "Uncollected Funds",
    "R10": "Customer Advises Originator is Not Known to Receiver and/or Originator is Not Authorized by "
           "Receiver to Debit Receiver's Account",
    "R16": "Account Frozen/Entry Returned Per OFAC Instruction",
    "R20": "Non-Transaction Account",
    "R29": "Corporate Customer Advises Not Authorized",
}


def routing_ok(number: str) -> bool:
    """The ABA routing number checksum: 3, 7, 1 weights over the nine digits sum to a multiple of 10."""
    if len(number) != 9 or not number.isdigit():
        return False
    d = [int(c) for c in number]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0


@dataclass(frozen=True)
class TestAccount:
    """A sandbox account number and what debiting it does once the debit settles."""

    number: str
    return_code: str | None = None  # None: the debit settles (SUCCESS)
    first_only: bool = False  # only the shopper's first debit is returned; later ones settle
    drop_answer: bool = False  # the debit is made, then the connection drops before the answer
    description: str = ""

    __test__ = False  # not a pytest class, whatever its name


#: The documented test accounts (any routing number with a good checksum); any other account settles.
TEST_ACCOUNTS: dict[str, TestAccount] = {a.number: a for a in (
    TestAccount("1000000001", description="settles"),
    TestAccount("1000000010", "R01", first_only=True, description="first debit returned R01 (insufficient funds), later debits settle"),
    TestAccount("1000000028", "R01", description="every debit returned R01 (insufficient funds)"),
    TestAccount("1000000036", "R02", description="returned R02 (account closed)"),
    TestAccount("1000000044", "R03", description="returned R03 (no account / unable to locate)"),
    TestAccount("1000000052", "R04", description="returned R04 (invalid account number)"),
    TestAccount("1000000060", "R10", description="returned R10 (customer says not authorized)"),
    TestAccount("1000000079", drop_answer=True, description="debits and settles, but the connection drops "
                "before the answer"),
)}


def account_outcome(number: str) -> TestAccount:
    """What debiting this account does."""
    return TEST_ACCOUNTS.get(number, TestAccount(number))
