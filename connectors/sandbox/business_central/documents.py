"""Sales documents in the BC sandbox: deep-insert create, PATCH and DELETE of headers, and their lines."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .data import (
    CURRENCY_CODES,
    EMPTY_GUID,
    LINE_SETS,
    Record,
    compute_totals,
    credit_memo_record,
    dec,
    invoice_record,
    make_line,
    order_record,
    public,
)
from .reading import BcApiBase
from .state import Company
from .wire import Ctx, Resp, bad

KNOWN_CURRENCIES = {"", *CURRENCY_CODES}  # blank: the local currency
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DocumentsApi(BcApiBase):
    """Sales orders, invoices and credit memos: validated deep inserts, header and line edits."""

    def _applies_to(self, company: Company, doc: Record, body: Record) -> None:
        """A credit memo applied to one of the customer's posted invoices (invoiceId or invoiceNumber)."""
        invoices = company.sets["salesInvoices"]
        if body.get("invoiceId") not in (None, "", EMPTY_GUID):
            inv = invoices.get(str(body["invoiceId"]).lower())
            if inv is None:
                raise bad(f"invoiceId: The sales invoice with id '{body['invoiceId']}' does not exist.")
        elif body.get("invoiceNumber") not in (None, ""):
            inv = next((i for i in invoices.values() if i["number"] == body["invoiceNumber"]), None)
            if inv is None:
                raise bad(f"invoiceNumber: The field Applies-to Doc. No. contains a value "
                          f"({body['invoiceNumber']}) that cannot be found in the related table.")
        else:
            doc["invoiceId"], doc["invoiceNumber"] = EMPTY_GUID, ""
            return
        if inv["status"] == "Draft":
            raise bad(f"invoiceId: Sales invoice {inv['number']} is not posted; a credit memo applies to a "
                      "posted invoice.")
        if inv["customerId"] != doc["customerId"]:
            raise bad(f"invoiceId: Sales invoice {inv['number']} belongs to another customer.")
        doc["invoiceId"], doc["invoiceNumber"] = inv["id"], inv["number"]

    def _header_fields(self, doc: Record, body: Record, kind: str, creating: bool, company: Company) -> None:
        date_fields = {"salesOrders": ("orderDate", "postingDate"),
                       "salesInvoices": ("invoiceDate", "postingDate", "dueDate"),
                       "salesCreditMemos": ("creditMemoDate", "postingDate", "dueDate")}[kind]
        for f in date_fields:
            if f in body:
                v = body[f]
                if not isinstance(v, str) or not _DATE.match(v):
                    raise bad(f"{f}: Cannot convert the literal '{v}' to the expected type 'Edm.Date'.")
                try:
                    date.fromisoformat(v)
                except ValueError:
                    raise bad(f"{f}: '{v}' is not a valid date.") from None
                doc[f] = v
        if "externalDocumentNumber" in body:
            v = body["externalDocumentNumber"]
            if not isinstance(v, str):
                raise bad("externalDocumentNumber: must be a string.")
            if len(v) > 35:
                raise bad(f"externalDocumentNumber: The length of the string is {len(v)}, but it must be "
                          "less than or equal to 35 characters.")
            doc["externalDocumentNumber"] = v
        if "customerPurchaseOrderReference" in body and kind == "salesInvoices":
            doc["customerPurchaseOrderReference"] = str(body["customerPurchaseOrderReference"])[:35]
        if "currencyCode" in body:
            v = body["currencyCode"]
            if not isinstance(v, str) or v.upper() not in KNOWN_CURRENCIES:
                raise bad(f"currencyCode: The field Currency Code of table Sales Header contains a value "
                          f"({v}) that cannot be found in the related table (Currency).")
            doc["currencyCode"] = v.upper()
        if kind == "salesInvoices" and "dueDate" not in body and "invoiceDate" in body:
            doc["dueDate"] = (date.fromisoformat(doc["invoiceDate"]) + timedelta(days=30)).isoformat()
        if kind == "salesCreditMemos" and "creditMemoDate" in body:
            doc["postingDate"] = body.get("postingDate", doc["creditMemoDate"])
            doc["dueDate"] = body.get("dueDate", doc["creditMemoDate"])
        if kind == "salesCreditMemos" and ("invoiceId" in body or "invoiceNumber" in body):
            self._applies_to(company, doc, body)

    _HEADER_WRITABLE = {
        "salesOrders": {"customerId", "customerNumber", "externalDocumentNumber", "orderDate", "postingDate",
                        "currencyCode"},
        "salesInvoices": {"customerId", "customerNumber", "externalDocumentNumber", "invoiceDate", "postingDate",
                          "dueDate", "currencyCode", "customerPurchaseOrderReference"},
        "salesCreditMemos": {"customerId", "customerNumber", "externalDocumentNumber", "creditMemoDate",
                             "postingDate", "dueDate", "currencyCode", "invoiceId", "invoiceNumber"},
    }
    _LINE_WRITABLE = {"lineType", "lineObjectNumber", "itemId", "description", "quantity", "unitPrice",
                      "discountAmount", "discountPercent", "sequence", "unitOfMeasureCode"}

    def _build_line(self, company: Company, doc: Record, raw: Any, seq: int, idx: int, line_set: str) -> Record:
        where = f"{line_set}[{idx}]"
        if not isinstance(raw, dict):
            raise bad(f"{where}: each line must be a JSON object.")
        self._unknown(raw, self._LINE_WRITABLE, self.fields[line_set], line_set[:-1])
        kind = raw.get("lineType", "Item")
        if kind not in ("Item", "Comment"):
            raise bad(f"{where}.lineType: '{kind}' is not supported (use 'Item' or 'Comment').")
        item = None
        if kind == "Item":
            items = company.sets["items"]
            if raw.get("itemId") not in (None, "", EMPTY_GUID):
                item = items.get(str(raw["itemId"]).lower())
                if item is None:
                    raise bad(f"{where}.itemId: The item with id '{raw['itemId']}' does not exist.")
            elif raw.get("lineObjectNumber") not in (None, ""):
                number = raw["lineObjectNumber"]
                item = next((i for i in items.values() if i["number"] == number), None)
                if item is None:
                    raise bad(f"{where}.lineObjectNumber: The field No. of table Sales Line contains a value "
                              f"({number}) that cannot be found in the related table (Item).")
            else:
                raise bad(f"{where}.lineObjectNumber: You must specify lineObjectNumber or itemId for an Item line.")
            if item["blocked"]:
                raise bad(f"{where}.lineObjectNumber: Item {item['number']} is blocked.")

        def num(name: str, default: Decimal | None, hi: Decimal | None = None) -> Decimal | None:
            if name not in raw or raw[name] is None:
                return default
            try:
                v = dec(raw[name])
            except (ValueError, ArithmeticError):
                raise bad(f"{where}.{name}: Cannot convert '{raw[name]}' to a decimal.") from None
            if v < 0 or (hi is not None and v > hi):
                raise bad(f"{where}.{name}: The value {raw[name]} is out of range.")
            return v

        qty = num("quantity", Decimal(0)) or Decimal(0)
        price = num("unitPrice", item["unitPrice"] if item else Decimal(0)) or Decimal(0)
        pct = num("discountPercent", None, Decimal(100))
        amount = num("discountAmount", None)
        unit = raw.get("unitOfMeasureCode")
        if unit not in (None, ""):
            units = item.get("_units", [item["baseUnitOfMeasureCode"]]) if item else []
            if not isinstance(unit, str) or unit.upper() not in units:
                raise bad(f"{where}.unitOfMeasureCode: The field Unit of Measure Code of table Sales Line contains "
                          f"a value ({unit}) that cannot be found in the related table (Item Unit of Measure).")
            unit = unit.upper()
        if "sequence" in raw:
            try:
                seq = int(raw["sequence"])
            except (TypeError, ValueError):
                raise bad(f"{where}.sequence: must be an integer.") from None
        desc = raw.get("description")
        if desc is not None and not isinstance(desc, str):
            raise bad(f"{where}.description: must be a string.")
        try:
            return make_line(self.state, doc, kind, seq, item, qty, price, pct, desc, self.state.new_id(),
                             discount_amount=amount, unit=unit or None)
        except ValueError as exc:
            raise bad(f"{where}.discountAmount: {exc}") from None

    def build_document(self, company: Company, kind: str, body: Record) -> Record:
        """Validate a deep-insert body and build (not store) a Draft order / invoice."""
        st = self.state
        line_set = LINE_SETS[kind]
        self._unknown(body, self._HEADER_WRITABLE[kind] | {line_set}, self.fields[kind], kind[:-1])
        cust = self._customer(company, body)
        if cust is None:
            raise bad("customerNumber: You must specify a customer (customerId or customerNumber).")
        today = st.today()
        if kind == "salesOrders":
            doc = order_record(st.new_id(), "", cust, today, "")
        elif kind == "salesCreditMemos":
            doc = credit_memo_record(st.new_id(), "", cust, today, "Draft", "")
        else:
            doc = invoice_record(st.new_id(), "", cust, today, "Draft", "")
        self._header_fields(doc, body, kind, True, company)
        raw_lines = body.get(line_set) or []
        if not isinstance(raw_lines, list):
            raise bad(f"{line_set}: must be an array.")
        doc["_lines"] = [self._build_line(company, doc, raw, (i + 1) * 10000, i, line_set)
                         for i, raw in enumerate(raw_lines)]
        compute_totals(doc)
        return doc

    def create_document(self, ctx: Ctx, company: Company, kind: str, body: bytes, query: dict[str, str]) -> Resp:
        st = self.state
        data = self._json(body)
        doc = self.build_document(company, kind, data)
        with st.lock:
            doc["number"] = st.next_number({"salesOrders": "SO", "salesInvoices": "SI",
                                            "salesCreditMemos": "SCM"}[kind])
            st.touch(doc)
            company.sets[kind][doc["id"]] = doc
            st.stats.documents_created[kind] += 1
        loc = f"{ctx.base}/companies({company.id})/{kind}({doc['id']})"
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/{kind}/$entity",
                          **self.shape(doc, {"$expand": query.get("$expand", "")}, kind)},
                    {"Location": loc, "ETag": doc["@odata.etag"]})

    def _editable(self, kind: str, doc: Record) -> None:
        if kind == "salesInvoices" and doc["status"] != "Draft":
            raise bad(f"You cannot modify posted sales invoice {doc['number']}.")
        if kind == "salesCreditMemos" and doc["status"] != "Draft":
            raise bad(f"You cannot modify posted sales credit memo {doc['number']}.")

    def patch_document(self, ctx: Ctx, company: Company, kind: str, doc: Record, headers: dict[str, str],
                       body: bytes, query: dict[str, str]) -> Resp:
        st = self.state
        data = self._json(body)
        with st.lock:
            self._check_etag(doc, headers)
            self._editable(kind, doc)
            if LINE_SETS[kind] in data:
                raise bad(f"{LINE_SETS[kind]}: lines cannot be changed with PATCH on the header; use the "
                          "line endpoints.")
            self._unknown(data, self._HEADER_WRITABLE[kind], self.fields[kind], kind[:-1])
            new = dict(doc)
            cust = self._customer(company, data)
            if cust is not None and cust["id"] != doc["customerId"]:
                new.update({"customerId": cust["id"], "customerNumber": cust["number"],
                            "customerName": cust["displayName"], "billToName": cust["displayName"],
                            "currencyCode": cust["currencyCode"]})
            self._header_fields(new, data, kind, False, company)
            doc.update(new)
            st.touch(doc)
        return Resp(200, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/{kind}/$entity",
                          **self.shape(doc, {"$expand": query.get("$expand", "")}, kind)},
                    {"ETag": doc["@odata.etag"]})

    def delete_document(self, company: Company, kind: str, doc: Record, headers: dict[str, str]) -> Resp:
        st = self.state
        with st.lock:
            self._check_etag(doc, headers)
            if kind in ("salesInvoices", "salesCreditMemos") and doc["status"] != "Draft":
                raise bad(f"You cannot delete posted document {doc['number']}.")
            del company.sets[kind][doc["id"]]
            st.version += 1
        return Resp(204)

    def add_line(self, company: Company, kind: str, doc: Record, body: bytes) -> Resp:
        st = self.state
        data = self._json(body)
        with st.lock:
            self._editable(kind, doc)
            seq = max((li["sequence"] for li in doc["_lines"]), default=0) + 10000
            line = self._build_line(company, doc, data, seq, len(doc["_lines"]), LINE_SETS[kind])
            doc["_lines"].append(line)
            compute_totals(doc)
            st.touch(doc)
        return Resp(201, public(line), {"ETag": line["@odata.etag"]})

    def change_line(self, company: Company, kind: str, doc: Record, line: Record, method: str,
                    headers: dict[str, str], body: bytes) -> Resp:
        st = self.state
        data = self._json(body) if method == "PATCH" else {}
        with st.lock:
            self._check_etag(line, headers)
            self._editable(kind, doc)
            if method == "DELETE":
                doc["_lines"].remove(line)
            else:
                merged = {k: line[k] for k in ("lineType", "lineObjectNumber", "description", "quantity",
                                               "unitPrice", "discountPercent", "sequence", "unitOfMeasureCode")}
                if "discountAmount" in data and "discountPercent" not in data:
                    merged.pop("discountPercent")  # a new amount recomputes the percent, as in BC
                merged.update(data)
                if "lineObjectNumber" in data or "itemId" in data:
                    if "lineObjectNumber" not in data:
                        merged.pop("lineObjectNumber")
                    if "unitPrice" not in data:
                        merged.pop("unitPrice")
                new = self._build_line(company, doc, merged, line["sequence"], doc["_lines"].index(line),
                                       LINE_SETS[kind])
                new["id"] = line["id"]
                line.clear()
                line.update(new)
            compute_totals(doc)
            st.touch(doc)
        return Resp(204) if method == "DELETE" else Resp(200, public(line), {"ETag": line["@odata.etag"]})
