"""Celery tasks of accounts: take ids, re-fetch, call a service.

Handed over by the outbox relay after the change that wrote the outbox row committed, so an email
never leaves for a change that was rolled back. Sending failures (network, provider) are retried
with exponential backoff. Delivery is at least once.
"""

from __future__ import annotations

import logging

from anymail.exceptions import AnymailError
from celery import shared_task

from accounts import emails, services
from accounts.models import User

logger = logging.getLogger(__name__)

_RETRYABLE: tuple[type[BaseException], ...] = (OSError, AnymailError)


def _active_user(user_id: int) -> User | None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        logger.info("account email skipped: user %s is gone or inactive", user_id)
    return user


@shared_task(autoretry_for=_RETRYABLE, retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=6)
def verification_email_send(user_id: int) -> None:
    user = _active_user(user_id)
    if user is not None and not user.is_email_verified:
        emails.verification_email_send(user=user)


@shared_task(autoretry_for=_RETRYABLE, retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=6)
def password_reset_email_send(email: str) -> None:
    """Send the reset link to the active account with this address; nothing for an unknown one."""
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is not None:
        emails.password_reset_email_send(user=user)


@shared_task(autoretry_for=_RETRYABLE, retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=6)
def email_change_emails_send(user_id: int, new_email: str) -> None:
    user = _active_user(user_id)
    if user is not None:
        emails.email_change_emails_send(user=user, new_email=new_email)


@shared_task
def expired_tokens_purge() -> dict[str, int]:
    """Periodic (Celery beat): drop denylisted access tokens and refresh-token records that
    have expired anyway, so the lookups stay small."""
    return services.expired_tokens_purge()
