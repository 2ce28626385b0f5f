"""The customer-document flows (issue 20): the invoice e-mails and the monthly statement run.
Orchestration only: the rules and the outbox are in ``hub.documents``.

``pay_link`` is the portal's (``hub.portal``, a separate branch of issue 20): until it is merged
here, the e-mails leave the pay link out; wiring it is :data:`PAY_LINK`."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from hub.documents import mailing
from hub.platform.redact import scrub_rows

#: the customers' pay link for the e-mails (None until the portal provides ``pay_link``)
PAY_LINK: mailing.PayLink | None = None


def _artifact(key: str, report: dict[str, Any], what: str) -> None:
    rows = [{"result": "enqueued", **r} for r in report["enqueued"]] + [{"result": "failed", **r}
                                                                         for r in report["failed"]]
    create_table_artifact(key=key, table=scrub_rows(rows or [{"result": f"(no {what} due)"}]),
                          description="Another run was under way: nothing done" if report["busy"] else
                          f"{len(report['enqueued'])} {what} enqueued, {len(report['failed'])} to retry")


@flow(name="invoice-emails", flow_run_name="invoice-emails-{environment}")
def invoice_emails(environment: str = "sandbox") -> dict[str, Any]:
    """Enqueue each due invoice e-mail once, its image attached (the delivery flow sends it)."""
    report = mailing.send_invoice_emails(environment, pay_link=PAY_LINK).as_dict()
    _artifact(f"invoice-emails-{environment}", report, "invoice e-mails")
    return report


@flow(name="statements", flow_run_name="statements-{environment}")
def statements(environment: str = "sandbox", as_of: date | None = None,
               organisation_ids: list[int] | None = None) -> dict[str, Any]:
    """Enqueue every customer's statement (or ``organisation_ids``') as of ``as_of`` (default: the
    last day of last month), once."""
    report = mailing.send_statements(environment, as_of or mailing.last_month_end(date.today()),
                                     pay_link=PAY_LINK, organisation_ids=organisation_ids).as_dict()
    _artifact(f"statements-{environment}", report, "statements")
    return report
