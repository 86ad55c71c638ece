"""Writes of events: a batch of event drafts becomes, in ONE statement, the users' counter
updates and the event rows; when an enabled consumer may want the batch, its dispatch outbox
row follows in the same transaction.

Callers render ``data`` themselves (the ledger renders its transactions, wallets its wallets),
so this app imports nothing above it. The statement is either run on its own
(:func:`events_record`) or appended to the posting statement (``ledger.services.posting``),
which then writes money and events in a single round trip. Its text does not depend on the
number of events (they travel as one JSON parameter) and stays short, so the driver caches
its parsing and the server its plan.

Keeps: a user's ``sequence`` is gap-free and strictly increasing in commit order. Each user's
counter row is updated (row-locked until commit) in ascending user id order, so two
transactions touching the same users never deadlock on them and unrelated users never wait.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from events.models import Event, EventCounter
from events.registry import DISPATCH_TOPIC, dispatch_interest_sql
from outbox.services import outbox_enqueue
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
    """The CTEs writing a batch (to put after ``WITH``), their parameters, and the boolean
    expression telling whether the batch needs its dispatch row (to add to the ``SELECT``)."""

    drafts: Sequence[EventDraft]
    ctes: str
    params: list[Any]
    dispatch_sql: str


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _ctes() -> str:
    """The CTEs of any batch: ``ev_in`` (the drafts), ``ev_seq`` (counters), ``ev_rows``."""
    counter, event = _table(EventCounter), _table(Event)
    columns = "pos int, user_id bigint, public_id uuid, type varchar, data jsonb, created_at timestamptz"
    # Identifiers only: every value is the one parameter.
    sequences = (
        f"INSERT INTO {counter} AS c (user_id, last_sequence) SELECT user_id, count(*) FROM ev_in "  # noqa: S608
        "GROUP BY user_id ORDER BY user_id ON CONFLICT (user_id) "
        "DO UPDATE SET last_sequence = c.last_sequence + EXCLUDED.last_sequence RETURNING c.user_id, c.last_sequence"
    )
    rows = (
        f"INSERT INTO {event} (public_id, type, user_id, sequence, data, created_at) "  # noqa: S608
        "SELECT v.public_id, v.type, v.user_id, s.last_sequence - v.k + v.n, v.data, v.created_at "
        "FROM (SELECT ev_in.*, row_number() OVER (PARTITION BY user_id ORDER BY pos) AS n, "
        "count(*) OVER (PARTITION BY user_id) AS k FROM ev_in) AS v "
        "JOIN ev_seq AS s ON s.user_id = v.user_id ORDER BY v.pos"
    )
    drafts = f"SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x({columns})"  # noqa: S608
    return f"ev_in AS ({drafts}), ev_seq AS ({sequences}), ev_rows AS ({rows})"


def event_statement(drafts: Sequence[EventDraft]) -> EventStatement:
    """The statement part writing ``drafts`` (at least one)."""
    assert drafts, "an event statement needs at least one event"
    batch = [
        {
            "pos": position,
            "user_id": draft.user_id,
            "public_id": str(draft.public_id),
            "type": draft.type,
            "data": {"object": draft.object},
            "created_at": draft.created_at.isoformat(),
        }
        for position, draft in enumerate(drafts)
    ]
    return EventStatement(
        drafts=drafts, ctes=_ctes(), params=[json.dumps(batch)], dispatch_sql=f"({dispatch_interest_sql()})"
    )


def events_written(statement: EventStatement, *, dispatch: bool) -> None:
    """After the statement ran, in its transaction: the batch's dispatch row when it needs one
    (relayed right after commit, like every outbox row)."""
    if dispatch:
        outbox_enqueue(topic=DISPATCH_TOPIC, payload={"event_ids": [str(d.public_id) for d in statement.drafts]})


def events_record(*, drafts: Sequence[EventDraft]) -> None:
    """Write ``drafts`` in the caller's transaction (one statement). Keeps: see the module."""
    if not drafts:
        return
    assert transaction.get_connection().in_atomic_block, "events are written inside their change's transaction"
    statement = event_statement(drafts)
    with hot_path_cursor() as cursor:
        cursor.execute(f"WITH {statement.ctes} SELECT {statement.dispatch_sql}", statement.params)
        (dispatch,) = cursor.fetchone()
    events_written(statement, dispatch=dispatch)
