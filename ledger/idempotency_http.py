"""REST side of idempotency: the ``Idempotency-Key`` header in, the recorded outcome rendered
out. The operation-level mechanism is ``ledger.idempotency``; this only adapts it to DRF."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from ledger.exceptions import InvalidIdempotencyKey
from ledger.idempotency import Outcome, RecordedError, idempotent
from ledger.models import IdempotencyKey
from vaultcore.errors import error_body, error_type_for

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# fullmatch: ``$`` would also accept a key with a trailing newline.
_KEY_RE = re.compile(r"[\x20-\x7e]{1,255}")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "1-255 printable ASCII characters. The same key from the same user with the same body "
        "returns the first response again (header `Idempotent-Replayed: true`) and moves no money; "
        "with a different body: 422 `idempotency_key_reused`; while the first request runs: 409 "
        "`idempotency_key_in_use`. Kept at least 24 hours. Business refusals (403/404/422/423) are "
        "replayed too; bad input (400) is not stored."
    ),
)


def idempotency_key_from_request(request: Request | HttpRequest) -> str | None:
    """The request's key, None without the header, or 400 for an empty/long/non-ASCII key."""
    return idempotency_key_check(request.headers.get(HEADER))


def idempotency_key_check(raw: str | None) -> str | None:
    """``raw`` when it is a valid key (None stays None), else 400 ``invalid``."""
    if raw is None:
        return None
    if not _KEY_RE.fullmatch(raw):
        raise InvalidIdempotencyKey()
    return raw


def idempotent_post(
    request: Request,
    *,
    operation: str,
    params: Mapping[str, Any],
    run: Callable[[IdempotencyKey | None], Outcome],
    render: Callable[[Outcome], Response],
) -> Response:
    """Run the operation at most once per (user, Idempotency-Key) and render its outcome; a
    replay renders the recorded outcome the same way (so the same bytes), marked replayed."""
    user: User = request.user  # type: ignore[assignment]
    try:
        outcome, replayed = idempotent(
            user=user, key=idempotency_key_from_request(request), operation=operation, params=params, run=run
        )
    except RecordedError as exc:
        body = error_body(error_type_for(exc.status_code), exc.code, exc.detail, exc.attr)
        response = Response(body, status=exc.status_code)
        response[REPLAYED_HEADER] = "true"
        return response
    response = render(outcome)
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response
