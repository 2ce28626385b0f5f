"""The linking review page: proposed links and ambiguous matches with their evidence; accept,
reject or relink one or many; search the other side to link by hand (issue 23)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.sync import cards, link_review, links
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, redirect
from hub.web.schemas import Opt

router = APIRouter(default_response_class=HTMLResponse)
WRITE = needs("Connectors", "Update")


@router.get("/links")
def links_page(request: Request, actor: CurrentActor, q: Opt[str] = None,
               page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
               org: Annotated[Opt[int], Query()] = None, find: Opt[str] = None) -> Response:
    with actor.session() as s:
        view = link_review.review(s, q=q, page=page_no)
        found = link_review.other_side(s, org, find or "") if org is not None else []
        roles = {c.name: cards.role(c) for c in cards.all_cards(s)}
    return page(request, actor, "links.html", view=view, q=q or "", org=org, find=find or "", found=found,
                psa_cards=[n for n, r in roles.items() if r == "psa"], erp_cards=[n for n, r in roles.items() if r == "erp"])


def _pairs(ids: list[str]) -> list[link_review.Pair]:
    return [link_review.Pair.parse(i) for i in ids]


@router.post("/links/accept", openapi_extra=WRITE)
def links_accept(actor: CurrentActor, ids: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006
    n = actor.call(link_review.accept, _pairs(ids), by=actor.email)
    return redirect("/links", "ok", f"Accepted {n} link{'s' * (n != 1)}.")


@router.post("/links/reject", openapi_extra=WRITE)
def links_reject(actor: CurrentActor, ids: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006
    n = actor.call(link_review.reject, _pairs(ids), by=actor.email)
    return redirect("/links", "ok", f"Rejected {n} link{'s' * (n != 1)}: the rules will not propose {'them' if n != 1 else 'it'} again.")


@router.post("/links/link", openapi_extra=WRITE)
def links_link(actor: CurrentActor, pair: Annotated[str, Form()]) -> Response:
    made = actor.call(link_review.link_by_hand, link_review.Pair.parse(pair), by=actor.email)
    return redirect(f"/customers/{made.psa_organisation_id}", "ok", "Linked.")


@router.post("/links/relink", openapi_extra=WRITE)
def links_relink(actor: CurrentActor, psa: Annotated[str, Form()], erp: Annotated[str, Form()]) -> Response:
    summary = actor.call(links.relink, psa, erp)
    return redirect("/links", "ok", f"Rules re-run between {psa} and {erp}: {summary.linked} linked, "
                                    f"{len(summary.ambiguous)} ambiguous, {len(summary.unmatched_psa)} PSA organisations "
                                    "without a match.")
