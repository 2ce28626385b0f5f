"""``cashrail orgs``: organisation links between a PSA and an ERP connector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from hub.cli.common import BareJsonOption, EnvOption, Table, cli_session, out, print_json, safe

orgs_app = typer.Typer(help="Organisation links between a PSA and an ERP connector.", no_args_is_help=True)

PsaOption = Annotated[str, typer.Option("--psa", help="PSA connector name")]
ErpOption = Annotated[str, typer.Option("--erp", help="ERP connector name")]


@orgs_app.command("relink")
def orgs_relink(psa: PsaOption, erp: ErpOption, env: EnvOption = None, as_json: BareJsonOption = False) -> None:
    """Propose links from synced data (tax id/code, name, e-mail domain); manual links stay."""
    from hub.sync import links

    with cli_session(env) as s:
        summary = links.relink(s, psa, erp)
    if as_json:
        print_json(summary.as_dict())
        return
    out.print(f"Linked {summary.linked} organisations: {summary.by_method}")
    for item in summary.ambiguous:
        out.print(f"  ambiguous: {safe(item['psa'])} ({item['psa_id']}) -> {safe(_candidates(item))}", highlight=False)
    out.print(f"Unmatched: {len(summary.unmatched_psa)} in {psa}, {len(summary.unmatched_erp)} in {erp}")


def _candidates(item: Mapping[str, Any]) -> str:
    """The ERP customers an ambiguous PSA organisation could be (each a name and an ERP id)."""
    return ", ".join(f"{c['name']} ({c['erp_id']})" for c in item["candidates"])


@orgs_app.command("links")
def orgs_links(psa: PsaOption, env: EnvOption = None, as_json: BareJsonOption = False) -> None:
    """List the PSA connector's organisations with their ERP customer and how they were linked."""
    from hub.sync import links

    with cli_session(env) as s:
        rows = links.list_links(s, psa)
    if as_json:
        print_json(rows)
        return
    table = Table("psa id", "organisation", "erp id", "erp customer", "method", title=f"Links of {psa}")
    for r in rows:
        table.add_row(str(r["psa_id"]), str(r["psa"]), str(r["erp_id"] or ""), str(r["erp"] or "—"), str(r["method"] or ""))
    out.print(table)


@orgs_app.command("link")
def orgs_link(psa: PsaOption, psa_id: Annotated[str, typer.Option("--psa-id")], erp: ErpOption,
              erp_id: Annotated[str, typer.Option("--erp-id")], env: EnvOption = None) -> None:
    """Link a PSA organisation to an ERP customer by hand (replaces their links)."""
    from hub.sync import links

    with cli_session(env) as s:
        links.link(s, psa, psa_id, erp, erp_id)
    out.print(f"Linked {psa}:{psa_id} with {erp}:{erp_id}.")


@orgs_app.command("unlink")
def orgs_unlink(psa: PsaOption, psa_id: Annotated[str, typer.Option("--psa-id")], env: EnvOption = None) -> None:
    """Remove a PSA organisation's link."""
    from hub.sync import links

    with cli_session(env) as s:
        links.unlink(s, psa, psa_id)
    out.print(f"Unlinked {psa}:{psa_id}.")
