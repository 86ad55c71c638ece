"""Users API: me, staff-only list/search/lookup, admin-only role change with the hierarchy rule."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.tests.conftest import bearer, error_attr, error_code, login
from accounts.tests.factories import AdminFactory, StaffFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client_for(user: User) -> APIClient:
    return bearer(login(APIClient(), user)["access"])


def test_me_returns_the_user_object() -> None:
    user = UserFactory.create(first_name="Ann", middle_name="B", last_name="Cole")
    body = _client_for(user).get("/api/v1/users/me/").json()
    assert body == {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "first_name": "Ann",
        "middle_name": "B",
        "last_name": "Cole",
        "role": "user",
        "is_email_verified": True,
        "date_joined": body["date_joined"],
    }
    assert body["date_joined"].endswith("Z") or "+00:00" in body["date_joined"]


def test_patch_me_changes_names_only_and_ignores_everything_else() -> None:
    # given
    user = UserFactory.create(is_email_verified=False)
    client = _client_for(user)
    # when
    response = client.patch(
        "/api/v1/users/me/",
        {
            "first_name": "New",
            "role": "superuser",
            "email": "hijack@example.com",
            "username": "renamed",
            "is_email_verified": True,
            "token_version": 99,
            "id": 12345,
            "unknown": "x",
        },
        format="json",
    )
    # then
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.first_name == "New"
    assert (user.role, user.email, user.username, user.is_email_verified, user.token_version) == (
        Role.USER,
        user.email,
        user.username,
        False,
        0,
    )
    assert user.email != "hijack@example.com"
    assert response.json()["first_name"] == "New"


def test_put_me_replaces_the_name_fields() -> None:
    user = UserFactory.create(middle_name="Mid")
    response = _client_for(user).put("/api/v1/users/me/", {"first_name": "A", "last_name": "B"}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.middle_name, user.last_name) == ("A", "", "B")


def test_put_me_without_required_names_is_400() -> None:
    response = _client_for(UserFactory.create()).put("/api/v1/users/me/", {"first_name": "A"}, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "last_name"


def test_oversized_name_is_400_and_changes_nothing() -> None:
    user = UserFactory.create(first_name="Keep")
    response = _client_for(user).patch("/api/v1/users/me/", {"first_name": "x" * 100_000}, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "first_name"
    user.refresh_from_db()
    assert user.first_name == "Keep"


def test_me_requires_authentication(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/users/me/").status_code == 401
    assert api_client.patch("/api/v1/users/me/", {"first_name": "x"}, format="json").status_code == 401


# --- Staff list and lookup ------------------------------------------------------------------------
def test_a_user_cannot_list_or_read_other_users() -> None:
    user, other = UserFactory.create(), UserFactory.create()
    client = _client_for(user)
    for path in ("/api/v1/users/", f"/api/v1/users/{other.username}/", f"/api/v1/users/{other.pk}/"):
        response = client.get(path)
        assert response.status_code == 403
        assert error_code(response) == "permission_denied"
        assert other.email not in response.content.decode()


def test_a_user_cannot_change_another_user() -> None:
    user, other = UserFactory.create(), UserFactory.create()
    client = _client_for(user)
    assert client.patch(f"/api/v1/users/{other.username}/", {"first_name": "X"}, format="json").status_code in (
        403,
        405,
    )
    response = client.post(f"/api/v1/users/{other.username}/role/", {"role": "staff"}, format="json")
    assert response.status_code == 403
    other.refresh_from_db()
    assert other.role == Role.USER
    assert other.first_name != "X"


def test_staff_lists_users_with_pagination_and_search() -> None:
    # given
    staff = StaffFactory.create(username="staffer")
    for i in range(5):
        UserFactory.create(username=f"zed{i}", email=f"zed{i}@example.com")
    UserFactory.create(username="other", first_name="Zedekiah")
    client = _client_for(staff)
    # when
    page = client.get("/api/v1/users/", {"limit": "2"}).json()
    searched = client.get("/api/v1/users/", {"search": "ZED", "limit": "200"}).json()
    # then
    assert set(page) == {"results", "next", "previous"}
    assert len(page["results"]) == 2
    assert page["next"] and page["previous"] is None
    following = client.get(page["next"]).json()
    assert {u["id"] for u in following["results"]}.isdisjoint({u["id"] for u in page["results"]})
    assert {u["username"] for u in searched["results"]} == {f"zed{i}" for i in range(5)} | {"other"}


def test_staff_reads_a_user_by_username_case_insensitively() -> None:
    staff = StaffFactory.create()
    other = UserFactory.create(username="Bobby")
    response = _client_for(staff).get("/api/v1/users/bobby/")
    assert response.status_code == 200
    assert response.json()["id"] == other.pk


def test_unknown_username_is_404() -> None:
    response = _client_for(StaffFactory.create()).get("/api/v1/users/nobody/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_overlong_search_is_400() -> None:
    response = _client_for(StaffFactory.create()).get("/api/v1/users/", {"search": "x" * 300})
    assert response.status_code == 400


# --- Role change --------------------------------------------------------------------------------------
def test_admin_changes_a_users_role_and_revokes_their_tokens() -> None:
    # given
    admin = AdminFactory.create()
    target = UserFactory.create()
    target_access = login(APIClient(), target)["access"]
    # when
    response = _client_for(admin).post(f"/api/v1/users/{target.username}/role/", {"role": "staff"}, format="json")
    # then
    assert response.status_code == 200
    assert response.json()["role"] == "staff"
    target.refresh_from_db()
    assert target.role == Role.STAFF and target.is_staff
    revoked = bearer(target_access).get("/api/v1/users/me/")
    assert (revoked.status_code, error_code(revoked)) == (401, "token_revoked")


@pytest.mark.parametrize(
    ("actor_factory", "target_role", "new_role"),
    [
        (StaffFactory, Role.USER, "staff"),  # staff may not change roles at all
        (AdminFactory, Role.USER, "admin"),  # not to their own level
        (AdminFactory, Role.USER, "superuser"),
        (AdminFactory, Role.ADMIN, "user"),  # not on an equal
        (AdminFactory, Role.SUPERUSER, "user"),
        (SuperuserFactory, Role.USER, "superuser"),
    ],
)
def test_role_change_refused_by_the_hierarchy(actor_factory, target_role: str, new_role: str) -> None:
    actor = actor_factory.create()
    target = UserFactory.create(role=target_role)
    response = _client_for(actor).post(f"/api/v1/users/{target.username}/role/", {"role": new_role}, format="json")
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    target.refresh_from_db()
    assert (target.role, target.token_version) == (target_role, 0)


def test_nobody_grants_a_role_to_themselves() -> None:
    admin = AdminFactory.create()
    response = _client_for(admin).post(f"/api/v1/users/{admin.username}/role/", {"role": "staff"}, format="json")
    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_unknown_role_is_400_on_role() -> None:
    admin = AdminFactory.create()
    target = UserFactory.create()
    response = _client_for(admin).post(f"/api/v1/users/{target.username}/role/", {"role": "overlord"}, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "role"


def test_role_change_of_unknown_user_is_404() -> None:
    response = _client_for(AdminFactory.create()).post("/api/v1/users/ghost/role/", {"role": "staff"}, format="json")
    assert response.status_code == 404


def test_superuser_grants_admin() -> None:
    target = StaffFactory.create()
    response = _client_for(SuperuserFactory.create()).post(
        f"/api/v1/users/{target.username}/role/", {"role": "admin"}, format="json"
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.role == Role.ADMIN
