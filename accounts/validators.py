"""Input rules of accounts that serializers and services share."""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

# Usernames that would shadow a route under /api/v1/users/.
RESERVED_USERNAMES = frozenset({"me"})


class UsernameValidator(UnicodeUsernameValidator):
    """Letters, digits and ``. + - _`` — no ``@``, so a log-in name with ``@`` is always an email."""

    regex = r"^[\w.+-]+\Z"
    message = "Enter a valid username: letters, digits and . + - _ only."


def validate_username_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_USERNAMES:
        raise ValidationError("This username is reserved.", code="reserved")
