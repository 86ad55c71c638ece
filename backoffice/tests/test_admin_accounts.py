"""Users in the Django admin: columns, search, actions, and the role hierarchy on save."""

from __future__ import annotations

import re

import httpx
import pytest
from django.db import connection
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from accounts.models import Role
from accounts.tests.factories import DEFAULT_PASSWORD, AdminFactory, StaffFactory, SuperuserFactory, UserFactory
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


# --- No way from the admin to anyone's tokens (deny-by-default admin permissions) -------------
_ADMIN_LINK = re.compile(r'href="(/admin/[^"#?]*)')


def _admin_http_login(client: httpx.Client, base: str, user) -> None:
    """Log in through the real admin login form, as a browser would."""
    form = client.get("/admin/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert csrf is not None
    landed = client.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf.group(1), "username": user.username, "password": DEFAULT_PASSWORD},
        headers={"Referer": f"{base}/admin/login/"},
    )
    assert landed.status_code == 200 and "/admin/login/" not in str(landed.url)


def _crawl_admin(client: httpx.Client, *, limit: int = 400) -> dict[str, str]:
    """Every admin page reachable by links from the index (GET only), path -> HTML."""
    seen: dict[str, str] = {}
    queue = ["/admin/"]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or "logout" in path:
            continue
        response = client.get(path)
        seen[path] = response.text
        queue.extend(link for link in _ADMIN_LINK.findall(response.text) if link not in seen)
    return seen


def _text_columns_containing(fragment: str) -> list[str]:
    """Every (table.column) of a text-like type whose value contains ``fragment``."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json')"
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE %s LIMIT 1',  # noqa: S608 - catalog names
                [f"%{fragment}%"],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


@pytest.mark.django_db(transaction=True)
def test_no_admin_page_and_no_column_holds_a_usable_refresh_token(live_server: LiveServer, settings) -> None:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain-HTTP live server
    # given: a superuser and a user who both logged in through the API, and a staff member
    superuser, user, staff = SuperuserFactory.create(), UserFactory.create(), StaffFactory.create()
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        refresh_tokens = []
        for victim in (superuser, user):
            login = api.post("/api/v1/auth/token/", json={"username": victim.username, "password": DEFAULT_PASSWORD})
            assert login.status_code == 200
            refresh_tokens.append(login.json()["refresh"])
        signatures = [token.rsplit(".", 1)[1] for token in refresh_tokens]
        # when staff and then the superuser crawl every admin page they can reach
        for operator in (staff, superuser):
            with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=30) as browser:
                _admin_http_login(browser, live_server.url, operator)
                pages = _crawl_admin(browser)
            # then no page shows a refresh token (or its signature), and token tables have no page
            assert len(pages) > 10
            leaking = [path for path, html in pages.items() if any(sig in html for sig in signatures)]
            assert leaking == []
            assert not [path for path in pages if "token" in path or "session" in path or "/auth/" in path]
        # then no database column stores a refresh token or its signature
        assert [column for sig in signatures for column in _text_columns_containing(sig)] == []
        # and the tokens still work for their owners (nothing was broken to hide them)
        assert api.post("/api/v1/auth/refresh/", json={"refresh": refresh_tokens[1]}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/token_blacklist/outstandingtoken/",
        "/admin/token_blacklist/blacklistedtoken/",
        "/admin/sessions/session/",
        "/admin/auth/group/",
        "/admin/accounts/issuedrefreshtoken/",
        "/admin/accounts/revokedaccesstoken/",
    ],
)
def test_token_session_and_group_tables_have_no_admin_page(path: str) -> None:
    assert _admin_client(SuperuserFactory.create()).get(path).status_code == 404


@pytest.mark.parametrize(
    ("factory", "allowed", "denied"),
    [
        (
            StaffFactory,
            ["/admin/accounts/user/", "/admin/wallets/wallet/", "/admin/ledger/ledgertransaction/"],
            ["/admin/payments/bankaccount/", "/admin/payments/stripeevent/", "/admin/ledger/idempotencykey/"],
        ),
        (
            AdminFactory,
            ["/admin/payments/bankaccount/", "/admin/payments/stripeevent/", "/admin/ledger/idempotencykey/"],
            [],
        ),
    ],
)
def test_each_role_opens_exactly_its_listed_admin_pages(factory, allowed: list[str], denied: list[str]) -> None:
    client = _admin_client(factory.create())
    assert [client.get(path).status_code for path in allowed] == [200] * len(allowed)
    assert [client.get(path).status_code for path in denied] == [403] * len(denied)


def test_a_user_without_a_back_office_role_cannot_open_the_admin() -> None:
    response = _admin_client(UserFactory.create()).get("/admin/accounts/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Revoking a user ends their admin sessions too --------------------------------------------
def _bearer(user) -> Client:
    from accounts import services

    pair = services.token_pair_issue(user=user)
    return Client(headers={"Authorization": f"Bearer {pair.access}"})


def _admin_session_alive(client: Client) -> bool:
    return client.get("/admin/accounts/user/").status_code == 200


def test_logout_all_ends_the_admin_session() -> None:
    # given a staff member with an admin session
    staff = StaffFactory.create()
    admin_session = _admin_client(staff)
    assert _admin_session_alive(admin_session)
    # when they log out everywhere through the API
    assert _bearer(staff).post("/api/v1/auth/logout-all/").status_code == 204
    # then the admin session is over
    assert not _admin_session_alive(admin_session)


def test_password_change_ends_the_admin_session() -> None:
    staff = StaffFactory.create()
    admin_session = _admin_client(staff)
    response = _bearer(staff).put(
        "/api/v1/auth/change-password/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "another-long-passphrase-77"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert not _admin_session_alive(admin_session)


def test_the_revoke_sessions_action_ends_the_targets_admin_session() -> None:
    # given a staff member's admin session
    staff, admin = StaffFactory.create(), AdminFactory.create()
    staff_session = _admin_client(staff)
    assert _admin_session_alive(staff_session)
    # when an admin revokes the staff member's sessions
    _admin_client(admin).post(
        "/admin/accounts/user/",
        {"action": "revoke_sessions", "_selected_action": [staff.pk], "apply": "1", "reason": "left the team"},
    )
    # then the staff session is over; the admin's own is not
    assert not _admin_session_alive(staff_session)
