"""General journal lines (``journals({id})/journalLines``) in the BC sandbox's journal batches.

A journal line moves money on an account without applying to any document: a Customer line with a
positive amount debits the customer (its balance rises: what a returned payment's reversing entry
does), a negative one credits it. Like Business Central, creating a line changes nothing; posting
the batch (``journals({id})/Microsoft.NAV.post``, in ``journals.py``) posts it together with the
batch's customer payment lines, and an invoice the reversed payment had closed stays closed: the
API has no unapply, so what the customer owes again sits on the customer's open debit entry.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .data import EMPTY_GUID, Record, dec
from .reading import BcApiBase
from .state import Company
from .wire import BcError, Ctx, Resp, bad

#: G/L accounts a posted line moves money between (CRONUS-like numbers)
BANK_ACCOUNT, RECEIVABLES_ACCOUNT = "10200", "13100"
#: account types API v2.0 names; the sandbox posts Customer lines (others are refused, saying so)
ACCOUNT_TYPES = ("G/L Account", "Customer", "Vendor", "Bank Account", "Fixed Asset", "IC Partner", "Employee")
WRITABLE = {"lineNumber", "accountType", "accountId", "accountNumber", "postingDate", "documentNumber",
            "externalDocumentNumber", "amount", "description", "comment"}


class JournalLinesApi(BcApiBase):
    """``journals({id})/journalLines``: list, read, create; posted with their batch."""

    def journal_lines_call(self, ctx: Ctx, company: Company, journal: Record, method: str, key: str | None,
                           query: dict[str, str], body: bytes) -> Resp:
        self.authorize(ctx, "journalLines", "read" if method == "GET" else "write", method)
        lines = [line for line in company.journal_lines.values() if line["journalId"] == journal["id"]]
        if key is not None:
            found = next((line for line in lines if line["id"] == key.lower()), None)
            if found is None or method != "GET":
                raise BcError(404 if found is None else 405, "BadRequest_NotFound" if found is None else
                              "BadRequest_MethodNotAllowed", f"The journal line '{key}' does not exist."
                              if found is None else f"'{method}' is not supported.")
            return Resp(200, self.shape(found, query, "journalLines"))
        if method == "GET":
            return self.list_view(ctx, None, lines, f"companies({company.id})/journals({journal['id']})/journalLines",
                                  query, {}, "journalLines", order=["lineNumber"])
        if method != "POST":
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'journalLines'.")
        return self.create_journal_line(ctx, company, journal, self._json(body))

    def create_journal_line(self, ctx: Ctx, company: Company, journal: Record, data: Record) -> Resp:
        st = self.state
        self._unknown(data, WRITABLE, self.fields["journalLines"], "journalLine")
        kind = str(data.get("accountType") or "G/L Account")
        if kind not in ACCOUNT_TYPES:
            raise bad(f"accountType: '{kind}' is not a valid option (one of {', '.join(ACCOUNT_TYPES)}).")
        if kind != "Customer":
            raise bad(f"accountType: the sandbox posts Customer journal lines only, not '{kind}'.")
        for name in ("documentNumber", "externalDocumentNumber"):
            if len(str(data.get(name) or "")) > 20:
                raise bad(f"{name}: The length of the string is {len(str(data[name]))}, but it must be less "
                          "than or equal to 20 characters.")
        customers = company.sets["customers"]
        cust = customers.get(str(data.get("accountId") or "").lower()) or next(
            (c for c in customers.values() if c["number"] == data.get("accountNumber")), None)
        if cust is None:
            raise bad("accountId: The customer the journal line is posted to does not exist.")
        try:
            amount = dec(data.get("amount"))
        except (ValueError, ArithmeticError):
            raise bad("amount: must be a number.") from None
        posting = str(data.get("postingDate") or st.today())
        try:
            date.fromisoformat(posting)
        except ValueError:
            raise bad(f"postingDate: '{posting}' is not a valid date.") from None
        with st.lock:
            lid = st.new_id()
            line = {"id": lid, "journalId": journal["id"], "journalDisplayName": journal["code"],
                    "lineNumber": next_line_number(company, journal["id"]), "accountType": "Customer",
                    "accountId": cust["id"], "accountNumber": cust["number"], "postingDate": posting,
                    "documentNumber": str(data.get("documentNumber") or ""),
                    "externalDocumentNumber": str(data.get("externalDocumentNumber") or ""), "amount": amount,
                    "description": str(data.get("description") or "")[:100], "comment": str(data.get("comment") or ""),
                    "balanceAccountType": "G/L Account", "balancingAccountId": EMPTY_GUID,
                    "balancingAccountNumber": "", "lastModifiedDateTime": ""}
            st.touch(line)
            company.journal_lines[lid] = line
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/journals({journal['id']})"
                                            "/journalLines/$entity", **self.shape(line, {}, "journalLines")},
                    {"ETag": line["@odata.etag"]})


def next_line_number(company: Company, journal_id: str) -> int:
    """Payment lines and journal lines of a batch share one numbering (they are one table in BC)."""
    used = [p["lineNumber"] for p in company.payments.values() if p["journalId"] == journal_id]
    used += [j["lineNumber"] for j in company.journal_lines.values() if j["journalId"] == journal_id]
    return max(used, default=0) + 10000


def post_journal_line(company: Company, line: Record) -> list[tuple[str, Decimal, Decimal]]:
    """What posting a Customer line does to the customer; the (account, debit, credit) G/L lines it makes."""
    amount = line["amount"]
    cust = company.sets["customers"].get(line["accountId"])
    if cust is not None:
        cust["balanceDue"] += amount  # a flowfield: the customer is not re-stamped
    debit, credit = (amount, Decimal(0)) if amount > 0 else (Decimal(0), -amount)
    return [(RECEIVABLES_ACCOUNT, debit, credit), (BANK_ACCOUNT, credit, debit)]
