"""Users in the Django admin: columns, search, actions, and the role hierarchy on save."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import AdminFactory, StaffFactory, UserFactory
from audit.models import AuditAction, AuditEvent

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
        "/admin/accounts/user/",
        {"action": "revoke_sessions", "_selected_action": [user.pk, peer.pk], "apply": "1", "reason": "phished"},
        follow=True,
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
    client = _admin_client(admin)
    # when the action is chosen, an intermediate page asks for the reason; nothing changes yet
    page = client.post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [user.pk]})
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    user.refresh_from_db()
    assert user.is_active
    # an empty reason is refused
    client.post(
        "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [user.pk], "apply": "1", "reason": " "}
    )
    user.refresh_from_db()
    assert user.is_active
    # when confirmed with a reason
    client.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "_selected_action": [user.pk], "apply": "1", "reason": "account closed"},
    )
    user.refresh_from_db()
    assert (user.is_active, user.token_version) == (False, 1)
    event = AuditEvent.objects.get(action=AuditAction.USER_DEACTIVATE)
    assert (event.actor_id, event.target_id, event.reason) == (admin.pk, str(user.pk), "account closed")
    assert event.ip_address == "127.0.0.1"


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
    assert "Select a valid choice" in refused.content.decode()  # not even offered
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


def test_resend_verification_action_queues_an_email_for_unverified_users_only(
    mailoutbox, django_capture_on_commit_callbacks
) -> None:
    # given
    staff = StaffFactory.create()
    unverified = UserFactory.create(is_email_verified=False)
    verified = UserFactory.create()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _admin_client(staff).post(
            "/admin/accounts/user/",
            {"action": "resend_verification", "_selected_action": [unverified.pk, verified.pk]},
            follow=True,
        )
    # then
    assert response.status_code == 200
    assert [message.to for message in mailoutbox] == [[unverified.email]]
    assert list(AuditEvent.objects.values_list("action", "target_id")) == [
        (AuditAction.USER_VERIFICATION_RESEND, str(unverified.pk))
    ]


def test_role_choices_stop_below_the_operator_and_own_role_is_read_only() -> None:
    # given
    admin = AdminFactory.create()
    user = UserFactory.create()
    client = _admin_client(admin)
    # when
    other = client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    own = client.get(f"/admin/accounts/user/{admin.pk}/change/").content.decode()
    # then only roles below admin are offered; on one's own page the role cannot be edited
    assert 'value="staff"' in other and 'value="user"' in other
    assert 'value="admin"' not in other and 'value="superuser"' not in other
    assert 'name="role"' not in own
    # and the role change is audited with before/after
    _change(client, user, Role.STAFF)
    event = AuditEvent.objects.get(action=AuditAction.USER_ROLE_CHANGE)
    assert event.before is not None and event.after is not None
    assert (event.before["role"], event.after["role"]) == ("user", "staff")
    names = AuditEvent.objects.get(action=AuditAction.USER_PROFILE_UPDATE)
    assert (names.actor_id, names.after) == (admin.pk, {"first_name": "Edited"})
