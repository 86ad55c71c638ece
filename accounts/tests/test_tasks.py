"""Celery tasks: emails to inactive users are skipped; the periodic purge is scheduled."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail

from accounts import tasks
from accounts.tests.factories import UserFactory


@pytest.mark.django_db
def test_email_tasks_skip_inactive_users() -> None:
    user = UserFactory.create(is_active=False)
    tasks.password_reset_email_send.delay(user.email)
    tasks.password_reset_email_send.delay("nobody@example.com")
    tasks.verification_email_send.delay(user.pk)
    assert mail.outbox == []


@pytest.mark.django_db
def test_verification_task_skips_verified_addresses() -> None:
    user = UserFactory.create(is_email_verified=True)
    tasks.verification_email_send.delay(user.pk)
    assert mail.outbox == []


def test_purge_is_in_the_beat_schedule() -> None:
    entries = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "accounts.tasks.expired_tokens_purge" in entries


@pytest.mark.django_db
def test_purge_task_runs() -> None:
    assert tasks.expired_tokens_purge.delay().get() == {"revoked_access_tokens": 0, "issued_refresh_tokens": 0}
