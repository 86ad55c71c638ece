"""The outbox in the admin: read-only rows, failures visible, a retry action."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from outbox.models import OutboxMessage, OutboxStatus

pytestmark = pytest.mark.django_db


def _superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("outbox-ops", "ops@example.com", "x-Long-enough-passw0rd")
    client = Client()
    client.force_login(user)
    return client


def test_failed_rows_are_listed_with_their_error_and_can_be_retried(
    recorded: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    # given a failed row and a sent one
    failed = OutboxMessage.objects.create(
        topic="tests.record", payload={"n": 1}, status=OutboxStatus.FAILED, attempts=8, last_error="SMTPError: down"
    )
    sent = OutboxMessage.objects.create(topic="tests.record", payload={"n": 2}, status=OutboxStatus.SENT)
    client = _superuser_client()

    # when an operator filters the failed rows
    listing = client.get("/admin/outbox/outboxmessage/", {"status__exact": "failed"})

    # then the failure and its error are shown
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "SMTPError: down" in html and f"/outboxmessage/{sent.pk}/change/" not in html

    # when they retry both rows
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/outbox/outboxmessage/",
            {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    # then the failed row is sent again (the sent one is left alone)
    assert response.status_code == 200
    assert "1 row(s) queued again; 1 skipped" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == OutboxStatus.SENT and failed.attempts == 1
    assert recorded == [{"n": 1}]


def test_rows_cannot_be_added_edited_or_deleted() -> None:
    message = OutboxMessage.objects.create(topic="tests.record", payload={})
    client = _superuser_client()

    assert client.get("/admin/outbox/outboxmessage/add/").status_code == 403
    assert client.post(f"/admin/outbox/outboxmessage/{message.pk}/change/", {"topic": "x"}).status_code == 403
    assert client.get(f"/admin/outbox/outboxmessage/{message.pk}/delete/").status_code == 403
