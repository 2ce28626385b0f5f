"""``cashrail demo``: runs the demo scenario (:mod:`hub.demo.scenario`) and prints its report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.common import OneJsonOption, cli_actor, counts_table, err, out, print_json, run_sync


def demo_command(
    records: Annotated[int, typer.Option(help="Records per large stream in the sandboxes")] = 1000,
    seed: Annotated[int, typer.Option(help="Sandbox data seed")] = 42,
    psa: Annotated[str, typer.Option(help="The PSA to run against: bms or connectwise")] = "bms",
    as_json: OneJsonOption = False,
) -> None:
    """Start the PSA and ERP sandboxes, add and activate their connectors, sync both, link organisations."""
    from hub.demo import scenario

    def log(message: str) -> None:
        if not as_json:
            err.print(message, highlight=False)

    def sync(name: str, environment: str) -> dict[str, Any]:
        return run_sync(name, environment, full=False, show_progress=not as_json)

    report = scenario.run(records, seed, actor=cli_actor(), psa=psa, log=log, sync=sync)
    if as_json:
        print_json(report)
    else:
        _print_summary(report)
    if not report["matches_sandboxes"]:
        raise typer.Exit(1)


def _print_summary(report: dict[str, Any]) -> None:
    for name, item in report["connectors"].items():
        extra = {k: {"served": v["served"], "in hub": v["in_hub"]} for k, v in item["streams"].items()}
        out.print(counts_table(item["streams"], f"Demo sync of {name} ({item['kind']}, sandbox)", extra))
    out.print("[green]The hub matches the sandboxes.[/green]" if report["matches_sandboxes"]
              else "[red]The hub does NOT match the sandboxes.[/red]")
    links = report["links"]
    out.print(f"Organisation links: {links['linked']} linked {links['by_method']}, {links['ambiguous']} ambiguous, "
              f"{links['unmatched_psa']} PSA and {links['unmatched_erp']} ERP organisations unmatched "
              f"(see: cashrail orgs links --psa demo-psa).")
    b = report["billing"]
    out.print(f"Billing: {b['plans']} plans, {b['generated']} actions generated, {b['firmed']} firmed into ERP "
              f"sales orders, {b['posted']} posted as ERP invoices"
              + (" — one order and one invoice per action." if b["one_order_and_invoice_per_action"] else "."))
    for credit in b.get("credit_notes", []):
        out.print(f"Credit note {credit['key']}: {credit['amount']} {credit['currency']} — ERP credit memo "
                  f"{credit['credit_memo']} of {credit['credit_memo_amount']} applied to invoice "
                  f"{credit['credits_invoice']}" + (" (equal to the cent)." if credit["matches_erp"] else " (MISMATCH)."))
    c = report["collections"]
    p, n = c["payments"], c["notifications"]
    out.print("Cards captured through the gateway's card page: "
              + "; ".join(f"{x['customer']} ({x['card']}: {x['behaviour']})" for x in c["cards"]) + ".")
    out.print(f"Collections: {p['collected']} payments collected {p['amount_by_currency']} "
              f"({p['gateway_transactions_approved']} approved at the gateway, {p['recorded_in_source_system']} "
              f"recorded in the ERP/PSA); {p['declines']} declines: {p['declines_retried_and_collected']} "
              f"retried and collected, {p['declines_stopped_hard']} stopped (new card needed).")
    out.print(f"Notifications: {n['overdue_notices']} overdue notices among {sum(n['by_type'].values())} "
              f"notifications; {n['emails_sent']} e-mails sent ({n['mail_sandbox_received']} received by the mail "
              f"sandbox), {n['tickets_raised']} tickets raised ({n['psa_sandbox_tickets_created']} created in the "
              f"PSA sandbox).")
    if report.get("portal", {}).get("sample_link"):
        out.print(f"Customer portal of customer {report['portal']['customer']} (open it while `cashrail serve` runs): "
                  f"{report['portal']['sample_link']}", highlight=False, soft_wrap=True)
    out.print("The sandboxes keep running. Try: cashrail sync demo-psa; cashrail actions list; cashrail collect "
              "unpaid; cashrail notifications list   (their URLs and credentials: cashrail sandbox --running; "
              "stop them: cashrail sandbox --stop)")
