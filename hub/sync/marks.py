"""A stream's bookkeeping in the hub: its cursor row, a page's heartbeat, a walk's completion.

Each call runs inside the caller's transaction (the page's or the walk's last), so where a stream
stands moves together with what it stored, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session
from sqlmodel import select as sm_select

from hub.platform.models import StreamState, SyncRun, table_of
from hub.platform.types import utcnow
from hub.sync.store import PageScope


def stream_state(s: Session, environment: str, connector_id: int, stream: str) -> StreamState:
    """The stream's cursor row (created on first use, in the caller's transaction)."""
    state = s.exec(
        sm_select(StreamState).where(StreamState.connector_id == connector_id, StreamState.stream == stream)
    ).first()
    if state is None:
        state = StreamState(environment=environment, connector_id=connector_id, stream=stream)
        s.add(state)
        s.flush()
    return state


def page_stored(s: Session, scope: PageScope) -> None:
    """A page's bookkeeping, in its transaction: the stream's last run and the run's heartbeat.

    No cursor here: a server's page order is not the cursor's (Business Central's is by key), so
    a cursor moved per page would skip changes on pages a killed run never read."""
    st, runs = table_of(StreamState), table_of(SyncRun)
    conn = s.connection()
    conn.execute(update(st).where(st.c.connector_id == scope.connector_id, st.c.stream == scope.stream)
                 .values(last_run_id=scope.run_id))
    conn.execute(update(runs).where(runs.c.id == scope.run_id).values(heartbeat_at=utcnow()))


def stream_completed(s: Session, scope: PageScope, newest: datetime | None, *, reconciled: bool) -> None:
    """A walk that read every page: the cursor moves forward to the newest modified time it
    stored (never back), in the caller's transaction; a full read also counts as reconciled.
    Plain statements by key, as ``page_stored``'s (the row exists from the stream's start)."""
    st, conn = table_of(StreamState), s.connection()
    where = (st.c.connector_id == scope.connector_id, st.c.stream == scope.stream)
    cursor = conn.execute(select(st.c.cursor).where(*where)).scalar_one()
    now = utcnow()
    values: dict[str, Any] = {"last_run_id": scope.run_id, "last_completed_at": now}
    if newest is not None and (cursor is None or datetime.fromisoformat(cursor) < newest):
        values["cursor"] = newest.isoformat()
    if reconciled:
        values["last_reconciled_at"] = now
    conn.execute(update(st).where(*where).values(values))
