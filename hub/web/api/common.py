"""What the API's routes share: the answer type FastAPI documents as their response model, and 204."""

from __future__ import annotations

from typing import Any

from fastapi import Response

#: a route's JSON answer; as a return annotation it is the route's response model
Json = dict[str, Any]
NO_CONTENT = 204


def no_content() -> Response:
    """The answer of a route that removes something: 204, no body."""
    return Response(status_code=NO_CONTENT)
