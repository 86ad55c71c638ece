"""Roles and their weights; Django's staff/superuser flags follow the role."""

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError

from accounts.models import ROLE_ADMIN_PERMISSIONS, Role, User, role_weight
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


@pytest.mark.django_db
def test_every_listed_admin_permission_exists() -> None:
    existing = {
        f"{app}.{codename}" for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    listed = set().union(*ROLE_ADMIN_PERMISSIONS.values())
    assert listed - existing == set()


@pytest.mark.parametrize("role", [Role.USER, Role.STAFF, Role.ADMIN])
def test_roles_hold_exactly_their_listed_admin_permissions(role: str) -> None:
    # given a user of the role
    user = User(username="x", role=role)
    listed = ROLE_ADMIN_PERMISSIONS.get(role, frozenset())
    # then the role's list decides alone, unknown permissions are denied
    assert user.get_all_permissions() == set(listed)
    assert all(user.has_perm(perm) for perm in listed)
    assert not user.has_perm("accounts.delete_user")
    assert not user.has_perm("sessions.view_session")
    assert user.has_module_perms("accounts") == any(p.startswith("accounts.") for p in listed)
    assert user.has_module_perms("sessions") is False


def test_superusers_hold_every_permission_and_inactive_users_none() -> None:
    assert User(role=Role.SUPERUSER).has_perm("anything.at_all")
    assert not User(role=Role.SUPERUSER, is_active=False).has_perm("accounts.view_user")
    assert not User(role=Role.ADMIN, is_active=False).has_module_perms("accounts")


def test_the_session_hash_changes_with_the_token_version() -> None:
    user = User(username="x", password="hash")
    before = user.get_session_auth_hash()
    user.token_version += 1
    assert user.get_session_auth_hash() != before
