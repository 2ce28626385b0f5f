"""`cashrail demo` end to end: the sandboxes up, connectors added and activated (the ERP after its
license agreement), every stream synced with counts equal to what the sandboxes serve,
organisations linked, plans billed, cards captured, invoices collected, a decline retried and
one stopped, overdue notices e-mailed and raised as PSA tickets — each matching what the
sandboxes recorded; a Sync Now right after brings back only what the demo wrote into the PSA.
The same demo runs against either PSA (``--psa bms`` or ``--psa connectwise``), each sandbox
serving as many records per stream."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest


def _cashrail(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=600)


#: what each PSA sandbox serves per hub stream for ``--records 200`` (the same for every PSA)
SERVED_FOR_200 = {"organisations": 20, "contacts": 200, "contracts": 20, "tickets": 200, "invoices": 200}


@pytest.mark.parametrize("psa", ["bms", "connectwise"])
def test_demo_syncs_bills_collects_and_notifies_as_the_sandboxes_record_and_a_resync_brings_back_only_its_writes(
    data_dir: Path, prefect_backend: str, psa: str
) -> None:
    env = {**{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))},
           "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    try:
        demo = _cashrail(["demo", "--records", "200", "--psa", psa, "--json"], env)
        assert demo.returncode == 0, demo.stderr[-3000:]
        summary = json.loads(demo.stdout)
        assert summary["matches_sandboxes"] is True
        psa_card, erp = summary["connectors"]["demo-psa"], summary["connectors"]["demo-erp"]
        assert {k: v["served"] for k, v in psa_card["streams"].items()} == SERVED_FOR_200
        assert psa_card["kind"] == psa
        assert set(erp["streams"]) == {"customers", "contacts", "items", "sales_invoices", "sales_orders"}
        for name, item in summary["connectors"].items():
            for stream, counts in item["streams"].items():
                assert counts["served"] > 0, (name, stream)
                assert counts["inserted"] == counts["served"] == counts["in_hub"], (name, stream)
        billing = summary["billing"]
        assert billing["plans"] > 0 and billing["generated"] > 0 and billing["failed"] == 0
        assert billing["posted"] > 0 and billing["one_order_and_invoice_per_action"] is True
        [credit] = billing["credit_notes"]  # a plan unpublished and its last period credited (seed 003)
        assert credit["status"] == "Posted" and credit["matches_erp"] is True and credit["credits_invoice"]
        assert Decimal(credit["credit_memo_amount"]) == Decimal(credit["amount"]) > 0
        # seed 003's lifecycle: a one-month contract renewed for one more month, a firmed plan cancelled
        # with its reason (its ERP order deleted, nothing of it invoiced)
        renewed, cancelled = billing["renewed"], billing["cancelled"]
        assert renewed["status"] == "Published" and renewed["periods_billed"] == 2 and renewed["term_start"]
        assert cancelled["reason"] == "MOVED" and cancelled["erp_orders_deleted"] == 1 and cancelled["failed"] == 0
        # collections: what the hub reports is what the gateway, the mail server and the PSA recorded
        collections = summary["collections"]
        assert [c["card"].split()[-1] for c in collections["cards"]][:3] == ["1111", "0341", "0069"]
        payments, notes = collections["payments"], collections["notifications"]
        assert payments["collected"] > 0 and payments["collected"] == payments["gateway_transactions_approved"]
        assert payments["recorded_in_source_system"] == payments["collected"]
        # every payment posted in the ERP sandbox (its journal empty, the invoices' remaining amount 0)
        # and the hub's invoices Paid without a re-sync
        assert payments["posted_in_erp"] == payments["erp_invoices_paid"] == payments["collected_on_erp_invoices"] > 0
        assert payments["hub_invoices_paid"] == payments["collected"]
        assert payments["erp_journal_lines_unposted"] == 0
        assert payments["declines_retried_and_collected"] >= 1 and payments["declines_stopped_hard"] >= 1
        # PSA invoices exported to the ERP: each bill held twice is charged once, through its ERP copy
        assert payments["bills_held_twice"] > 0 and payments["copies_charged"] == 0
        assert notes["overdue_notices"] > 0 and notes["undelivered"] == 0
        assert notes["emails_sent"] == notes["mail_sandbox_received"] > 0
        assert notes["tickets_raised"] == notes["psa_sandbox_tickets_created"] > 0
        assert {"payment_succeeded", "payment_failed", "retry_scheduled", "new_card_needed",
                "payment_method_added"} <= set(notes["by_type"])
        # issue 20: the posted invoices e-mailed with their image, the plan customers' statements
        assert notes["by_type"]["invoice"] == billing["posted"] and notes["by_type"]["statement"] > 0
        assert collections["matches_sandboxes"] is True
        # seed 001's late-payment penalty: raised once on invoices reaching Overdue 3 this month,
        # each a posted invoice of its amount in the ERP sandbox
        penalties = collections["penalties"]
        assert penalties["raised_on_erp_invoices"] == penalties["posted_in_erp"] == penalties["matching_erp"] > 0
        # the gateway, the hub, the ERP and the PSA agree on every payment right after the demo
        reconciled = _cashrail(["reconcile", "--json"], env)
        assert reconciled.returncode == 0, reconciled.stderr[-3000:]
        assert json.loads(reconciled.stdout) == {"drifts": []}

        # the pay link of one customer opens its invoices in the web app; one character changed, nothing
        _portal_sample_opens_its_customer_only(summary["portal"])

        links = summary["links"]
        assert links["linked"] > 0 and links["unmatched_psa"] + links["unmatched_erp"] > 0
        assert set(links["by_method"]) <= {"identifier", "name", "email_domain"}

        # every link made is one the ERP sandbox meant; its near-duplicates stay ambiguous
        state = json.loads((data_dir / "sandboxes.json").read_text())
        truth = httpx.get(f"{state['business_central']['url']}/_admin/truth", timeout=30,
                          verify=ssl.create_default_context(cafile=str(data_dir / "bc-sandbox-tls" / "ca.pem"))).json()
        listed = _cashrail(["orgs", "links", "--psa", "demo-psa", "--json"], env)
        made = {r["psa_id"]: r["erp_id"] for r in json.loads(listed.stdout) if r["erp_id"]}
        meant = {str(k): v for k, v in truth["links"].items()}
        assert made and all(meant.get(psa_id) == erp_id for psa_id, erp_id in made.items())
        assert len(made) >= 0.9 * len(meant)

        again = _cashrail(["sync", "demo-psa", "--json"], env)
        assert again.returncode == 0, again.stderr[-3000:]
        result = json.loads(again.stdout)
        assert result["connector"] == "demo-psa"
        # what the demo itself wrote into the PSA comes back, and nothing else changed: the
        # notification tickets it raised, and the invoices whose payment it recorded
        streams = result["streams"]
        assert (streams["tickets"]["inserted"], streams["tickets"]["updated"]) == (notes["psa_sandbox_tickets_created"], 0)
        assert streams["invoices"]["inserted"] == 0
        assert streams["invoices"]["updated"] <= payments["recorded_in_source_system"]
        for stream in ("organisations", "contacts", "contracts"):
            assert streams[stream]["inserted"] == 0 and streams[stream]["updated"] == 0, stream
    finally:
        _cashrail(["sandbox", "--stop"], env)


def _portal_sample_opens_its_customer_only(sample: dict[str, object]) -> None:
    from fastapi.testclient import TestClient

    from hub.web import create_app

    client = TestClient(create_app(), base_url="http://testserver")
    path = str(sample["sample_link"]).removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert page.status_code == 200 and str(sample["customer_name"]) in page.text
    assert int(str(sample["open_invoices"])) + int(str(sample["paid_invoices"])) > 0
    changed = path[:-1] + ("A" if path[-1] != "A" else "B")
    spoilt = client.get(changed)
    assert spoilt.status_code in (403, 404) and str(sample["customer_name"]) not in spoilt.text


def test_the_demo_refuses_a_psa_it_does_not_know_naming_the_ones_it_does() -> None:
    from hub.demo.scenario import DemoError, run

    with pytest.raises(DemoError, match="no PSA 'autotask'; choose one of: bms, connectwise"):
        run(10, 1, actor="test", psa="autotask")
