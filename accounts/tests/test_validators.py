"""accounts.validators: one rule for naming a user (username or email), usernames' shape."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.validators import UserIdentifier, identifier_is_unambiguous, user_identifier


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Bob@Example.COM", UserIdentifier("email", "bob@example.com")),
        ("  Bob ", UserIdentifier("username", "bob")),
        ("\uff42\uff4f\uff42", UserIdentifier("username", "bob")),  # full-width letters fold by NFKC
        ("bob\uff20example.com", UserIdentifier("email", "bob@example.com")),  # full-width @ too
    ],
)
def test_an_identifier_with_an_at_sign_is_an_email_else_a_username(typed: str, expected: UserIdentifier) -> None:
    assert user_identifier(typed) == expected


def test_a_username_never_contains_an_at_sign_even_through_the_model() -> None:
    with pytest.raises(ValidationError) as error:
        User(username="a@b.example", email="a@b.example").clean_fields(exclude=["password"])
    assert "username" in error.value.message_dict


@pytest.mark.parametrize(("value", "unambiguous"), [("alice", True), ("\u0430lice", False), ("jos\u00e9", True)])
def test_mixed_scripts_are_ambiguous(value: str, unambiguous: bool) -> None:
    assert identifier_is_unambiguous(value) is unambiguous
