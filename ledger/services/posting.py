"""``post``: the ONE function that writes money.

Every flow (transfer, deposit open/settle/fail, withdrawal hold/post/void, adjustment, reversal,
claw-back, provider reference) hands it the wallets it locked and the transactions it decided,
with their legs; ``post`` applies the legs to the wallets' balances and writes, in ONE statement:
the new transactions, the changed pending ones, every entry, every wallet's new state and the
binding of the request's idempotency key. Several transactions are posted atomically in one
call (e.g. a claw-back's advance and reversal; an FX conversion's two legs).

The statement is generated from the models' ``_meta`` (every concrete column but the primary
key), so a new column is written without anyone listing it; see ``docs/architecture.md``.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Field, Model

from events.services import event_statement, events_written
from ledger.event_drafts import posting_event_drafts
from ledger.exceptions import IdempotencyKeyInUse
from ledger.idempotency import outcome_of
from ledger.models import Direction, IdempotencyKey, LedgerEntry, LedgerTransaction
from vaultcore import tracing
from vaultcore.db import hot_path_cursor
from vaultcore.errors import RETRYABLE_SQLSTATES, ServiceUnavailable
from vaultcore.metrics import transactions_posted_record
from wallets.models import Wallet

logger = logging.getLogger("ledger")

P = ParamSpec("P")
R = TypeVar("R")

MAX_ATTEMPTS = 5


def retry_on_contention(func: Callable[P, R]) -> Callable[P, R]:
    """Re-run ``func`` (a whole durable atomic block) on deadlock or serialization failure.

    Safe because the failed attempt rolled back entirely. After ``MAX_ATTEMPTS`` the caller
    gets 503 ``service_unavailable`` and nothing was changed.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                    raise
                logger.warning("%s: contention (attempt %d/%d), retrying", func.__name__, attempt, MAX_ATTEMPTS)
                if attempt == MAX_ATTEMPTS:
                    raise ServiceUnavailable() from exc
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


@dataclass(frozen=True)
class Leg:
    """``amount`` debited from or credited to ``wallet`` by a posted transaction."""

    wallet: Wallet
    direction: Direction
    amount: Decimal


@dataclass(frozen=True)
class Posting:
    """A transaction to write: a new one (no pk) or a pending one it changes (locked), as the
    flow set its fields; ``legs`` for a transaction that is posted now (none otherwise)."""

    transaction: LedgerTransaction
    legs: tuple[Leg, ...] = ()


def legs(*, debit: Wallet, credit: Wallet, amount: Decimal) -> tuple[Leg, ...]:
    """The two legs of a one-currency transaction moving ``amount`` from ``debit`` to ``credit``."""
    return (Leg(debit, Direction.DEBIT, amount), Leg(credit, Direction.CREDIT, amount))


def post(
    *,
    postings: Sequence[Posting],
    wallets: Sequence[Wallet] = (),
    now: datetime,
    idempotency_key: IdempotencyKey | None = None,
    record_outcome: bool = False,
) -> None:
    """Apply ``postings`` to the locked ``wallets`` and write all of it in ONE statement.

    Call inside the flow's atomic block, with every wallet of a leg locked and passed in
    ``wallets`` (their holds and daily totals already set by the flow: their whole row is
    written). Keeps: each entry's ``balance_after`` is its wallet's new balance; PostgreSQL
    re-checks the rest (CHECKs at once, double entry at commit). ``idempotency_key`` is bound to
    the first transaction only while the request still holds its claim (else 409 and the whole
    atomic block rolls back); with ``record_outcome`` the operation's outcome (the transactions
    as written) is recorded with it, so a replay needs no second write. The transactions posted
    now are counted for /metrics once the transaction commits.
    """
    with tracing.span("ledger.post", postings=len(postings)):
        _post(
            postings=postings, wallets=wallets, now=now, idempotency_key=idempotency_key, record_outcome=record_outcome
        )
    transactions_posted_record(
        (str(p.transaction.type), p.transaction.currency, p.transaction.amount) for p in postings if p.legs
    )


def _post(
    *,
    postings: Sequence[Posting],
    wallets: Sequence[Wallet],
    now: datetime,
    idempotency_key: IdempotencyKey | None,
    record_outcome: bool,
) -> None:
    by_pk = {wallet.pk: wallet for wallet in wallets}
    entries: list[LedgerEntry] = []
    for posting in postings:
        txn = posting.transaction
        balances: dict[int, Decimal] = {}
        for leg in posting.legs:
            wallet = by_pk[leg.wallet.pk]  # KeyError: a leg on a wallet that was not locked
            wallet.balance += leg.amount if leg.direction == Direction.CREDIT else -leg.amount
            balances[wallet.pk] = wallet.balance
            entries.append(
                LedgerEntry(
                    transaction=txn,
                    wallet=wallet,
                    direction=leg.direction,
                    amount=leg.amount,
                    currency=txn.currency,
                    balance_after=wallet.balance,
                    created_at=now,
                )
            )
        if balances:
            txn.leg_balances = balances  # type: ignore[attr-defined]  # rendering needs no query
    for wallet in wallets:
        wallet.updated_at = now
    new = [p.transaction for p in postings if p.transaction.pk is None]
    changed = [p.transaction for p in postings if p.transaction.pk is not None]
    key_params: list[Any] = []
    if idempotency_key is not None:
        first = postings[0].transaction
        outcome = outcome_of([p.transaction for p in postings]) if record_outcome else None
        key_params = [
            first.public_id,
            _prep(IdempotencyKey._meta.get_field("outcome"), outcome),
            idempotency_key.pk,
            idempotency_key.locked_at,
        ]
    # The events of the change (one per user party) go in the same statement.
    drafts = posting_event_drafts(postings=postings, locked=by_pk, now=now) if settings.EVENTS_ENABLED else []
    events = event_statement(drafts) if drafts else None
    sql = _statement(
        len(new),
        len(changed),
        len(entries),
        len(wallets),
        idempotency_key is not None,
        events.ctes if events else "",
        events.dispatch_sql if events else "",
    )
    params = [
        *_values(new, _TXN, with_pk=False),
        *_values(changed, _TXN, with_pk=True),
        *_entry_values(entries),
        *_values(wallets, _WALLET, with_pk=True),
        *key_params,
    ]
    if events is not None:
        params += events.params
    with hot_path_cursor() as cursor:
        cursor.execute(sql, params)
        keys_bound, ids, public_ids, *dispatch = cursor.fetchone()
    if events is not None:
        events_written(events, dispatch=dispatch[0])
    for pk, public_id in zip(ids or (), public_ids or (), strict=True):
        txn = next(t for t in new if t.public_id == public_id)
        txn.pk = pk
        txn._state.adding = False
        txn._state.db = connection.alias
    if idempotency_key is not None:
        if not keys_bound:
            raise IdempotencyKeyInUse()  # a stale claim was taken over meanwhile: roll back
        idempotency_key.transaction = postings[0].transaction
        if record_outcome:
            idempotency_key.outcome = outcome


# --- The statement, generated from the models ---------------------------------------------------
# Identifiers come from the models' _meta (quoted), values are always parameters: the S608
# warnings below are about f-strings of identifiers only.
def _columns(model: type[Model]) -> list[Field[Any, Any]]:
    """Every concrete column but the primary key: what ``post`` writes."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


_TXN, _ENTRY, _WALLET = LedgerTransaction, LedgerEntry, Wallet


def _prep(field: Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _values(objs: Sequence[Model], model: type[Model], *, with_pk: bool) -> list[Any]:
    fields = _columns(model)
    params: list[Any] = []
    for obj in objs:
        if with_pk:
            params.append(obj.pk)
        params += [_prep(f, getattr(obj, f.attname)) for f in fields]
    return params


def _entry_values(entries: Sequence[LedgerEntry]) -> list[Any]:
    fields = [f for f in _columns(_ENTRY) if f.attname != "transaction_id"]
    params: list[Any] = []
    for position, entry in enumerate(entries):
        params += [position, entry.transaction.public_id]
        params += [_prep(f, getattr(entry, f.attname)) for f in fields]
    return params


def _q(name: str | None) -> str:
    assert name is not None
    return connection.ops.quote_name(name)


def _cast(field: Field[Any, Any]) -> str:
    return f"%s::{field.cast_db_type(connection)}"


def _pk_cast(model: type[Model]) -> str:
    assert model._meta.pk is not None
    return _cast(model._meta.pk)


def _rows(count: int, casts: list[str]) -> str:
    row = "(" + ", ".join(casts) + ")"
    return ", ".join([row] * count)


def _update(model: type[Model], alias: str, count: int, returning: str = "") -> str:
    """``UPDATE`` every column of ``count`` rows from a VALUES list keyed by pk."""
    fields = _columns(model)
    assert model._meta.pk is not None
    table, pk = _q(model._meta.db_table), _q(model._meta.pk.column)
    names = ", ".join(_q(f.column) for f in fields)
    assignments = ", ".join(f"{_q(f.column)} = v.{_q(f.column)}" for f in fields)
    rows = _rows(count, [_pk_cast(model)] + [_cast(f) for f in fields])
    return (
        f"UPDATE {table} AS {alias} SET {assignments} FROM (VALUES {rows}) AS v({pk}, {names}) "  # noqa: S608
        f"WHERE {alias}.{pk} = v.{pk}{returning}"
    )


@functools.cache
def _statement(
    n_new: int, n_changed: int, n_entries: int, n_wallets: int, with_key: bool, event_ctes: str, event_select: str
) -> str:
    """The one statement of a posting of this shape (cached: few shapes, prepared per connection),
    with the events' CTEs and whether they need a dispatch row when there are events."""
    parts: list[str] = []
    txn_table = _q(_TXN._meta.db_table)
    txn_fields = _columns(_TXN)
    returning = f" RETURNING {_q('id')}, {_q('public_id')}"
    sources: list[str] = []
    if n_new:
        names = ", ".join(_q(f.column) for f in txn_fields)
        rows = _rows(n_new, [_cast(f) for f in txn_fields])
        parts.append(f"txn AS (INSERT INTO {txn_table} ({names}) VALUES {rows}{returning})")  # noqa: S608
        sources.append("SELECT id, public_id FROM txn")
    if n_changed:
        changed_returning = f" RETURNING t.{_q('id')}, t.{_q('public_id')}"
        parts.append(f"changed AS ({_update(_TXN, 't', n_changed, changed_returning)})")
        sources.append("SELECT id, public_id FROM changed")
    if sources:
        parts.append(f"txns AS ({' UNION ALL '.join(sources)})")
    if n_entries:
        entry_fields = _columns(_ENTRY)
        values = [f for f in entry_fields if f.attname != "transaction_id"]
        names = ", ".join(_q(f.column) for f in entry_fields)
        selected = ", ".join("txns.id" if f.attname == "transaction_id" else f"v.{_q(f.column)}" for f in entry_fields)
        rows = _rows(n_entries, ["%s::integer", "%s::uuid"] + [_cast(f) for f in values])
        aliases = ", ".join(["position", "txn_public_id"] + [_q(f.column) for f in values])
        parts.append(
            f"legs AS (INSERT INTO {_q(_ENTRY._meta.db_table)} ({names}) SELECT {selected} "  # noqa: S608
            f"FROM (VALUES {rows}) AS v({aliases}) JOIN txns ON txns.public_id = v.txn_public_id "
            "ORDER BY v.position)"
        )
    if n_wallets:
        parts.append(f"balances AS ({_update(_WALLET, 'w', n_wallets)})")
    if with_key:
        parts.append(
            f"idempotency AS (UPDATE {_q(IdempotencyKey._meta.db_table)} "  # noqa: S608
            "SET transaction_id = (SELECT id FROM txns WHERE public_id = %s::uuid), outcome = %s::jsonb "
            "WHERE id = %s::bigint AND locked_at = %s::timestamptz AND transaction_id IS NULL RETURNING id)"
        )
    key_count = "(SELECT count(*) FROM idempotency)" if with_key else "0"
    new_ids = "ARRAY(SELECT id FROM txn ORDER BY id), ARRAY(SELECT public_id FROM txn ORDER BY id)"
    if event_ctes:
        parts.append(event_ctes)
    select = f"SELECT {key_count}, {new_ids if n_new else 'NULL, NULL'}"
    if event_select:
        select += f", {event_select}"
    return "WITH " + ", ".join(parts) + " " + select
