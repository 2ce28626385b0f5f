"""The Prefect UI and API behind the admin app's sign-in: ``/prefect/`` for Administrators.

`cashrail serve` starts the Prefect server on loopback with a basic-auth string (see
:mod:`hub.serve`); this route forwards an Administrator's requests to it, adding that string,
so no one reaches the runs, logs or deployments without signing in to the admin app first.
The UI is told it needs no sign-in of its own (the admin app's is the one).
"""

from __future__ import annotations

import json

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub.platform.errors import Unavailable
from hub.platform.served import UI_PATH, recorded
from hub.web.auth import ADMIN_SAME_ORIGIN, CurrentActor

router = APIRouter(include_in_schema=False)

#: hop-by-hop and recomputed headers, never forwarded either way
_DROPPED = frozenset({"host", "cookie", "authorization", "content-length", "connection", "keep-alive",
                      "transfer-encoding", "content-encoding", "upgrade", "te", "trailer", "x-csrf-token",
                      "accept-encoding"})
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _target(prefect_url: str, path: str) -> str:
    """The Prefect server's URL for ``/prefect/<path>``: its API under ``api/``, else its UI."""
    if path == "api" or path.startswith("api/"):
        return f"{prefect_url}/{path}"
    return f"{prefect_url}{UI_PATH}/{path}"


@router.api_route(UI_PATH, methods=["GET"], openapi_extra=ADMIN_SAME_ORIGIN)
@router.api_route(UI_PATH + "/{path:path}", methods=_METHODS, openapi_extra=ADMIN_SAME_ORIGIN)
async def prefect(request: Request, _: CurrentActor, path: str = "") -> Response:
    """Forward an Administrator's request to the served Prefect server, with its auth string."""
    served = recorded()
    if served is None:
        raise Unavailable("the Prefect UI is served with `cashrail serve`, which is not running for this data dir")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
    async with httpx.AsyncClient(timeout=60) as client:
        try:
            answer = await client.request(request.method, _target(served.prefect_url, path),
                                          params=request.query_params, content=await request.body(),
                                          headers={**headers, **served.auth_header()})
        except httpx.HTTPError:
            raise Unavailable("the Prefect server of `cashrail serve` does not answer") from None
    body = answer.content
    if path.rstrip("/").endswith("ui-settings") and answer.status_code == 200:
        settings = json.loads(body)
        settings["auth"] = None  # signed in already: the admin app adds the auth string
        body = json.dumps(settings).encode()
    kept = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED}
    return Response(body, status_code=answer.status_code, headers=kept)
