"""``Idempotency-Key`` for money-moving POSTs (see the contract and ``IdempotencyKey``).

Protocol, per (user, key):
1. claim: INSERT the key row in its own short commit. The unique constraint decides races:
   only one request holds a key; a concurrent one reads the row and gets 409
   ``idempotency_key_in_use`` (or 422 ``idempotency_key_reused`` for a different request).
2. work: the money service links the key to its ledger transaction inside its own atomic block,
   so money and key commit together.
3. complete: the response (status + body) is stored; later requests with the same key and body
   get it again with ``Idempotent-Replayed: true``. A service that renders the response before
   its money write (``ResponseCapture``; the transfer) stores it in step 2, in the money commit.
   Validation failures (400), 409s and server errors of requests that moved no money are not
   stored: the key is released and may be retried. That includes a server error (e.g. the
   payment provider unavailable) after the key was bound to a transaction that ended failed or
   voided: the key is unbound and released, and the retry tries again with a new transaction.
A request that died after claiming but before moving money leaves a row with no transaction;
after ``IDEMPOTENCY_LOCK_TIMEOUT`` seconds it may be taken over.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from ledger.exceptions import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidIdempotencyKey
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionStatus
from vaultcore.db import hot_path_cursor
from vaultcore.errors import DomainError, error_body, error_type_for

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# fullmatch: ``$`` would also accept a key with a trailing newline.
_KEY_RE = re.compile(r"[\x20-\x7e]{1,255}")


@dataclass(frozen=True)
class Claim:
    row: IdempotencyKey
    replay: HttpResponse | None = None


def idempotency_key_from_request(request: Request) -> str | None:
    """The request's key, None without the header, or 400 for an empty/long/non-ASCII key."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not _KEY_RE.fullmatch(raw):
        raise InvalidIdempotencyKey()
    return raw


def request_fingerprint(*, endpoint: str, data: Any) -> str:
    """SHA-256 of the endpoint and the parsed body, canonicalised (key order does not matter)."""
    canonical = json.dumps({"endpoint": endpoint, "body": data}, sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _render(body: Any) -> str:
    """The exact JSON the API renders for ``body`` (same renderer, same settings)."""
    return JSONRenderer().render(body).decode()


class ResponseCapture:
    """Renders a request's response from its transaction for a service that stores it with the
    idempotency key in the money commit (``services.transfer_create(respond=...)``), and keeps
    the rendered response for the handler to return."""

    def __init__(self, render: Callable[[LedgerTransaction], Response]) -> None:
        self._render = render
        self.response: Response | None = None

    def __call__(self, txn: LedgerTransaction) -> tuple[int, str]:
        self.response = self._render(txn)
        return self.response.status_code, _render(self.response.data)


def _rendered(response: Response, body: str) -> HttpResponse:
    """``response`` sent as the JSON just rendered to store it (not rendered a second time):
    the very bytes a replay will send."""
    rendered = HttpResponse(body, status=response.status_code, content_type="application/json")
    for name, value in response.items():
        if name.lower() != "content-type":  # an unrendered Response still has Django's default
            rendered[name] = value
    return rendered


def _replay(status_code: int, body: str) -> HttpResponse:
    """The stored response again, byte for byte."""
    response = HttpResponse(body, status=status_code, content_type="application/json")
    response[REPLAYED_HEADER] = "true"
    return response


# Each key write is ONE statement in its own commit (no BEGIN/COMMIT round trips, no savepoint;
# the unique (user, key) constraint decides races without an exception: a conflicting claim in
# flight makes PostgreSQL wait for its short commit, then skip).
#
# Outside a transaction these commits do not wait for the WAL flush (``synchronous_commit`` off
# for that statement's own transaction only). No guarantee is weakened: WAL is flushed in order,
# so the money transaction's durable commit, which comes after the claim, makes the claim durable
# too; and if a crash loses a stored response, the key is still bound to its transaction in the
# money commit, and a retry replays the response rendered from that transaction (see
# ``idempotency_key_claim``). Visibility to other sessions is immediate either way. Inside an
# enclosing transaction (never on the request path) the plain statements are used, so a caller's
# commit is never relaxed.
_RELAXED = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
_CLAIM_SQL = """
    INSERT INTO ledger_idempotencykey (user_id, key, endpoint, fingerprint, locked_at, created_at)
    SELECT %s::bigint, %s::varchar, %s::varchar, %s::varchar, %s::timestamptz, %s::timestamptz FROM {source}
    ON CONFLICT ON CONSTRAINT ledger_idempotency_user_key_unique DO NOTHING
    RETURNING id
"""
_COMPLETE_SQL = """
    UPDATE ledger_idempotencykey SET response_status = %s, response_body = %s
      FROM {source} WHERE id = %s AND locked_at = %s
"""


def _key_write(sql: str) -> str:
    """``sql`` with the relaxed-commit source when it runs as its own transaction."""
    return sql.format(source="(SELECT 1) AS plain" if connection.in_atomic_block else _RELAXED)


def idempotency_key_claim(
    *,
    user: User,
    key: str,
    endpoint: str,
    fingerprint: str,
    render: Callable[[LedgerTransaction], Response],
) -> Claim:
    """Claim ``key`` for this request, or decide what an earlier request with it means."""
    now = timezone.now()
    with hot_path_cursor() as cursor:
        cursor.execute(_key_write(_CLAIM_SQL), [user.pk, key, endpoint, fingerprint, now, now])
        inserted = cursor.fetchone()
    if inserted is not None:
        row = IdempotencyKey(
            pk=inserted[0],
            user=user,
            key=key,
            endpoint=endpoint,
            fingerprint=fingerprint,
            locked_at=now,
            created_at=now,
        )
        row._state.adding = False
        row._state.db = connection.alias
        return Claim(row=row)
    row = IdempotencyKey.objects.select_related("transaction").get(user=user, key=key)
    if row.fingerprint != fingerprint or row.endpoint != endpoint:
        raise IdempotencyKeyReused()
    if row.response_status is not None:
        return Claim(row=row, replay=_replay(row.response_status, row.response_body or ""))
    stale = row.locked_at < now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT)
    if not stale:
        raise IdempotencyKeyInUse()
    if row.transaction is not None:
        # The first request moved money and then died before storing its response.
        response = render(row.transaction)
        body = idempotency_key_complete(row=row, status_code=response.status_code, body=response.data)
        return Claim(row=row, replay=_replay(response.status_code, body))
    # The first request died before moving money: take the key over (one winner).
    taken = IdempotencyKey.objects.filter(
        pk=row.pk, locked_at=row.locked_at, transaction__isnull=True, response_status__isnull=True
    ).update(locked_at=now)
    if not taken:
        raise IdempotencyKeyInUse()
    row.locked_at = now
    return Claim(row=row)


def idempotency_key_complete(*, row: IdempotencyKey, status_code: int, body: Any) -> str:
    """Store the rendered response to replay it for later requests with the same key."""
    rendered = _render(body)
    # Only while this request still holds the claim (a stale claim may have been taken over).
    with hot_path_cursor() as cursor:
        cursor.execute(_key_write(_COMPLETE_SQL), [status_code, rendered, row.pk, row.locked_at])
    return rendered


def idempotency_key_release(*, row: IdempotencyKey) -> bool:
    """Forget a key whose request moved no money, so that it can be retried. False when the
    request did move money (the key stays bound to its transaction)."""
    deleted, _ = IdempotencyKey.objects.filter(pk=row.pk, locked_at=row.locked_at, transaction__isnull=True).delete()
    return bool(deleted)


def idempotency_key_release_unmoved(*, row: IdempotencyKey) -> bool:
    """Forget a key bound to a transaction that moved no money (failed or voided), so a request
    that ended in a server error can be retried. False when its transaction is pending or posted."""
    deleted, _ = IdempotencyKey.objects.filter(
        pk=row.pk,
        locked_at=row.locked_at,
        transaction__status__in=(TransactionStatus.FAILED, TransactionStatus.VOIDED),
    ).delete()
    return bool(deleted)


def _released(*, row: IdempotencyKey, status_code: int) -> bool:
    """Release the key of a request that failed with ``status_code`` when it is not its answer."""
    if _stored(status_code):
        return False
    if idempotency_key_release(row=row):
        return True
    return status_code >= 500 and idempotency_key_release_unmoved(row=row)


def _stored(status_code: int) -> bool:
    """Business refusals are replayed like successes; bad input, conflicts and server errors
    are not (the client fixes the request, or retries)."""
    return status_code < 500 and status_code not in (status.HTTP_400_BAD_REQUEST, status.HTTP_409_CONFLICT)


def idempotent_post(
    request: Request,
    *,
    endpoint: str,
    handler: Callable[[IdempotencyKey | None], Response],
    render: Callable[[LedgerTransaction], Response],
) -> HttpResponse:
    """Run ``handler`` at most once per (user, Idempotency-Key); replay its response after."""
    key = idempotency_key_from_request(request)
    if key is None:
        return handler(None)
    user: User = request.user  # type: ignore[assignment]
    claim = idempotency_key_claim(
        user=user,
        key=key,
        endpoint=endpoint,
        fingerprint=request_fingerprint(endpoint=endpoint, data=request.data),
        render=render,
    )
    if claim.replay is not None:
        return claim.replay
    row = claim.row
    try:
        response = handler(row)
    except DomainError as exc:
        if not _released(row=row, status_code=exc.status_code):
            body = error_body(error_type_for(exc.status_code), exc.code, exc.detail, exc.attr)
            idempotency_key_complete(row=row, status_code=exc.status_code, body=body)
        raise
    except BaseException:
        idempotency_key_release(row=row)
        raise
    if row.response_status is not None and row.response_body is not None:
        return _rendered(response, row.response_body)  # stored by the service with the money
    stored = idempotency_key_complete(row=row, status_code=response.status_code, body=response.data)
    return _rendered(response, stored)


def idempotency_keys_delete_expired() -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL_HOURS`` (at least 24 h); returns the count."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
