"""Users in the Django admin: columns, search, actions, and the role hierarchy on save."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import AdminFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_changelist_shows_role_verification_and_token_version_and_searches() -> None:
    admin = AdminFactory.create()
    UserFactory.create(username="findme", email="findme@example.com")
    UserFactory.create(username="otherperson")
    response = _admin_client(admin).get("/admin/accounts/user/", {"q": "findme"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "findme" in html and "otherperson" not in html
    for column in ("column-role", "column-is_email_verified", "column-token_version"):
        assert column in html


def test_revoke_sessions_action_bumps_token_version_below_own_role_only() -> None:
    # given
    admin = AdminFactory.create()
    user, peer = UserFactory.create(), AdminFactory.create()
    # when
    response = _admin_client(admin).post(
        "/admin/accounts/user/", {"action": "revoke_sessions", "_selected_action": [user.pk, peer.pk]}, follow=True
    )
    # then
    assert response.status_code == 200
    user.refresh_from_db()
    peer.refresh_from_db()
    assert user.token_version == 1
    assert peer.token_version == 0


def test_deactivate_action() -> None:
    admin = AdminFactory.create()
    user = UserFactory.create()
    _admin_client(admin).post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [user.pk]})
    user.refresh_from_db()
    assert (user.is_active, user.token_version) == (False, 1)


def _change(client: Client, user, role: str):
    return client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"first_name": "Edited", "middle_name": "", "last_name": user.last_name, "role": role},
    )


def test_admin_role_change_obeys_the_hierarchy() -> None:
    # given
    admin = AdminFactory.create()
    user = UserFactory.create()
    client = _admin_client(admin)
    # when granting admin (not below the operator's own role)
    refused = _change(client, user, Role.ADMIN)
    # then the form refuses it
    assert refused.status_code == 200
    assert "below your own role" in refused.content.decode()
    user.refresh_from_db()
    assert user.role == Role.USER
    # when granting staff
    accepted = _change(client, user, Role.STAFF)
    # then it goes through the service: role changed, tokens revoked, names saved
    assert accepted.status_code == 302
    user.refresh_from_db()
    assert (user.role, user.token_version, user.first_name) == (Role.STAFF, 1, "Edited")


def test_staff_may_view_but_not_change_users() -> None:
    staff = StaffFactory.create()
    user = UserFactory.create()
    client = _admin_client(staff)
    assert client.get("/admin/accounts/user/").status_code == 200
    _change(client, user, Role.STAFF)
    user.refresh_from_db()
    assert user.role == Role.USER


def test_users_are_neither_added_nor_deleted_in_the_admin() -> None:
    client = _admin_client(AdminFactory.create())
    user = UserFactory.create()
    assert client.get("/admin/accounts/user/add/").status_code == 403
    assert client.get(f"/admin/accounts/user/{user.pk}/delete/").status_code == 403
