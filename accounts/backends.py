"""Log-in by username or email (both case-insensitive), through Django's ModelBackend."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import User
from accounts.validators import identifier_normalize


class UsernameOrEmailBackend(ModelBackend):
    """``username`` may be the username or the email address.

    Usernames cannot contain ``@`` (see ``accounts.validators``), so a value with ``@`` is an
    email. An unknown user still costs one password hash, like ModelBackend, so timing does
    not reveal which accounts exist. A matching legacy hash (bcrypt) is upgraded on success.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not username or password is None:
            return None
        username = identifier_normalize(username)
        lookup = {"email__iexact": username} if "@" in username else {"username__iexact": username}
        user = User.objects.filter(**lookup).first()
        if user is None:
            User().set_password(password)  # same cost as a real check
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
