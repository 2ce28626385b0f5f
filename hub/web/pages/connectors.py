"""Connector cards (seed 002/003): the cards, their menu, and the settings form built from the kind's model."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from connectors.http import ApiError
from connectors.registry import UnknownKindError, connector_class
from hub.platform.errors import CashrailError
from hub.platform.redact import scrub
from hub.sync import cards, health, schedule
from hub.web import connector_form, form_errors, operations, queries
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, path_segment, redirect
from hub.web.schemas import CardIn, CardSettingsIn
from hub.web.sync_jobs import sync_jobs

router = APIRouter(default_response_class=HTMLResponse)


def _refused(url: str, found: dict[str, str], form: Any) -> Response:
    """Back to the card form: each setting's problem beside it, what was typed kept (never a secret)."""
    named = {connector_form.plain_label(k.removeprefix(connector_form.SETTING)): v for k, v in found.items() if k}
    text = " ".join(t for t in (found.get(""), form_errors.summary(named) if named else None) if t)
    return redirect(url, "error", text, fields={k: v for k, v in found.items() if k},
                    values=form_errors.kept_values({k: v for k, v in form.items() if isinstance(v, str)}))


def _beside(exc: cards.SameTenantError) -> dict[str, str]:
    """A card on another card's account: the other card named above the form and beside the setting to change."""
    return {"": exc.reason[0].upper() + exc.reason[1:] + ".",
            connector_form.SETTING + exc.field: f"is the account of connector {exc.other!r}: choose another"}


@router.get("/connectors")
def cards_page(request: Request, actor: CurrentActor) -> Response:
    with actor.session() as s:
        views = [{**queries.card_view(s, card), "test": cards.last_test(card)} for card in cards.all_cards(s)]
        healths = {h.name: h for h in health.card_health(s)}
    jobs = sync_jobs(request)
    for view in views:
        view["sync"] = jobs.status(actor, view["name"])
        found = healths.get(view["name"])
        view["schedule"] = {"text": schedule.describe(view["settings"]), "cron": schedule.cron(view["settings"]),
                            "every": f"{schedule.minutes(view['settings']):g}",
                            "next": found.next_run if found else None,
                            "scheduled": bool(found and found.next_run_scheduled)}
        view["run_url"] = found.last_run["prefect_url"] if found and found.last_run else None
    return page(request, actor, "connectors.html", cards=views, kinds=connector_form.kind_options())


@router.get("/connectors/new", openapi_extra=needs("Connectors", "Create"))
def card_new(request: Request, actor: CurrentActor, kind: str = "bms") -> Response:
    return page(request, actor, "connector_form.html", kind=kind, kinds=connector_form.kind_options(),
                fields=connector_form.fields(kind), card=None, title=connector_class(kind).title)


@router.post("/connectors", openapi_extra=needs("Connectors", "Create"))
async def card_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    settings, secrets, other = connector_form.submitted(form)
    kind = other.get("kind", "")
    found = connector_form.problems(connector_class(kind).settings_model, settings)
    if found:
        return _refused(f"/connectors/new?kind={quote(kind)}", found, form)
    body = CardIn(name=other.get("name", ""), kind=kind, settings=settings,
                  secrets={k: SecretStr(v) for k, v in secrets.items()})
    try:
        name = await run_in_threadpool(operations.create_card, actor, body)
    except cards.SameTenantError as exc:
        return _refused(f"/connectors/new?kind={quote(kind)}", _beside(exc), form)
    return redirect("/connectors", "ok", f"Connector {name} added (draft). Next: Test Connection, then Activate.")


@router.post("/connectors/{name}/schedule", openapi_extra=needs("Connectors", "Update"))
async def card_schedule(request: Request, actor: CurrentActor, name: str) -> Response:
    """The card's schedule: a cadence in minutes, or a cron schedule (UTC); each problem beside its field."""
    form = await request.form()
    settings, _, other = connector_form.submitted(form)
    cron = str(settings.get("sync_cron", "")) if other.get("mode") == "cron" else ""
    every = settings.get("sync_every_minutes")
    with actor.session() as s:
        card = cards.get(s, name)
        kind, stored = card.kind, dict(card.settings or {})
    back = f"/connectors#card-{path_segment(name)}"
    found = connector_form.problems(connector_class(kind).settings_model,
                                    {**stored, "sync_cron": cron or None, **({"sync_every_minutes": every} if every else {})})
    if other.get("mode") == "cron" and not cron.strip():
        found[connector_form.SETTING + "sync_cron"] = "is required for a cron schedule (or choose Every … minutes)"
    if found:
        return _refused(back, found, form)
    with actor.session() as s:
        changed = cards.set_schedule(s, name, every_minutes=every, cron=cron or None)
        text = schedule.describe(dict(changed.settings))
    return redirect(back, "ok", f"Schedule of {name}: {text}. `cashrail serve` applies it within a minute.")


@router.post("/connectors/choices", openapi_extra=needs("Connectors", "Update"))
async def card_choices(request: Request, actor: CurrentActor) -> Response:
    """The values the system lists for one setting (the form's "Find companies"), as JSON: asked with
    what the card form holds; ``card`` names a saved card whose stored settings and secrets fill the blanks."""
    form = await request.form()
    settings, secrets, other = connector_form.submitted(form)
    name = other.get("card") or None
    field = other.get("field", "")

    def ask() -> list[str]:
        with actor.session() as s:
            kind = cards.get(s, name).kind if name else other.get("kind", "")
            return cards.offered(s, kind, field, settings, {k: SecretStr(v) for k, v in secrets.items()}, name)

    try:
        options = await run_in_threadpool(ask)
    except (CashrailError, ApiError, UnknownKindError) as exc:  # in words beside the button
        return JSONResponse({"field": field, "error": scrub(str(exc))}, status_code=400)
    return JSONResponse({"field": field, "options": options})


@router.get("/connectors/{name}/settings", openapi_extra=needs("Connectors", "Update"))
def card_settings(request: Request, actor: CurrentActor, name: str) -> Response:
    with actor.session() as s:
        card = cards.get(s, name)
        view = queries.card_view(s, card)
    return page(request, actor, "connector_form.html", kind=card.kind, kinds=connector_form.kind_options(), card=view,
                fields=connector_form.fields(card.kind, card.settings), title=connector_class(card.kind).title)


@router.post("/connectors/{name}/settings", openapi_extra=needs("Connectors", "Update"))
async def card_update(request: Request, actor: CurrentActor, name: str) -> Response:
    form = await request.form()
    settings, secrets, _ = connector_form.submitted(form)
    with actor.session() as s:
        card = cards.get(s, name)
        kind, stored = card.kind, dict(card.settings or {})
    found = connector_form.problems(connector_class(kind).settings_model, {**stored, **settings})
    if found:
        return _refused(f"/connectors/{path_segment(name)}/settings", found, form)
    try:
        await run_in_threadpool(operations.update_card, actor, name, CardSettingsIn(
            settings=settings, secrets={k: SecretStr(v) for k, v in secrets.items()}))
    except cards.SameTenantError as exc:
        return _refused(f"/connectors/{path_segment(name)}/settings", _beside(exc), form)
    return redirect("/connectors", "ok", f"Settings of {name} saved.")


@router.post("/connectors/{name}/test", openapi_extra=needs("Connectors", "Update"))
def card_test(actor: CurrentActor, name: str) -> Response:
    report = operations.test_and_record(actor, name)
    back = f"/connectors#card-{path_segment(name)}"
    if report.ok and report.unverified:
        return redirect(back, "ok", f"Test Connection of {name}: no permission is missing; "
                                    f"{len(report.unverified)} write(s) could not be verified (see the card's checklist).")
    if report.ok:
        return redirect(back, "ok", f"Test Connection of {name}: every read and write the integration needs is allowed.")
    missing = report.missing_permissions
    text = (f"Test Connection of {name}: {len(missing)} permission(s) missing — the card's checklist says how to "
            "grant each, then Test Connection again." if missing else
            f"Test Connection of {name} failed: the card's checklist says what failed.")
    return redirect(back, "error", text)


@router.post("/connectors/{name}/activate", openapi_extra=needs("Connectors", "Activate"))
def card_activate(actor: CurrentActor, name: str) -> Response:
    status, reason, _ = operations.activate(actor, name)
    back = f"/connectors#card-{path_segment(name)}"
    if status == "active":
        return redirect(back, "ok", f"Connector {name} is active. Sync Now to pull its data.")
    if status == "pending_license":
        return redirect(back, "error", f"Connector {name} is pending the license agreement: accept it in "
                                       "the target system, then activate again.")
    return redirect(back, "error", f"Connector {name} was not activated: {reason} (the card's checklist says how "
                                   "to fix each check).")


@router.post("/connectors/{name}/deactivate", openapi_extra=needs("Connectors", "Deactivate"))
def card_deactivate(actor: CurrentActor, name: str) -> Response:
    actor.call(cards.set_status, name, "deactivated")
    return redirect("/connectors", "ok", f"Connector {name} is deactivated; its settings can be edited.")


@router.post("/connectors/{name}/delete", openapi_extra=needs("Connectors", "Delete"))
def card_delete(actor: CurrentActor, name: str) -> Response:
    actor.call(cards.delete, name)
    return redirect("/connectors", "ok", f"Connector {name} and everything it synced were deleted.")


@router.post("/connectors/{name}/sync")
def card_sync(request: Request, actor: CurrentActor, name: str) -> Response:
    sync_jobs(request).start(actor, name)
    return redirect("/connectors", "ok", f"Sync of {name} started.")
