"""Writes of events: a batch of event drafts becomes, in ONE statement, the users' counter
updates, the event rows and (when an endpoint may want them) the outbox row that dispatches
them to webhooks after commit.

Callers render ``data`` themselves (the ledger renders its transactions, wallets its wallets),
so this app imports nothing above it. The statement is either run on its own
(:func:`events_record`) or appended to the posting statement (``ledger.services.posting``),
which then writes money and events in a single round trip.

Keeps: a user's ``sequence`` is gap-free and strictly increasing in commit order. Each user's
counter row is updated (row-locked until commit) in ascending user id order, so two
transactions touching the same users never deadlock on them and unrelated users never wait.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model

from events.models import Event, EventCounter
from events.registry import DISPATCH_TOPIC, dispatch_interest_sql
from outbox.models import OutboxMessage, OutboxStatus
from outbox.services import outbox_relay_on_commit
from vaultcore.db import hot_path_cursor


@dataclass(frozen=True)
class EventDraft:
    """An event to write: ``object`` is the REST representation as ``user_id`` sees it."""

    user_id: int
    type: str
    object: dict[str, Any]
    created_at: datetime
    public_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class EventStatement:
    """The CTEs writing a batch (to put after ``WITH``), their parameters, and the expression
    that yields the dispatch outbox row's id (NULL when none was needed)."""

    ctes: str
    params: list[Any]
    outbox_id_sql: str = "(SELECT id FROM ev_outbox)"


def _q(name: str | None) -> str:
    assert name is not None
    return connection.ops.quote_name(name)


def _outbox_fields() -> list[Field[Any, Any]]:
    return [f for f in OutboxMessage._meta.concrete_fields if not f.primary_key]


def _table(model: type[Model]) -> str:
    return _q(model._meta.db_table)


@functools.cache
def _ctes(n_events: int, n_users: int, interest: str) -> str:
    """The CTEs for ``n_events`` events of ``n_users`` users (cached per shape)."""
    event_row = "(%s::integer, %s::bigint, %s::uuid, %s::varchar, %s::jsonb, %s::timestamptz)"
    counter_row = "(%s::bigint, %s::bigint)"
    outbox_fields = _outbox_fields()
    outbox_names = ", ".join(_q(f.column) for f in outbox_fields)
    outbox_values = ", ".join(f"%s::{f.cast_db_type(connection)}" for f in outbox_fields)
    counter, event, outbox = _table(EventCounter), _table(Event), _table(OutboxMessage)
    events_in = ", ".join([event_row] * n_events)
    counters_in = ", ".join([counter_row] * n_users)
    # Identifiers and the registered condition only: every value is a parameter.
    sequences = (
        f"INSERT INTO {counter} AS c (user_id, last_sequence) VALUES {counters_in} ON CONFLICT (user_id) "  # noqa: S608
        "DO UPDATE SET last_sequence = c.last_sequence + EXCLUDED.last_sequence RETURNING c.user_id, c.last_sequence"
    )
    rows = (
        f"INSERT INTO {event} (public_id, type, user_id, sequence, data, created_at) "  # noqa: S608
        "SELECT v.public_id, v.type, v.user_id, s.last_sequence - v.k + v.n, v.data, v.created_at "
        "FROM (SELECT ev_in.*, row_number() OVER (PARTITION BY user_id ORDER BY pos) AS n, "
        "count(*) OVER (PARTITION BY user_id) AS k FROM ev_in) AS v "
        "JOIN ev_seq AS s ON s.user_id = v.user_id ORDER BY v.pos RETURNING id"
    )
    dispatch = f"INSERT INTO {outbox} ({outbox_names}) SELECT {outbox_values} WHERE {interest} RETURNING id"
    return (
        f"ev_in (pos, user_id, public_id, type, data, created_at) AS (VALUES {events_in}), "
        f"ev_seq AS ({sequences}), ev_rows AS ({rows}), ev_outbox AS ({dispatch})"
    )


def event_statement(drafts: Sequence[EventDraft]) -> EventStatement:
    """The statement part writing ``drafts`` (at least one)."""
    assert drafts, "an event statement needs at least one event"
    counts = Counter(d.user_id for d in drafts)
    params: list[Any] = []
    for position, draft in enumerate(drafts):
        params += [position, draft.user_id, draft.public_id, draft.type, json.dumps({"object": draft.object})]
        params.append(draft.created_at)
    for user_id in sorted(counts):  # the global order of counter row locks
        params += [user_id, counts[user_id]]
    now = drafts[0].created_at
    message = OutboxMessage(
        topic=DISPATCH_TOPIC,
        payload={"event_ids": [str(d.public_id) for d in drafts]},
        status=OutboxStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
        updated_at=now,
    )
    params += [f.get_db_prep_save(getattr(message, f.attname), connection) for f in _outbox_fields()]
    return EventStatement(ctes=_ctes(len(drafts), len(counts), dispatch_interest_sql()), params=params)


def events_written(*, outbox_id: int | None) -> None:
    """After the statement ran: the dispatch row (if any) is relayed once the transaction commits."""
    if outbox_id is not None:
        outbox_relay_on_commit(outbox_id)


def events_record(*, drafts: Sequence[EventDraft]) -> None:
    """Write ``drafts`` in the caller's transaction (one statement). Keeps: see the module."""
    if not drafts:
        return
    assert transaction.get_connection().in_atomic_block, "events are written inside their change's transaction"
    statement = event_statement(drafts)
    with hot_path_cursor() as cursor:
        cursor.execute(f"WITH {statement.ctes} SELECT {statement.outbox_id_sql}", statement.params)
        (outbox_id,) = cursor.fetchone()
    events_written(outbox_id=outbox_id)
