"""Row locks of accounts. Lock, re-read, re-check, write, commit — nothing slow in between."""

from __future__ import annotations

from accounts.models import User


def user_lock(*, user_id: int) -> User | None:
    """The user row locked ``FOR UPDATE`` (inside a transaction), or None if it is gone."""
    return User.objects.select_for_update(of=("self",)).filter(pk=user_id).first()
