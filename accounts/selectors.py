"""Reads of accounts: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.validators import identifier_normalize


def user_list(*, search: str | None = None) -> QuerySet[User]:
    """Users, optionally filtered by a case-insensitive match on username, email or names."""
    users = User.objects.all()
    if search:
        users = users.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(middle_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    return users


def user_get_by_username(*, username: str) -> User | None:
    return User.objects.filter(username__iexact=identifier_normalize(username)).first()


def user_get_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first()
