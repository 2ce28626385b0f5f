"""Seeded data of the Business Central sandbox, deterministic from ``(records, seed)``.

Customers are derived from the Kaseya BMS sandbox accounts for the same ``(records, seed)``
(``bms_accounts``), with realistic differences: own numbers (``C00010``...), name variants that
agree after ``normalize_name``, the BMS ``AccountCode`` kept in ``taxRegistrationNumber`` for
~60%, ~5% of accounts missing, ~3% ERP-only customers and a few ambiguous near-duplicates.
``state.truth`` records the intended links so hub matching can be checked.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from connectors.sandbox.bms import data as bms_data

from .data import (
    _LEGAL,
    EMPTY_GUID,
    ENTITY_SETS,
    Record,
    compute_totals,
    credit_memo_record,
    fmt_dt,
    guid,
    invoice_record,
    make_etag,
    make_line,
    money,
    normalize_name,
    order_record,
)

if TYPE_CHECKING:
    from .state import BcState

_SEED_START = datetime(2019, 1, 1, tzinfo=UTC)
_SEED_END = datetime(2025, 12, 31, tzinfo=UTC)
_SEED_SPAN_MS = int((_SEED_END - _SEED_START).total_seconds() * 1000)
_CITIES = (("Atlanta", "GA", "US", "31772"), ("Chicago", "IL", "US", "61236"), ("Miami", "FL", "US", "37125"),
           ("London", "", "GB", "EC1A 1BB"), ("Berlin", "", "DE", "10115"), ("Paris", "", "FR", "75001"),
           ("Madrid", "", "ES", "28001"), ("Oslo", "", "NO", "0150"))
_STREETS = ("Main Street", "High Street", "Market Square", "Station Road", "Park Avenue", "Church Lane")
_ITEM_WORDS = ("ATHENS", "PARIS", "ROME", "LONDON", "BERLIN", "OSLO", "MOSCOW", "TOKYO", "SYDNEY", "AMSTERDAM")
_ITEM_KINDS = (("Desk", "PCS", "Inventory"), ("Chair", "PCS", "Inventory"), ("Monitor", "PCS", "Inventory"),
               ("Consulting hour", "HOUR", "Service"), ("Subscription", "MONTH", "Service"),
               ("Licence", "LICENSE", "Non-Inventory"), ("Cable kit", "PCS", "Inventory"))
_TAX_RATES = (Decimal(0), Decimal(5), Decimal(10), Decimal(20))


@dataclass
class _LocationIds:
    """Stands in for the BMS sandbox state when only its accounts are made."""

    next_location_id: int = 1


def bms_accounts(records: int, seed: int) -> list[Record]:
    """The BMS sandbox accounts for ``(records, seed)``, without generating the other streams.

    Mirrors the first loop of ``connectors.sandbox.bms.data.generate`` (accounts draw first
    from the shared RNG), which a test checks against a full ``bms.SandboxState``.
    """
    bms_data._tables()
    rng = bms_data.Rng(seed)
    stub = _LocationIds()
    span = bms_data._SPAN_SECONDS
    out = []
    for aid in range(1, max(1, records // 10) + 1):
        created = rng.int(0, span)
        out.append(bms_data.make_account(stub, rng, aid, bms_data._at(created),
                                         bms_data._at(rng.int(created, span))))
    return out


def _name_variant(name: str, kind: int) -> str:
    """A display name differing from ``name`` but equal after ``normalize_name``."""
    words = name.split(" ")
    if kind == 1:
        return name.upper()
    if kind == 2:  # "Ltd" -> "Ltd.", "Inc" -> "Inc."
        return " ".join(w + "." if w.lower() in ("ltd", "inc", "corp", "co") else w for w in words)
    if kind == 3:  # drop the legal form
        return " ".join(w for w in words if w.lower() not in _LEGAL)
    if kind == 4:  # add a legal form at the end
        return name + (" Inc." if len(name) % 2 else " Ltd")
    if kind == 5:
        return name.lower()
    return name


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", normalize_name(name)) or "customer"


# --- generation ----------------------------------------------------------------

def _seed_ts(g: random.Random, lo_ms: int = 0, hi_ms: int = _SEED_SPAN_MS) -> str:
    return fmt_dt(_SEED_START + timedelta(milliseconds=g.randint(lo_ms, hi_ms)))


def _customer(state: BcState, g: random.Random, name: str, currency: str, tax_id: str) -> Record:
    state.series["C"] += 10
    city, st, country, postal = g.choice(_CITIES)
    slug = _slug(name)
    rec = {
        "@odata.etag": "", "id": guid(g), "number": f"C{state.series['C']:05d}", "displayName": name,
        "type": "Company", "addressLine1": f"{g.randint(1, 250)} {g.choice(_STREETS)}", "addressLine2": "",
        "city": city, "state": st, "country": country, "postalCode": postal,
        "phoneNumber": f"+1-555-{g.randint(0, 9_999_999):07d}", "email": f"accounts@{slug}.example.com",
        "website": f"www.{slug}.example.com", "salespersonCode": g.choice(("", "JR", "PS")),
        "balanceDue": Decimal("0.00"), "creditLimit": Decimal(g.choice((0, 5000, 10000, 50000))),
        "taxLiable": True, "taxAreaId": EMPTY_GUID, "taxAreaDisplayName": "",
        "taxRegistrationNumber": tax_id, "currencyId": EMPTY_GUID, "currencyCode": currency,
        "paymentTermsId": EMPTY_GUID, "shipmentMethodId": EMPTY_GUID, "paymentMethodId": EMPTY_GUID,
        "blocked": " ", "lastModifiedDateTime": _seed_ts(g), "_taxPercent": g.choice(_TAX_RATES),
    }
    return rec


def generate(state: BcState, g: random.Random) -> None:
    n = state.records_n
    comp = state.company
    customers = comp.sets["customers"]
    truth: Record = {"links": {}, "skipped": [], "erp_only": [], "near_duplicates": [], "code_in_tax_id": []}
    accounts = bms_accounts(n, state.seed)
    n_acc = len(accounts)
    force_skip = n_acc >= 10
    cust_list: list[Record] = []
    for i, acc in enumerate(accounts):
        skip = g.random() < 0.05
        if force_skip and i == n_acc // 2 and not truth["skipped"]:
            skip = True
        if skip:
            truth["skipped"].append(acc["Id"])
            continue
        code_in_tax = g.random() < 0.6
        tax_id = acc["AccountCode"] if code_in_tax else g.choice(("", "", f"VAT{g.randint(10**8, 10**9 - 1)}"))
        name = _name_variant(acc["AccountName"], g.choice((0, 0, 1, 2, 3, 4, 5)))
        c = _customer(state, g, name, acc.get("CurrencyName") or "USD", tax_id)
        cust_list.append(c)
        truth["links"][acc["Id"]] = c["id"]
        if code_in_tax:
            truth["code_in_tax_id"].append(acc["Id"])
        if g.random() < 0.02 or (i == 0 and n_acc >= 5):
            dup = _customer(state, g, _name_variant(acc["AccountName"], g.choice((1, 2, 3, 4, 5))),
                            c["currencyCode"], "")
            dup["blocked"] = g.choice((" ", "All"))
            cust_list.append(dup)
            truth["near_duplicates"].append({"customer_id": dup["id"], "of": c["id"], "bms_account_id": acc["Id"]})
        if g.random() < 0.03 or (i == n_acc - 1 and not truth["erp_only"]):
            w = g.choice(bms_data._WORDS)
            erp = _customer(state, g, f"{w} & Partners {g.choice(('Ltd', 'Inc.', 'LLC'))} #E{len(truth['erp_only']) + 1}",
                            g.choice(("USD", "EUR", "GBP")), g.choice(("", f"VAT{g.randint(10**8, 10**9 - 1)}")))
            cust_list.append(erp)
            truth["erp_only"].append(erp["id"])
    for c in cust_list:
        customers[c["id"]] = c
    state.truth = truth

    # contacts (~2 per customer)
    company_contact: dict[str, str] = {}
    for c in cust_list:
        state.series["CT"] += 1
        company_contact[c["id"]] = f"CT{state.series['CT']:06d}"
    for c in cust_list:
        for _ in range(g.randint(1, 3)):
            state.series["CT"] += 1
            first, last = g.choice(bms_data._FIRST), g.choice(bms_data._LAST)
            rec = {
                "@odata.etag": "", "id": guid(g), "number": f"CT{state.series['CT']:06d}", "type": "Person",
                "displayName": f"{first} {last}", "jobTitle": g.choice(bms_data._TITLES),
                "companyNumber": company_contact[c["id"]], "companyName": c["displayName"],
                "contactBusinessRelation": "Customer", "addressLine1": c["addressLine1"], "addressLine2": "",
                "city": c["city"], "state": c["state"], "country": c["country"], "postalCode": c["postalCode"],
                "phoneNumber": f"+1-555-{g.randint(0, 9_999_999):07d}", "mobilePhoneNumber": "",
                "email": f"{first.lower()}.{last.lower()}@{_slug(c['displayName'])}.example.com",
                "privacyBlocked": False, "taxRegistrationNumber": "", "lastModifiedDateTime": _seed_ts(g),
            }
            comp.sets["contacts"][rec["id"]] = rec

    # items
    items: list[Record] = []
    specs: list[tuple[str, str, str, str]] = [(code, desc, "HOUR" if code == "LAB-HR" else "PCS",
                                                "Service" if code.startswith(("MSP", "LAB", "BKP")) else "Inventory")
                                               for code, desc in bms_data._ITEMS]
    for i in range(50 + n // 100 - len(specs)):
        kind, uom, typ = g.choice(_ITEM_KINDS)
        specs.append((f"{1000 + i}", f"{g.choice(_ITEM_WORDS)} {kind}", uom, typ))
    for number, desc, uom, typ in specs:
        price = Decimal(g.randint(500, 200_000)) / 100
        items.append({
            "@odata.etag": "", "id": guid(g), "number": number, "displayName": desc, "displayName2": "",
            "type": typ, "itemCategoryId": EMPTY_GUID, "itemCategoryCode": "", "blocked": False, "gtin": "",
            "inventory": Decimal(g.randint(0, 500)) if typ == "Inventory" else Decimal(0),
            "unitPrice": price, "priceIncludesTax": False, "unitCost": money(price * Decimal("0.6")),
            "taxGroupCode": "TAXABLE", "generalProductPostingGroupCode": "RETAIL",
            "inventoryPostingGroupCode": "RESALE" if typ == "Inventory" else "",
            "baseUnitOfMeasureId": EMPTY_GUID, "baseUnitOfMeasureCode": uom,
            # the Item Unit of Measure table: a service is also sold per user and per month
            "_units": [uom, "MONTH", "USER"] if typ == "Service" else [uom],
            "lastModifiedDateTime": _seed_ts(g),
        })
    for it in items:
        comp.sets["items"][it["id"]] = it

    def add_lines(doc: Record) -> None:
        for k in range(g.randint(1, 3)):
            it = g.choice(items)
            qty = Decimal(g.randint(1, 40)) / (2 if it["baseUnitOfMeasureCode"] == "HOUR" else 1)
            pct = Decimal(g.choice((0, 0, 0, 5, 10)))
            doc["_lines"].append(make_line(state, doc, "Item", (k + 1) * 10000, it, qty, it["unitPrice"], pct,
                                           None, guid(g)))
        compute_totals(doc)

    # posted invoices (~N), numbered in invoice-date order
    last_day = (_SEED_END - timedelta(days=5)).date()
    first_day = _SEED_START.date()
    drafts = []
    for _ in range(n):
        cust = g.choice(cust_list)
        d = first_day + timedelta(days=g.randint(0, (last_day - first_day).days))
        drafts.append((d.isoformat(), cust, g.random(), g.random(), guid(g)))
    drafts.sort(key=lambda x: x[0])
    for day, cust, r1, r2, iid in drafts:
        inv = invoice_record(iid, state.next_number("PSI"), cust, day, "Open", "",
                             external=f"PO-{g.randint(10000, 99999)}" if r2 < 0.3 else "")
        add_lines(inv)
        total = inv["totalAmountIncludingTax"]
        age = (_SEED_END.date() - date.fromisoformat(day)).days
        if r1 < (0.9 if age > 60 else 0.3):
            inv["status"], inv["remainingAmount"] = "Paid", Decimal("0.00")
        else:
            inv["remainingAmount"] = total if r1 < 0.95 else money(total / 2)
            cust["balanceDue"] += inv["remainingAmount"]
        posted = datetime.fromisoformat(day).replace(tzinfo=UTC)
        lo = int((posted - _SEED_START).total_seconds() * 1000)
        inv["lastModifiedDateTime"] = _seed_ts(g, lo, min(_SEED_SPAN_MS, lo + 90 * 86_400_000))
        comp.sets["salesInvoices"][iid] = inv

    # a few open sales orders
    open_custs = [c for c in cust_list if c["blocked"] == " "]
    for _ in range(max(3, n // 50)):
        cust = g.choice(open_custs)
        ordered = (_SEED_END - timedelta(days=g.randint(0, 40))).date().isoformat()
        order = order_record(guid(g), state.next_number("SO"), cust, ordered, "",
                             status=g.choice(("Draft", "Open")),
                             external=f"PO-{g.randint(10000, 99999)}" if g.random() < 0.5 else "")
        add_lines(order)
        lo = int((datetime.fromisoformat(ordered).replace(tzinfo=UTC) - _SEED_START).total_seconds() * 1000)
        order["lastModifiedDateTime"] = _seed_ts(g, lo, _SEED_SPAN_MS)
        comp.sets["salesOrders"][order["id"]] = order

    # a few posted credit memos, each crediting one paid invoice in full (their own random stream, so
    # adding them changed none of the records above)
    cg = random.Random(g.random())
    paid = [i for i in comp.sets["salesInvoices"].values() if i["status"] == "Paid"]
    for inv in cg.sample(paid, min(len(paid), max(2, n // 200))):
        cust = comp.sets["customers"][inv["customerId"]]
        memo = credit_memo_record(guid(cg), state.next_number("PSCM"), cust, inv["postingDate"], "Paid",
                                  inv["lastModifiedDateTime"], invoice=inv)
        for li in inv["_lines"]:
            item = comp.sets["items"].get(li["itemId"])
            memo["_lines"].append(make_line(state, memo, "Item", li["sequence"], item, li["quantity"],
                                            li["unitPrice"], li["discountPercent"], li["description"], guid(cg)))
        compute_totals(memo)
        comp.sets["salesCreditMemos"][memo["id"]] = memo

    # etags in a fixed order, newest stamp
    for s in ENTITY_SETS:
        for rec in comp.sets[s].values():
            state.version += 1
            rec["@odata.etag"] = make_etag(rec["id"], state.version)
            if rec.get("lastModifiedDateTime", "") > state.latest:
                state.latest = rec["lastModifiedDateTime"]
