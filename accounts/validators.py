"""Input rules of accounts that serializers and services share.

Identifiers (usernames, and what is typed to name a user: log-in, transfer recipient) are
NFKC-normalised first, so full-width and other compatibility forms fold into the characters
they look like (a full-width ``alice`` is ``alice``). A username uses one script (alphabet) only
and does not mix look-alike characters of several (``alice`` with a Cyrillic first letter), so a
payment recipient can be told apart from the user it imitates.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from confusable_homoglyphs import categories, confusables
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

# Usernames that would shadow a route under /api/v1/users/.
RESERVED_USERNAMES = frozenset({"me"})


def identifier_normalize(value: str) -> str:
    """The canonical form of a username or email as typed: NFKC, surrounding space removed."""
    return unicodedata.normalize("NFKC", value).strip()


@dataclass(frozen=True)
class UserIdentifier:
    """What names a user as typed (log-in, transfer recipient), in the one form every lookup uses:
    ``field`` is ``email`` when it contains "@" (usernames never do: ``UsernameValidator``), else
    ``username``; ``value`` is normalised and lower-cased, to match ``LOWER(field)`` (the
    case-insensitive unique indexes)."""

    field: Literal["username", "email"]
    value: str


def user_identifier(raw: str) -> UserIdentifier:
    value = identifier_normalize(raw).lower()
    return UserIdentifier("email" if "@" in value else "username", value)


def identifier_is_unambiguous(value: str) -> bool:
    """One script only (digits and punctuation are common to all), and no mix of look-alikes."""
    scripts = categories.unique_aliases(value) - {"COMMON"}
    return len(scripts) <= 1 and not confusables.is_dangerous(value)


class UsernameValidator(UnicodeUsernameValidator):
    """Starts with a letter or digit, then letters, digits and ``. + - _`` — no ``@`` (a log-in
    name with ``@`` is always an email), and no leading ``+``/``-`` that a spreadsheet would read
    as a formula."""

    regex = r"^[^\W_][\w.+-]*\Z"
    message = "Enter a valid username: a letter or digit first, then letters, digits and . + - _ only."


def validate_username_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_USERNAMES:
        raise ValidationError("This username is reserved.", code="reserved")


def validate_username_unambiguous(value: str) -> None:
    if not identifier_is_unambiguous(value):
        raise ValidationError(
            "Usernames may not mix alphabets (for example Latin with Cyrillic or Greek look-alikes).",
            code="confusable",
        )
