"""Idempotency keys of money operations: at most once per (user, key), whatever the transport.

Protocol, per (user, key), around one operation (``transfer``, ``deposit``, ``withdraw``, ...):
1. claim: INSERT the key row with the operation and the fingerprint of its canonical input, in
   its own short commit. The unique constraint decides races: only one caller holds a key; a
   concurrent one gets 409 ``idempotency_key_in_use`` (422 ``idempotency_key_reused`` for another
   operation or input).
2. run: the operation binds the key to its first ledger transaction inside its own atomic block
   (``ledger.services.posting.post``), so money and key commit together.
3. record: the key records the operation's outcome: the transactions as they were when it
   answered (status, reference, posting time) and its extra result, or the domain error it
   raised. Later calls get that outcome again and render it as the first call did; nothing
   transport-specific is stored. An outcome known when the money is written (a transfer) is
   recorded in the money statement itself.
   Bad input (400), conflicts (409) and server errors of calls that moved no money are not
   recorded: the key is released and may be retried. That includes a server error (e.g. the
   payment provider unavailable) after the key was bound to a transaction that ended failed or
   voided: the key is released, and the retry tries again with a new transaction.
A caller that died after claiming but before moving money leaves a row with no transaction;
after ``IDEMPOTENCY_LOCK_TIMEOUT`` seconds it may be taken over. One that died after moving money
is answered from its transaction as it is now.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import status

from accounts.models import User
from ledger.exceptions import IdempotencyKeyInUse, IdempotencyKeyReused
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionStatus
from vaultcore.db import hot_path_cursor
from vaultcore.errors import DomainError, is_database_unavailable
from vaultcore.metrics import IDEMPOTENT_REPLAYS

logger = logging.getLogger("ledger.idempotency")

# What may change on a transaction after the operation answered: recorded to answer the same.
_MUTABLE = ("status", "reference", "posted_at")


@dataclass(frozen=True)
class Outcome:
    """What an operation did: its transactions (as it answered) and any extra result
    (JSON-safe, e.g. a payment's client secret)."""

    transactions: Sequence[LedgerTransaction]
    result: Mapping[str, Any] = field(default_factory=dict)


class RecordedError(DomainError):
    """The domain error an earlier call with this key answered, raised again."""

    def __init__(self, *, status_code: int, code: str, detail: str, attr: str | None) -> None:
        self.status_code = status_code
        self.code = code
        super().__init__(detail, attr=attr)


@dataclass(frozen=True)
class Claim:
    row: IdempotencyKey
    replay: Outcome | None = None


def operation_fingerprint(*, operation: str, params: Mapping[str, Any]) -> str:
    """SHA-256 of the operation and its validated input, canonicalised (key order, ``"10"`` vs
    ``"10.00"`` do not matter: amounts are parsed before)."""
    canonical = json.dumps({"operation": operation, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def outcome_of(transactions: Sequence[LedgerTransaction], result: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The record of a successful operation (JSON)."""
    return {
        "transactions": [
            {
                "id": str(txn.public_id),
                "status": str(txn.status),
                "reference": txn.reference,
                "posted_at": _instant(txn.posted_at),
            }
            for txn in transactions
        ],
        "result": dict(result or {}),
    }


def _error_outcome(exc: DomainError) -> dict[str, Any]:
    return {"error": {"status": exc.status_code, "code": exc.code, "detail": exc.detail, "attr": exc.attr}}


def _replayed(outcome: Mapping[str, Any]) -> Outcome:
    """The recorded outcome again (or its error raised again)."""
    error = outcome.get("error")
    if error is not None:
        raise RecordedError(status_code=error["status"], code=error["code"], detail=error["detail"], attr=error["attr"])
    recorded = outcome["transactions"]
    found = {
        str(txn.public_id): txn
        for txn in LedgerTransaction.objects.select_related("debit_wallet__user", "credit_wallet__user").filter(
            public_id__in=[item["id"] for item in recorded]
        )
    }
    transactions = []
    for item in recorded:
        txn = found[item["id"]]
        txn.status, txn.reference = item["status"], item["reference"]
        txn.posted_at = None if item["posted_at"] is None else datetime.fromisoformat(item["posted_at"])
        transactions.append(txn)
    return Outcome(transactions=transactions, result=outcome.get("result") or {})


# Each key write is ONE statement in its own commit (no BEGIN/COMMIT round trips, no savepoint;
# the unique (user, key) constraint decides races without an exception: a conflicting claim in
# flight makes PostgreSQL wait for its short commit, then skip).
#
# Outside a transaction these commits do not wait for the WAL flush (``synchronous_commit`` off
# for that statement's own transaction only). No guarantee is weakened: WAL is flushed in order,
# so the money transaction's durable commit, which comes after the claim, makes the claim durable
# too; and if a crash loses a recorded outcome, the key is still bound to its transaction in the
# money commit, and a retry is answered from that transaction (see ``idempotency_key_claim``).
# Inside an enclosing transaction the plain statements are used, so a caller's commit is never
# relaxed.
_RELAXED = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
_CLAIM_SQL = """
    INSERT INTO ledger_idempotencykey (user_id, key, operation, fingerprint, locked_at, created_at)
    SELECT %s::bigint, %s::varchar, %s::varchar, %s::varchar, %s::timestamptz, %s::timestamptz FROM {source}
    ON CONFLICT ON CONSTRAINT ledger_idempotency_user_key_unique DO NOTHING
    RETURNING id
"""
_RECORD_SQL = """
    UPDATE ledger_idempotencykey SET outcome = %s::jsonb
      FROM {source} WHERE id = %s AND locked_at = %s
"""


def _key_write(sql: str) -> str:
    """``sql`` with the relaxed-commit source when it runs as its own transaction."""
    return sql.format(source="(SELECT 1) AS plain" if connection.in_atomic_block else _RELAXED)


def idempotency_key_claim(*, user: User, key: str, operation: str, fingerprint: str) -> Claim:
    """Claim ``key`` for this call, or decide what an earlier call with it means: its recorded
    outcome (``Claim.replay``), its recorded error (raised again), 409 while it runs, 422 for
    another operation or input."""
    now = timezone.now()
    with hot_path_cursor() as cursor:
        cursor.execute(_key_write(_CLAIM_SQL), [user.pk, key, operation, fingerprint, now, now])
        inserted = cursor.fetchone()
    if inserted is not None:
        row = IdempotencyKey(
            pk=inserted[0],
            user=user,
            key=key,
            operation=operation,
            fingerprint=fingerprint,
            locked_at=now,
            created_at=now,
        )
        row._state.adding = False
        row._state.db = connection.alias
        return Claim(row=row)
    row = IdempotencyKey.objects.select_related("transaction").get(user=user, key=key)
    # An empty fingerprint: a key claimed before operation-level fingerprints (migration 0008),
    # whose input cannot be compared; it replays for any input of its operation.
    if row.operation != operation or (row.fingerprint and row.fingerprint != fingerprint):
        raise IdempotencyKeyReused()
    if row.outcome is not None:
        IDEMPOTENT_REPLAYS.labels(operation).inc()  # a recorded error too (raised again)
        return Claim(row=row, replay=_replayed(row.outcome))
    stale = row.locked_at < now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT)
    if not stale:
        raise IdempotencyKeyInUse()
    if row.transaction is not None:
        # The first call moved money and then died before recording its outcome.
        outcome = outcome_of([row.transaction])
        idempotency_key_record(row=row, outcome=outcome)
        IDEMPOTENT_REPLAYS.labels(operation).inc()
        return Claim(row=row, replay=_replayed(outcome))
    # The first call died before moving money: take the key over (one winner).
    taken = IdempotencyKey.objects.filter(
        pk=row.pk, locked_at=row.locked_at, transaction__isnull=True, outcome__isnull=True
    ).update(locked_at=now)
    if not taken:
        raise IdempotencyKeyInUse()
    row.locked_at = now
    return Claim(row=row)


def idempotency_key_record(*, row: IdempotencyKey, outcome: dict[str, Any]) -> None:
    """Record the outcome to answer later calls with the same key (only while this call still
    holds the claim: a stale claim may have been taken over)."""
    outcome_field = IdempotencyKey._meta.get_field("outcome")
    with hot_path_cursor() as cursor:
        cursor.execute(
            _key_write(_RECORD_SQL), [outcome_field.get_db_prep_save(outcome, connection), row.pk, row.locked_at]
        )
    row.outcome = outcome


def idempotency_key_release(*, row: IdempotencyKey) -> bool:
    """Forget a key whose call moved no money, so that it can be retried. False when the
    call did move money (the key stays bound to its transaction)."""
    deleted, _ = IdempotencyKey.objects.filter(pk=row.pk, locked_at=row.locked_at, transaction__isnull=True).delete()
    return bool(deleted)


def idempotency_key_release_unmoved(*, row: IdempotencyKey) -> bool:
    """Forget a key bound to a transaction that moved no money (failed or voided), so a call
    that ended in a server error can be retried. False when its transaction is pending or posted."""
    deleted, _ = IdempotencyKey.objects.filter(
        pk=row.pk,
        locked_at=row.locked_at,
        transaction__status__in=(TransactionStatus.FAILED, TransactionStatus.VOIDED),
    ).delete()
    return bool(deleted)


def _release_after_failure(*, row: IdempotencyKey) -> None:
    """Release the key of a call that failed unexpectedly, without hiding its error. When the
    failure was the database connection itself (a restart, a failover, a killed backend), the
    release runs again on a new connection, so the client's retry with the same key is not
    refused as in flight. Whatever the call wrote committed whole with its key bound, or not at
    all: only an unbound key is deleted. If the database is still unreachable, the key is taken
    over after ``IDEMPOTENCY_LOCK_TIMEOUT`` seconds."""
    try:
        idempotency_key_release(row=row)
        return
    except Exception as exc:
        if connection.in_atomic_block or not is_database_unavailable(exc):
            logger.warning("idempotency key %s not released: %s", row.pk, type(exc).__name__)
            return
    connection.close()  # the broken connection; the next statement opens a new one
    try:
        idempotency_key_release(row=row)
    except Exception as exc:
        logger.warning(
            "idempotency key %s not released (database unavailable: %s); it can be taken over after %s s",
            row.pk,
            type(exc).__name__,
            settings.IDEMPOTENCY_LOCK_TIMEOUT,
        )


def _recorded(status_code: int) -> bool:
    """Business refusals are answered again like successes; bad input, conflicts and server
    errors are not (the caller fixes the input, or retries)."""
    return status_code < 500 and status_code not in (status.HTTP_400_BAD_REQUEST, status.HTTP_409_CONFLICT)


def _released(*, row: IdempotencyKey, status_code: int) -> bool:
    """Release the key of a call that failed with ``status_code`` when it is not its answer."""
    if _recorded(status_code):
        return False
    if idempotency_key_release(row=row):
        return True
    return status_code >= 500 and idempotency_key_release_unmoved(row=row)


def idempotent(
    *,
    user: User,
    key: str | None,
    operation: str,
    params: Mapping[str, Any],
    run: Callable[[IdempotencyKey | None], Outcome],
) -> tuple[Outcome, bool]:
    """Run ``run`` at most once per (user, key); returns (outcome, replayed). A recorded domain
    error is raised again as :class:`RecordedError`. Without a key, just runs it."""
    if key is None:
        return run(None), False
    claim = idempotency_key_claim(
        user=user, key=key, operation=operation, fingerprint=operation_fingerprint(operation=operation, params=params)
    )
    if claim.replay is not None:
        return claim.replay, True
    row = claim.row
    try:
        done = run(row)
    except DomainError as exc:
        if not _released(row=row, status_code=exc.status_code):
            idempotency_key_record(row=row, outcome=_error_outcome(exc))
        raise
    except BaseException:
        _release_after_failure(row=row)
        raise
    if row.outcome is None:  # not recorded with the money
        idempotency_key_record(row=row, outcome=outcome_of(done.transactions, done.result))
    return done, False


def idempotency_keys_delete_expired() -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL_HOURS`` (at least 24 h); returns the count."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
