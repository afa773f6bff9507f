"""At most N events per subject per window, counted in the store so every hub process shares one count.

A fixed window per subject that opens at its first event: ``hits`` counts the events since ``window_start``;
once the window has passed, the next event opens a new one. Each step is one conditional UPDATE (or an INSERT
for a subject not seen yet), so two processes racing for the last place cannot both get it: PostgreSQL re-checks
``hits < count`` on the row after the other writer commits, SQLite serialises writers. Times are epoch seconds
(wall clock), comparable across processes and free of the time-zone handling of DateTime columns.
"""
from __future__ import annotations

import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.store.repo import Store
from hub.store.tables_rate_limits import rate_limits


def allow(store: Store, scope: str, subject: str, count: int, window: float, now: float | None = None) -> bool:
    """Count one event of ``subject``; False (and nothing counted) when ``count`` were already seen in its window."""
    now = time.time() if now is None else now
    opened_before = now - window
    row = (rate_limits.c.scope == scope, rate_limits.c.subject == subject)
    for _ in range(3):      # a lost INSERT race means another process opened the window: count against it
        with store._begin() as conn:  # noqa: SLF001 - the store's guarded transaction
            counted = conn.execute(update(rate_limits).where(*row, rate_limits.c.window_start > opened_before,
                                                             rate_limits.c.hits < count)
                                   .values(hits=rate_limits.c.hits + 1))
            if counted.rowcount:
                return True
            renewed = conn.execute(update(rate_limits).where(*row, rate_limits.c.window_start <= opened_before)
                                   .values(window_start=now, hits=1))
            if renewed.rowcount:
                return True
            if conn.execute(select(rate_limits.c.hits).where(*row)).first() is not None:
                return False    # the window is open and full
        try:
            with store._begin() as conn:  # noqa: SLF001
                conn.execute(insert(rate_limits).values(scope=scope, subject=subject, window_start=now, hits=1))
            return True
        except IntegrityError:
            continue
    return False


def sweep(store: Store, scope: str, window: float, now: float | None = None) -> int:
    """Forget the subjects whose window has passed (they would open a new one anyway); returns how many."""
    now = time.time() if now is None else now
    with store._begin() as conn:  # noqa: SLF001
        return conn.execute(delete(rate_limits).where(rate_limits.c.scope == scope,
                                                      rate_limits.c.window_start <= now - window)).rowcount
