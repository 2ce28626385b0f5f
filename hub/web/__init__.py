"""The admin web app and JSON API (FastAPI): ``create_app(settings)``, an ASGI factory for uvicorn."""

from __future__ import annotations

from hub.web.app import create_app

__all__ = ["create_app"]
