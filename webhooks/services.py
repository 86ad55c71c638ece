"""Writes of webhooks: endpoints (create, update, rotate, delete), the fan-out of events to
endpoint deliveries, and the delivery attempts.

Nothing here sends HTTP inside a database transaction: an attempt claims its delivery (and
the endpoint's one in-flight lease) in a short transaction, sends with no transaction open, then
records the result and schedules the next attempt in another short transaction. Every scheduled
attempt is an outbox row, so a broker outage delays deliveries but loses none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from events.models import Event
from events.serializers import event_payload
from outbox.services import outbox_enqueue
from vaultcore.metrics import webhook_delivery_record
from webhooks.exceptions import EndpointLimitReached, EndpointUrlNotAllowed
from webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from webhooks.network import SendResult, UnsafeUrl, post_checked, url_check
from webhooks.signing import secret_generate, signature_header

logger = logging.getLogger("webhooks")

DELIVER_TOPIC = "webhooks.deliver"
DISABLED_EMAIL_TOPIC = "webhooks.endpoint_disabled_email"
# The waits before attempts 2, 3, ... 8 (about 28 h in all); after the 8th the delivery fails.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
FAILING_DISABLE_AFTER = timedelta(days=5)
SECRET_OVERLAP = timedelta(hours=24)
# An endpoint busy with another delivery: this one waits that long and tries again.
BUSY_RETRY_DELAY = timedelta(seconds=2)


def _url_checked(url: str) -> str:
    try:
        url_check(url)
    except UnsafeUrl as exc:
        raise EndpointUrlNotAllowed(str(exc)) from exc
    return url


@transaction.atomic
def endpoint_create(
    *, user: User | None, url: str, event_types: Sequence[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown to the caller only now). ``user`` None makes a
    platform endpoint (every user's events; admins only, from the admin). Keeps: at most
    ``WEBHOOK_MAX_ENDPOINTS_PER_USER`` per user (the user row is locked while counting)."""
    _url_checked(url)
    if user is not None:
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
        if WebhookEndpoint.objects.filter(user=user).count() >= settings.WEBHOOK_MAX_ENDPOINTS_PER_USER:
            raise EndpointLimitReached()
    secret = secret_generate()
    endpoint = WebhookEndpoint(user=user, url=url, event_types=list(event_types), description=description)
    endpoint.secret = secret
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change ``url``, ``event_types``, ``description`` or ``status`` (re-enabling clears the
    failure record); a new URL is checked like a new endpoint's."""
    if "url" in changes:
        endpoint.url = _url_checked(changes["url"])
    if "event_types" in changes:
        endpoint.event_types = list(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "status" in changes and changes["status"] != endpoint.status:
        endpoint.status = changes["status"]
        endpoint.disabled_reason = "" if endpoint.status == EndpointStatus.ENABLED else "disabled by its owner"
        endpoint.failing_since = None
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret; the current one keeps signing next to it for ``SECRET_OVERLAP``."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = secret_generate()
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
    locked.secret = secret
    locked.save()
    endpoint.refresh_from_db()
    return secret


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its deliveries and attempts (pending ones are never sent)."""
    endpoint.delete()


def endpoint_signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets signing now: the current one, and the previous one during the overlap."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if expires is not None and now < expires and endpoint.previous_secret_encrypted:
        previous = endpoint.previous_secret
        if previous:
            found.append(previous)
    return found


# --- Fan-out ------------------------------------------------------------------------------------
def events_dispatch(*, event_ids: Iterable[str]) -> int:
    """Create the deliveries of these events (by public id) to every enabled endpoint that wants
    them, and schedule their first attempts; returns how many were created. Idempotent: a
    (endpoint, event) pair is delivered once, however often this runs."""
    events = list(Event.objects.filter(pk__in=list(event_ids)).order_by("user_id", "sequence"))
    if not events:
        return 0
    user_ids = {event.user_id for event in events}
    endpoints = list(
        WebhookEndpoint.objects.filter(Q(user_id__in=user_ids) | Q(user__isnull=True), status=EndpointStatus.ENABLED)
    )
    wanted = [
        WebhookDelivery(endpoint=endpoint, event=event)
        for event in events
        for endpoint in endpoints
        if (endpoint.user_id is None or endpoint.user_id == event.user_id) and endpoint.wants(event.type)
    ]
    if not wanted:
        return 0
    with transaction.atomic(durable=True):
        existing = set(
            WebhookDelivery.objects.filter(event__in=events, endpoint__in=endpoints).values_list(
                "endpoint_id", "event_id"
            )
        )
        new = [d for d in wanted if (d.endpoint_id, d.event_id) not in existing]
        WebhookDelivery.objects.bulk_create(new, ignore_conflicts=True)
        created = WebhookDelivery.objects.filter(
            event__in=events, endpoint__in=endpoints, status=DeliveryStatus.PENDING, attempts=0
        ).values_list("pk", flat=True)
        for pk in created:
            outbox_enqueue(topic=DELIVER_TOPIC, payload={"delivery_id": pk, "attempt": 1})
    return len(new)


# --- Attempts -----------------------------------------------------------------------------------
def _claim(*, delivery_id: int, attempt: int | None, now: datetime) -> tuple[WebhookDelivery | None, bool]:
    """Claim the delivery for one attempt (``attempt`` None: a manual resend) and lease its
    endpoint: ``(delivery, False)``. ``(None, False)``: nothing to do (already done, a duplicate,
    endpoint gone or disabled); ``(None, True)``: the endpoint (or this delivery) is busy with
    another attempt (try again shortly)."""
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    with transaction.atomic(durable=True):
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None, False
        if delivery.leased_until is not None and delivery.leased_until > now:
            return None, True
        if attempt is not None and (delivery.status != DeliveryStatus.PENDING or delivery.attempts != attempt - 1):
            return None, False  # a duplicate of an attempt already made (at-least-once relay)
        endpoint = delivery.endpoint
        if endpoint.status != EndpointStatus.ENABLED:
            if delivery.status == DeliveryStatus.PENDING:
                delivery.status = DeliveryStatus.CANCELED
                delivery.save(update_fields=["status", "updated_at"])
            return None, False
        leased = WebhookEndpoint.objects.filter(
            Q(busy_until__isnull=True) | Q(busy_until__lt=now), pk=endpoint.pk
        ).update(busy_until=lease)
        if not leased:
            return None, True
        delivery.leased_until = lease
        delivery.save(update_fields=["leased_until", "updated_at"])
    return delivery, False


def _send(delivery: WebhookDelivery, *, now: datetime) -> SendResult:
    endpoint = delivery.endpoint
    body = json.dumps(event_payload(delivery.event), separators=(",", ":"))
    msg_id = delivery.event.event_id
    try:
        target = url_check(endpoint.url)
    except UnsafeUrl as exc:
        return SendResult(status_code=None, body="", error=f"URL not allowed: {exc}", duration_ms=0)
    headers = {
        "content-type": "application/json",
        "user-agent": "VaultCore-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header(
            secrets_=endpoint_signing_secrets(endpoint, now=now), msg_id=msg_id, timestamp=now, body=body
        ),
    }
    return post_checked(target, body=body.encode(), headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


def delivery_attempt(*, delivery_id: int, attempt: int | None = None) -> WebhookAttempt | None:
    """Make attempt ``attempt`` of a delivery (None: send it again now, on request) and record it.

    A failed scheduled attempt schedules the next one (``RETRY_SCHEDULE``) or, after the last,
    fails the delivery; an endpoint whose attempts have all failed for ``FAILING_DISABLE_AFTER``
    is disabled and its owner emailed. Returns the recorded attempt (None when nothing was sent).
    """
    now = timezone.now()
    delivery, busy = _claim(delivery_id=delivery_id, attempt=attempt, now=now)
    if busy:
        payload = {"delivery_id": delivery_id, "attempt": attempt}
        with transaction.atomic(durable=True):
            outbox_enqueue(topic=DELIVER_TOPIC, payload=payload, delay=BUSY_RETRY_DELAY)
        return None
    if delivery is None:
        return None
    try:
        result = _send(delivery, now=now)  # no transaction open: network only
    except Exception as exc:  # a bug must not leave the delivery leased and never retried
        logger.exception("webhook delivery %s: attempt failed inside the sender", delivery.pk)
        result = SendResult(status_code=None, body="", error=f"internal error ({type(exc).__name__})", duration_ms=0)
    return _record(delivery=delivery, attempt=attempt, result=result)


@transaction.atomic(durable=True)
def _record(*, delivery: WebhookDelivery, attempt: int | None, result: SendResult) -> WebhookAttempt:
    now = timezone.now()
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    number = attempt if attempt is not None else locked.attempts + 1
    record = WebhookAttempt.objects.create(
        delivery=locked,
        endpoint=endpoint,
        attempt=number,
        manual=attempt is None,
        status_code=result.status_code,
        succeeded=result.succeeded,
        error=result.error[:255],
        duration_ms=result.duration_ms,
        response_body=result.body,
        created_at=now,
    )
    locked.leased_until = None
    if result.succeeded:
        locked.status = DeliveryStatus.SUCCEEDED
        locked.next_attempt_at = None
        endpoint.failing_since = None
    else:
        endpoint.failing_since = endpoint.failing_since or now
    if attempt is not None:
        locked.attempts = attempt
        if not result.succeeded:
            if attempt < MAX_ATTEMPTS:
                delay = RETRY_SCHEDULE[attempt - 1]
                locked.next_attempt_at = now + delay
                outbox_enqueue(
                    topic=DELIVER_TOPIC, payload={"delivery_id": locked.pk, "attempt": attempt + 1}, delay=delay
                )
            else:
                locked.status = DeliveryStatus.FAILED
                locked.next_attempt_at = None
    locked.save()
    if result.succeeded:
        webhook_delivery_record(outcome="delivered")
    else:
        webhook_delivery_record(outcome="retrying" if locked.status == DeliveryStatus.PENDING else "failed")
    endpoint.busy_until = None
    if (
        endpoint.status == EndpointStatus.ENABLED
        and endpoint.failing_since is not None
        and now - endpoint.failing_since >= FAILING_DISABLE_AFTER
    ):
        _endpoint_disable_failing(endpoint)
    endpoint.save(update_fields=["busy_until", "failing_since", "status", "disabled_reason", "updated_at"])
    return record


def _endpoint_disable_failing(endpoint: WebhookEndpoint) -> None:
    endpoint.status = EndpointStatus.DISABLED
    endpoint.disabled_reason = "every delivery failed for 5 days"
    logger.warning("webhook endpoint %s disabled: every delivery failed for 5 days", endpoint.endpoint_id)
    if endpoint.user_id is not None:
        outbox_enqueue(topic=DISABLED_EMAIL_TOPIC, payload={"endpoint_id": str(endpoint.pk)})


def delivery_resend(*, delivery: WebhookDelivery) -> None:
    """Send ``delivery``'s event to its endpoint again now (API retry, admin "send again")."""
    with transaction.atomic(durable=True):
        outbox_enqueue(topic=DELIVER_TOPIC, payload={"delivery_id": delivery.pk, "attempt": None})
