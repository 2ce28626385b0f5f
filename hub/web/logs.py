"""The admin app's own log lines, kept through the flows it runs in its process.

A flow run in-process sets Prefect's logging up the first time (``dictConfig``), which replaces
the root logger's handlers with Prefect's console handler — one the CLI quiets to CRITICAL — so
from then on the app's errors ("the server log says why") went nowhere. Setting Prefect's
logging up first, then giving the ``hub`` logger a handler of its own, keeps them: Prefect's
later set-ups are incremental (levels only) and leave that handler alone.
"""

from __future__ import annotations

import logging

_MARK = "_cashrail_web"


def keep_app_logging(level: int = logging.INFO) -> logging.Handler:
    """Give the ``hub`` loggers a stderr handler that survives in-process flow runs (once)."""
    from prefect.logging.configuration import PROCESS_LOGGING_CONFIG, setup_logging

    if not PROCESS_LOGGING_CONFIG:
        setup_logging()
    hub = logging.getLogger("hub")
    for handler in hub.handlers:
        if getattr(handler, _MARK, False):
            return handler
    handler = logging.StreamHandler()
    setattr(handler, _MARK, True)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    hub.addHandler(handler)
    if hub.level == logging.NOTSET or hub.level > level:
        hub.setLevel(level)
    return handler
