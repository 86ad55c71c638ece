"""Log-in by username or email (both case-insensitive), through Django's ModelBackend."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models.functions import Lower
from django.http import HttpRequest

from accounts.models import User
from accounts.validators import user_identifier


class UsernameOrEmailBackend(ModelBackend):
    """``username`` may be the username or the email address.

    ``accounts.validators.user_identifier`` decides which: a value with ``@`` is an email
    (usernames never contain one). An unknown user still costs one password hash, like
    ModelBackend, so timing does not reveal which accounts exist. A matching legacy hash (bcrypt)
    is upgraded on success.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not username or password is None:
            return None
        identifier = user_identifier(username)
        user = User.objects.alias(folded=Lower(identifier.field)).filter(folded=identifier.value).first()
        if user is None:
            User().set_password(password)  # same cost as a real check
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
