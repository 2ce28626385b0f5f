"""Seeded data of the ConnectWise PSA sandbox, in the API's own shapes (``_info`` blocks,
reference objects), and the security-role permissions it checks.

Everything is deterministic from ``(records, seed)``. Timestamps are UTC with a ``Z``, as the
API writes them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Record = dict[str, Any]

#: security-role permissions (module: function (level)) the sandbox checks; the default role has all
COMPANIES = "Companies: Company Maintenance (Inquire)"
CONTACTS = "Companies: Contacts (Inquire)"
AGREEMENTS = "Finance: Agreements (Inquire)"
INVOICES = "Finance: Invoicing (Inquire)"
PAYMENTS = "Finance: Invoicing (Add)"
TICKETS = "Service Desk: Service Tickets (Inquire)"
TICKETS_ADD = "Service Desk: Service Tickets (Add)"
TABLE_SETUP = "System: Table Setup (Inquire)"
ALL_PERMISSIONS: tuple[str, ...] = (COMPANIES, CONTACTS, AGREEMENTS, INVOICES, PAYMENTS, TICKETS, TICKETS_ADD,
                                    TABLE_SETUP)

#: the streams the sandbox serves (also the ``/_admin`` names)
STREAMS: tuple[str, ...] = ("companies", "contacts", "agreements", "tickets", "invoices")

#: service boards with their statuses and types; priorities are global
BOARDS: list[Record] = [
    {"id": 1, "name": "Accounts Receivable", "inactiveFlag": False,
     "statuses": [{"id": 11, "name": "New", "defaultFlag": True}, {"id": 12, "name": "Closed", "closedStatus": True}],
     "types": [{"id": 21, "name": "Billing", "defaultFlag": True}, {"id": 22, "name": "Payment"}]},
    {"id": 2, "name": "Service Desk", "inactiveFlag": False,
     "statuses": [{"id": 13, "name": "New", "defaultFlag": True}, {"id": 14, "name": "In Progress"}],
     "types": [{"id": 23, "name": "Incident", "defaultFlag": True}, {"id": 24, "name": "General"}]},
]
PRIORITIES: list[Record] = [
    {"id": 4, "name": "Priority 4 - Low", "sortOrder": 4}, {"id": 3, "name": "Priority 3 - Normal Response",
                                                          "sortOrder": 3, "defaultFlag": True},
    {"id": 2, "name": "Priority 2 - Quick Response", "sortOrder": 2},
    {"id": 1, "name": "Priority 1 - Emergency Response", "sortOrder": 1},
]

_EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
_SPAN = int((datetime(2026, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
_CENT = Decimal("0.01")
_WORDS = ("Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark", "Wayne",
          "Acme", "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Aperture")
_SUFFIX = ("Ltd", "GmbH", "Inc", "LLC", "SARL", "BV")
_FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Noor", "Lena", "Marco", "Priya")
_LAST = ("Smith", "Garcia", "Rossi", "Dubois", "Nowak", "Silva", "Kim", "Okafor", "Jensen", "Tanaka")
_TITLES = ("CFO", "Accounts Payable", "IT Manager", "Office Manager", "CEO")
_SUMMARIES = ("Invoice query", "Payment not received", "Printer offline", "New starter setup", "VPN issue")
_CURRENCIES = ("USD", "EUR", "GBP")
_AGREEMENT_TYPES = ("Managed Services", "Backup", "Block Hours")
_CYCLES = ("Monthly", "Quarterly", "Yearly")
_PRODUCTS = (("MSP-STD", "Managed services - standard", "99.00"), ("LIC-M365", "Microsoft 365 licence", "12.50"),
             ("BKP-1TB", "Backup 1 TB", "25.00"))


def stamp(moment: datetime) -> str:
    """An instant as the API writes it: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(value: str) -> datetime:
    """A stored or client timestamp as an aware UTC instant (offset-less text is UTC)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def money(value: Decimal) -> float:
    """Cents, as a JSON number."""
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def info(updated: str, entered: str | None = None) -> Record:
    """A record's ``_info`` block."""
    block: Record = {"lastUpdated": updated, "updatedBy": "api.cashrail"}
    if entered:
        block["dateEntered"] = entered
        block["enteredBy"] = "api.cashrail"
    return block


def ref(kind: str, record: Record, base: str, *, name_field: str = "name", **extra: Any) -> Record:
    """A reference object as the API embeds one: id, name and an ``_info`` href."""
    return {"id": record["id"], **extra, "name": record.get(name_field),
            "_info": {f"{kind}_href": f"{base}/{record['id']}"}}


class Generator:
    """Seeded record factory; the sandbox state holds what it makes."""

    def __init__(self, seed: Any) -> None:
        self.rng = random.Random(seed)

    def moment(self) -> str:
        return stamp(_EPOCH + timedelta(seconds=self.rng.randrange(_SPAN)))

    def company(self, cid: int, updated: str) -> Record:
        r = self.rng
        name = f"{r.choice(_WORDS)} {r.choice(_WORDS)} {r.choice(_SUFFIX)} #{cid}"
        currency = r.choice(_CURRENCIES)
        return {
            "id": cid, "identifier": f"CW{cid:06d}", "name": name,
            "status": {"id": 1, "name": "Active", "_info": {"status_href": "/company/companies/statuses/1"}},
            "types": [{"id": 1, "name": "Client", "_info": {"type_href": "/company/companies/types/1"}}],
            "site": {"id": 1000 + cid, "name": "Main", "_info": {"site_href": f"/company/companies/{cid}/sites/{1000 + cid}"}},
            "phoneNumber": f"555{r.randrange(10_000_000):07d}", "website": f"www.cw{cid}.example.com",
            "taxIdentifier": f"TAX{cid:07d}" if r.random() < 0.5 else None,
            "currency": {"id": _CURRENCIES.index(currency) + 1, "currencyCode": currency, "name": currency},
            "billingTerms": {"id": 1, "name": "Net 30"}, "deletedFlag": False,
            "dateAcquired": updated, "_info": info(updated, updated),
        }

    def contact(self, cid: int, company: Record, updated: str) -> Record:
        r = self.rng
        first, last = r.choice(_FIRST), r.choice(_LAST)
        items = [{"id": 1, "type": {"id": 1, "name": "Email"}, "value": f"{first.lower()}.{cid}@cw{company['id']}.example.com",
                  "defaultFlag": True, "communicationType": "Email"},
                 {"id": 2, "type": {"id": 2, "name": "Direct"}, "value": f"555{r.randrange(10_000_000):07d}",
                  "defaultFlag": True, "communicationType": "Phone"}]
        return {
            "id": cid, "firstName": first, "lastName": last, "title": r.choice(_TITLES),
            "company": ref("company", company, "/company/companies", identifier=company["identifier"]),
            "site": {"id": company["site"]["id"], "name": "Main"},
            "inactiveFlag": r.random() < 0.05, "defaultFlag": r.random() < 0.2,
            "defaultBillingFlag": r.random() < 0.3, "communicationItems": items,
            "_info": info(updated, updated),
        }

    def agreement(self, aid: int, company: Record, updated: str) -> Record:
        r = self.rng
        start = _EPOCH + timedelta(days=r.randrange(2000))
        end = start + timedelta(days=365 * r.randint(1, 3))
        return {
            "id": aid, "name": f"{r.choice(_AGREEMENT_TYPES)} {aid}",
            "type": {"id": 1, "name": r.choice(_AGREEMENT_TYPES)},
            "company": ref("company", company, "/company/companies", identifier=company["identifier"]),
            "agreementStatus": "Active" if r.random() < 0.8 else "Expired",
            "billCycle": {"id": 1, "name": r.choice(_CYCLES)}, "billAmount": money(Decimal(r.randint(5_000, 500_000)) / 100),
            "startDate": stamp(start), "endDate": stamp(end), "cancelledFlag": False,
            "_info": info(updated, updated),
        }

    def additions(self, agreement: Record, first_id: int) -> list[Record]:
        r = self.rng
        out = []
        for n in range(r.randint(1, 3)):
            code, description, price = r.choice(_PRODUCTS)
            out.append({"id": first_id + n, "product": {"id": _PRODUCTS.index((code, description, price)) + 1,
                                                         "identifier": code},
                        "description": description, "quantity": float(r.randint(1, 20)), "unitPrice": float(price),
                        "billCustomer": "Billable", "agreementId": agreement["id"],
                        "effectiveDate": agreement["startDate"], "_info": info(agreement["_info"]["lastUpdated"])})
        return out

    def ticket(self, tid: int, company: Record, contact: Record | None, updated: str) -> Record:
        r = self.rng
        board = r.choice(BOARDS)
        priority = r.choice(PRIORITIES)
        return {
            "id": tid, "summary": r.choice(_SUMMARIES),
            "board": {"id": board["id"], "name": board["name"]},
            "status": {"id": board["statuses"][0]["id"], "name": board["statuses"][0]["name"]},
            "type": {"id": board["types"][0]["id"], "name": board["types"][0]["name"]},
            "priority": {"id": priority["id"], "name": priority["name"]},
            "company": ref("company", company, "/company/companies", identifier=company["identifier"]),
            "site": {"id": company["site"]["id"], "name": "Main"},
            "contact": ({"id": contact["id"], "name": f"{contact['firstName']} {contact['lastName']}"}
                        if contact else None),
            "externalXRef": None, "dateEntered": updated, "_info": info(updated, updated),
        }

    def invoice(self, iid: int, company: Record, updated: str) -> Record:
        r = self.rng
        day = parse_stamp(updated).replace(hour=0, minute=0, second=0)
        subtotal = Decimal(r.randint(10_000, 900_000)) / 100
        tax = (subtotal * Decimal("0.1")).quantize(_CENT, rounding=ROUND_HALF_UP)
        total = subtotal + tax
        paid = total if r.random() < 0.5 else Decimal(0)
        return {
            "id": iid, "invoiceNumber": f"CW{iid:06d}", "type": "Standard",
            "status": {"id": 1 if paid < total else 2, "name": "Sent" if paid < total else "Paid"},
            "company": ref("company", company, "/company/companies", identifier=company["identifier"]),
            "billToCompany": ref("company", company, "/company/companies", identifier=company["identifier"]),
            "currency": dict(company["currency"]), "date": stamp(day), "dueDate": stamp(day + timedelta(days=30)),
            "subtotal": money(subtotal), "salesTax": money(tax), "total": money(total),
            "balance": money(total - paid), "_info": info(updated, updated),
        }
