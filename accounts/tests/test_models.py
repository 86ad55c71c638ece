"""Roles and their weights; Django's staff/superuser flags follow the role."""

import pytest
from django.db import IntegrityError

from accounts.models import Role, User, role_weight
from accounts.tests.factories import UserFactory


def test_role_weights_are_ordered() -> None:
    assert role_weight(Role.SUPERUSER) > role_weight(Role.ADMIN) > role_weight(Role.STAFF) > role_weight(Role.USER)
    assert (role_weight(Role.SUPERUSER), role_weight(Role.ADMIN), role_weight(Role.STAFF)) == (100, 75, 50)
    assert role_weight(Role.USER) == 10


@pytest.mark.parametrize(
    ("role", "is_staff", "is_superuser"),
    [(Role.USER, False, False), (Role.STAFF, True, False), (Role.ADMIN, True, False), (Role.SUPERUSER, True, True)],
)
def test_django_flags_follow_the_role(role: str, is_staff: bool, is_superuser: bool) -> None:
    user = User(role=role)
    assert user.is_staff is is_staff
    assert user.is_superuser is is_superuser


def test_has_role_at_least() -> None:
    staff = User(role=Role.STAFF)
    assert staff.has_role_at_least(Role.USER)
    assert staff.has_role_at_least(Role.STAFF)
    assert not staff.has_role_at_least(Role.ADMIN)


@pytest.mark.django_db
def test_username_and_email_are_unique_regardless_of_case() -> None:
    UserFactory.create(username="Alice", email="Alice@Example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user("alice", "other@example.com", "x")


@pytest.mark.django_db
def test_email_unique_regardless_of_case() -> None:
    UserFactory.create(username="bob", email="Bob@Example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user("bobby", "bob@example.COM", "x")


@pytest.mark.django_db
def test_database_rejects_an_unknown_role() -> None:
    user = UserFactory.create()
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(role="overlord")
