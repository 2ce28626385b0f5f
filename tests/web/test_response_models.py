"""Every route of the JSON API has a response model, so its OpenAPI document says what each route answers.

FastAPI takes a route's return annotation (``Json``, ``list[Json]``) as its response model; a
route annotated ``-> Response`` has none, which is right only for 204 No Content. The API's
own document and docs page (``/api/openapi.json``, ``/api/docs``) are not in the schema and
not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

NO_CONTENT = 204


def _api_routes(app: FastAPI) -> Iterator[Any]:
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.path.startswith("/api/") and route.include_in_schema:
            yield route


def test_every_api_route_has_a_response_model_unless_it_answers_204(data_dir: Path) -> None:
    from hub.web import create_app

    routes = list(_api_routes(create_app()))
    assert len(routes) >= 50, f"the API lost its routes: {len(routes)}"
    without = [f"{','.join(sorted(r.methods))} {r.path}" for r in routes
               if r.response_model is None and r.status_code != NO_CONTENT]
    assert without == [], "routes without a response model (annotate what they return): " + "; ".join(without)


def test_routes_that_answer_204_have_no_body_to_describe(data_dir: Path) -> None:
    from hub.web import create_app

    no_content = [r for r in _api_routes(create_app()) if r.status_code == NO_CONTENT]
    assert {(tuple(r.methods), r.path) for r in no_content} == {
        (("DELETE",), "/api/connectors/{name}"), (("DELETE",), "/api/customers/{org_id}/payment-method"),
        (("DELETE",), "/api/users/{email}"), (("DELETE",), "/api/tokens/{token_id}"),
        (("DELETE",), "/api/reason-codes/{code}"), (("DELETE",), "/api/program-types/{name}")}
    assert all(r.response_model is None for r in no_content)
