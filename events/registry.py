"""Who wants events delivered: the webhooks app registers, in its ``AppConfig.ready``, the SQL
condition under which an event batch needs its dispatch row (an enabled endpoint that may want
it), so events sits below webhooks and imports nothing of it. The condition is evaluated in the
statement that writes the events (no extra round trip, no stale answer).

The condition may name ``ev_in.user_id`` (the users of the batch) and takes no parameters.
"""

from __future__ import annotations

DISPATCH_TOPIC = "events.dispatch"

_interest_sql: str | None = None


def dispatch_interest_register(sql: str) -> None:
    """``dispatch_interest_register("EXISTS (SELECT 1 FROM ... WHERE ...)")``."""
    global _interest_sql
    if _interest_sql is not None and _interest_sql != sql:
        raise ValueError("a dispatch interest condition is already registered")
    _interest_sql = sql


def dispatch_interest_sql() -> str:
    """The registered condition; without one (nothing delivers events) no dispatch row."""
    return _interest_sql or "FALSE"
