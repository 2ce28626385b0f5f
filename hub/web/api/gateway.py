"""The payment gateway's webhooks (BlueSnap IPN): signed by the gateway, not by a user.

Set the IPN URL in the gateway's console to ``<hub>/api/gateway/ipn/<environment>/<card name>``.
The HMAC signature with the card's IPN secret is the only credential: unsigned or badly signed
deliveries are refused 401 and change nothing; a delivery processed before is answered 200 again
(the gateway re-sends until it sees a 200) and changes nothing.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connectors.payments import IpnMalformed, IpnRejected
from hub.collections import webhooks
from hub.web.auth import PUBLIC

router = APIRouter(tags=["gateway"])


# not in the API's document: the gateway calls it, not API clients, and BlueSnap wants an empty 200
@router.post("/gateway/ipn/{environment}/{card}", openapi_extra=PUBLIC, status_code=200, include_in_schema=False)
async def receive_ipn(environment: Literal["production", "sandbox"], card: str, request: Request) -> Response:
    """One IPN from the gateway: answered with an empty 200 once it is processed (or was before)."""
    body = await request.body()
    try:
        await run_in_threadpool(webhooks.receive_ipn, environment, card, body, dict(request.headers))
    except IpnMalformed as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    except IpnRejected as exc:
        return JSONResponse({"detail": str(exc)}, status_code=401)
    return Response(status_code=200)
