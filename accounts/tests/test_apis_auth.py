"""Authentication endpoints: register, log-in, refresh, logout, revocation, CSRF, forged JWTs."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import IssuedRefreshToken, RevokedAccessToken, Role, User
from accounts.tests.conftest import bearer, error_attr, error_code, login
from accounts.tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"
REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def _register_body(**overrides: str) -> dict[str, str]:
    body = {
        "username": "alice",
        "email": "alice@example.com",
        "password": "a-long-unusual-passphrase-91",
        "first_name": "Alice",
        "last_name": "Liddell",
    }
    body.update(overrides)
    return body


# --- Register ---------------------------------------------------------------------------
def test_register_creates_a_user_and_returns_the_user_object(api_client: APIClient, mailoutbox: list) -> None:
    # when
    response = api_client.post(REGISTER, _register_body(middle_name="P"), format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "username",
        "email",
        "first_name",
        "middle_name",
        "last_name",
        "role",
        "is_email_verified",
        "date_joined",
    }
    assert body["role"] == "user"
    assert body["is_email_verified"] is False
    assert "password" not in response.content.decode()
    user = User.objects.get(username="alice")
    assert user.check_password("a-long-unusual-passphrase-91")
    assert user.middle_name == "P"


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ALICE"), ("username", "alice"), ("email", "ALICE@Example.COM"), ("email", "alice@example.com")],
)
def test_register_refuses_duplicates_in_any_case(api_client: APIClient, field: str, value: str) -> None:
    # given
    UserFactory.create(username="alice", email="alice@example.com")
    # when
    body = _register_body(**{"username": "other", "email": "other@example.com", field: value})
    response = api_client.post(REGISTER, body, format="json")
    # then
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert error_attr(response) == field
    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "alice-liddell"])
def test_register_refuses_weak_passwords(api_client: APIClient, password: str) -> None:
    response = api_client.post(REGISTER, _register_body(password=password), format="json")
    assert response.status_code == 400
    assert error_attr(response) == "password"
    assert not User.objects.exists()


def test_register_ignores_role_and_flags_in_the_body(api_client: APIClient) -> None:
    response = api_client.post(
        REGISTER,
        {**_register_body(), "role": "superuser", "is_email_verified": True, "token_version": 9},
        format="json",
    )
    assert response.status_code == 201
    user = User.objects.get(username="alice")
    assert (user.role, user.is_email_verified, user.token_version) == (Role.USER, False, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "x" * 151),
        ("first_name", "x" * 10_000),
        ("email", "x" * 300 + "@example.com"),
        ("password", "x" * 10_000),
        ("username", "has space"),
        ("username", "a@b.c"),
        ("username", "me"),
        ("email", "not-an-email"),
        ("username", "-alice"),  # read as a formula by spreadsheets
        ("username", "+1234"),
        ("username", "_x"),
        ("username", "\u0430lice"),  # Cyrillic a + Latin "lice"
        ("username", "\u03a9mega"),  # Greek Omega + Latin
        ("username", "al\u0456ce"),  # Ukrainian i in a Latin name
    ],
)
def test_register_rejects_bad_or_oversized_fields_with_400(api_client: APIClient, field: str, value: str) -> None:
    response = api_client.post(REGISTER, _register_body(**{field: value}), format="json")
    assert response.status_code == 400
    assert error_attr(response) == field
    assert not User.objects.exists()


def test_register_rejects_a_non_object_body(api_client: APIClient) -> None:
    response = api_client.post(REGISTER, [1, 2], format="json")
    assert response.status_code == 400


# --- Log-in -----------------------------------------------------------------------------
def test_login_returns_tokens_in_the_body_and_cookies(api_client: APIClient) -> None:
    # given
    user = UserFactory.create()
    # when
    response = api_client.post(TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD}, format="json")
    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())
    access_cookie = response.cookies["access_token"]
    refresh_cookie = response.cookies["refresh_token"]
    assert access_cookie.value == body["access"]
    assert refresh_cookie.value == body["refresh"]
    assert access_cookie["httponly"] and refresh_cookie["httponly"]
    assert access_cookie["samesite"] == "Lax" == refresh_cookie["samesite"]
    assert access_cookie["secure"] and refresh_cookie["secure"]  # DEBUG is off in tests
    assert access_cookie["path"] == "/"
    assert refresh_cookie["path"] == "/api/v1/auth/"
    assert "csrftoken" in response.cookies
    assert not response.cookies["csrftoken"]["httponly"]


def test_login_accepts_the_email_in_any_case_and_form_encoding(api_client: APIClient) -> None:
    user = UserFactory.create(username="bob", email="Bob@Example.com")
    response = api_client.post(
        TOKEN,
        urlencode({"username": "BOB@example.COM", "password": DEFAULT_PASSWORD}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(ME).json()["username"] == user.username


def test_login_username_is_case_insensitive(api_client: APIClient) -> None:
    UserFactory.create(username="Carol")
    response = api_client.post(TOKEN, {"username": "carol", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200


def test_wrong_password_unknown_user_and_inactive_user_get_the_same_401(api_client: APIClient) -> None:
    # given
    UserFactory.create(username="dave")
    UserFactory.create(username="erin", is_active=False)
    # when
    wrong = api_client.post(TOKEN, {"username": "dave", "password": "nope-nope-nope"}, format="json")
    unknown = api_client.post(TOKEN, {"username": "nobody", "password": "nope-nope-nope"}, format="json")
    inactive = api_client.post(TOKEN, {"username": "erin", "password": DEFAULT_PASSWORD}, format="json")
    # then
    assert wrong.status_code == unknown.status_code == inactive.status_code == 401
    assert wrong.json() == unknown.json() == inactive.json()
    assert error_code(wrong) == "authentication_failed"
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert "access_token" not in wrong.cookies


def test_login_with_missing_fields_is_400(api_client: APIClient) -> None:
    response = api_client.post(TOKEN, {"username": "x"}, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "password"


# --- Authenticating requests -------------------------------------------------------------
def test_no_credentials_is_401_not_authenticated(api_client: APIClient) -> None:
    response = api_client.get(ME)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bearer_and_cookie_both_authenticate(api_client: APIClient) -> None:
    user = UserFactory.create()
    tokens = login(api_client, user)
    assert api_client.get(ME).json()["username"] == user.username  # cookie
    assert bearer(tokens["access"]).get(ME).json()["username"] == user.username


def _forge(payload_changes: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    user = User.objects.get()
    now = timezone.now()
    payload = {
        "token_type": "access",
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iat": int(now.timestamp()),
        "jti": "f" * 32,
        "user_id": str(user.pk),
        "token_version": user.token_version,
    }
    payload.update(payload_changes)
    if algorithm == "none":
        return jwt.encode(payload, None, algorithm="none")  # type: ignore[arg-type]
    return jwt.encode(payload, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def test_a_correctly_forged_token_is_accepted_so_the_forgery_tests_are_meaningful() -> None:
    UserFactory.create()
    assert bearer(_forge({})).get(ME).status_code == 200


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: _forge({}, key="another-key-that-is-long-enough-for-hs256!!"), id="wrong-key"),
        pytest.param(lambda: _forge({"exp": int((timezone.now() - timedelta(seconds=1)).timestamp())}), id="expired"),
        pytest.param(lambda: _forge({"token_type": "refresh"}), id="refresh-as-access"),
        pytest.param(lambda: _forge({}, algorithm="HS512"), id="other-algorithm"),
        pytest.param(lambda: _forge({}, algorithm="none"), id="alg-none"),
        pytest.param(lambda: _forge({})[:-3] + "abc", id="tampered-signature"),
        pytest.param(lambda: _forge({"user_id": "999999"}), id="unknown-user"),
        pytest.param(lambda: _forge({"token_version": None}), id="no-version"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_401_token_not_valid(make_token) -> None:
    # given
    UserFactory.create()
    token = make_token()
    # when
    response = bearer(token).get(ME)
    # then
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"
    assert response.json()["type"] == "client_error"
    assert len(response.json()["errors"]) == 1


def test_tampered_payload_is_rejected() -> None:
    # given: a genuine token of a user, whose payload is swapped for an admin's
    user = UserFactory.create()
    header, _, signature = _forge({"user_id": str(user.pk)}).split(".")
    admin = AdminFactory.create()
    forged_payload = jwt.utils.base64url_encode(
        f'{{"token_type":"access","exp":9999999999,"jti":"x","user_id":"{admin.pk}","token_version":0}}'.encode()
    ).decode()
    response = bearer(f"{header}.{forged_payload}.{signature}").get(ME)
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


def test_refresh_token_in_the_access_cookie_is_refused(api_client: APIClient) -> None:
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    api_client.cookies["access_token"] = tokens["refresh"]
    response = api_client.get(ME)
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


# --- CSRF for cookie authentication -----------------------------------------------------------
def test_cookie_authenticated_post_without_csrf_is_403(csrf_client: APIClient) -> None:
    # given
    user = UserFactory.create()
    login(csrf_client, user)
    # when
    response = csrf_client.post("/api/v1/auth/logout-all/")
    # then
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    user.refresh_from_db()
    assert user.token_version == 0


def test_cookie_authenticated_post_with_csrf_header_passes(csrf_client: APIClient) -> None:
    user = UserFactory.create()
    login(csrf_client, user)
    csrf = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post("/api/v1/auth/logout-all/", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 204


def test_cookie_get_needs_no_csrf_and_bearer_post_needs_none(csrf_client: APIClient) -> None:
    user = UserFactory.create()
    tokens = login(csrf_client, user)
    assert csrf_client.get(ME).status_code == 200
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post("/api/v1/auth/logout-all/").status_code == 204


def test_cookie_refresh_and_logout_are_csrf_checked(csrf_client: APIClient) -> None:
    user = UserFactory.create()
    login(csrf_client, user)
    assert csrf_client.post(REFRESH).status_code == 403
    assert csrf_client.post(LOGOUT).status_code == 403
    csrf = csrf_client.cookies["csrftoken"].value
    assert csrf_client.post(REFRESH, HTTP_X_CSRFTOKEN=csrf).status_code == 200


# --- Refresh ------------------------------------------------------------------------------
def test_refresh_rotates_and_the_old_refresh_token_is_single_use(api_client: APIClient) -> None:
    # given
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    # when
    first = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    second = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    # then
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    assert first.cookies["access_token"].value == first.json()["access"]
    assert second.status_code == 401
    assert error_code(second) == "token_not_valid"
    assert bearer(first.json()["access"]).get(ME).status_code == 200
    assert api_client.post(REFRESH, {"refresh": first.json()["refresh"]}, format="json").status_code == 200


def test_refresh_by_cookie(api_client: APIClient) -> None:
    user = UserFactory.create()
    login(api_client, user)
    response = api_client.post(REFRESH)
    assert response.status_code == 200
    assert response.cookies["refresh_token"]["path"] == "/api/v1/auth/"


def test_refresh_without_a_token_is_401_not_authenticated(api_client: APIClient) -> None:
    response = api_client.post(REFRESH)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_access_token_cannot_be_used_to_refresh(api_client: APIClient) -> None:
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    response = api_client.post(REFRESH, {"refresh": tokens["access"]}, format="json")
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


def test_oversized_refresh_field_is_400(api_client: APIClient) -> None:
    response = api_client.post(REFRESH, {"refresh": "x" * 5000}, format="json")
    assert response.status_code == 400


# --- Logout and revocation -------------------------------------------------------------------
def test_logout_blacklists_refresh_denylists_access_and_clears_cookies(api_client: APIClient) -> None:
    # given
    user = UserFactory.create()
    tokens = login(api_client, user)
    other_session = login(APIClient(), user)
    # when
    response = api_client.post(LOGOUT)
    # then
    assert response.status_code == 204
    assert response.cookies["access_token"].value == ""
    assert response.cookies["refresh_token"].value == ""
    assert response.cookies["refresh_token"]["path"] == "/api/v1/auth/"
    assert response.cookies["access_token"]["max-age"] == 0
    revoked = bearer(tokens["access"]).get(ME)
    assert revoked.status_code == 401
    assert error_code(revoked) == "token_revoked"
    reuse = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert reuse.status_code == 401
    assert RevokedAccessToken.objects.filter(user=user).count() == 1
    assert IssuedRefreshToken.objects.filter(user=user, used_at__isnull=False).count() == 1
    # the other session is untouched
    assert bearer(other_session["access"]).get(ME).status_code == 200


def test_logout_with_bearer_and_refresh_in_body(api_client: APIClient) -> None:
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    response = bearer(tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    assert bearer(tokens["access"]).get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_logout_ignores_someone_elses_refresh_token() -> None:
    user, other = UserFactory.create(), UserFactory.create()
    mine, theirs = login(APIClient(), user), login(APIClient(), other)
    assert bearer(mine["access"]).post(LOGOUT, {"refresh": theirs["refresh"]}, format="json").status_code == 204
    assert APIClient().post(REFRESH, {"refresh": theirs["refresh"]}, format="json").status_code == 200


def _trigger_logout_all(user: User, access: str) -> None:
    assert bearer(access).post("/api/v1/auth/logout-all/").status_code == 204


def _trigger_password_change(user: User, access: str) -> None:
    body = {"old_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-passphrase-77"}
    assert bearer(access).put("/api/v1/auth/change-password/", body, format="json").status_code == 200


def _trigger_role_change(user: User, access: str) -> None:
    admin = AdminFactory.create()
    admin_access = login(APIClient(), admin)["access"]
    response = bearer(admin_access).post(f"/api/v1/users/{user.username}/role/", {"role": "staff"}, format="json")
    assert response.status_code == 200


def _trigger_deactivation(user: User, access: str) -> None:
    from accounts.services import user_deactivate

    user_deactivate(acting_user=AdminFactory.create(), user=user)


def _trigger_password_reset(user: User, access: str) -> None:
    from accounts.email_tokens import Purpose, email_token_make

    token = email_token_make(user=user, purpose=Purpose.RESET_PASSWORD)
    body = {"token": token, "new_password": "a-brand-new-passphrase-77"}
    assert APIClient().post("/api/v1/auth/reset-password-confirm/", body, format="json").status_code == 200


@pytest.mark.parametrize(
    "trigger",
    [
        _trigger_logout_all,
        _trigger_password_change,
        _trigger_role_change,
        _trigger_deactivation,
        _trigger_password_reset,
    ],
)
def test_revocation_takes_effect_on_the_very_next_request(trigger) -> None:
    # given: two sessions, one by bearer and one by cookie
    user = UserFactory.create()
    first = login(APIClient(), user)
    cookie_client = APIClient()
    second = login(cookie_client, user)
    assert bearer(first["access"]).get(ME).status_code == 200
    # when
    trigger(user, first["access"])
    # then: every earlier access token and refresh token is refused
    for response in (
        bearer(first["access"]).get(ME),
        bearer(second["access"]).get(ME),
        cookie_client.get(ME),
        APIClient().post(REFRESH, {"refresh": second["refresh"]}, format="json"),
    ):
        assert response.status_code == 401
        assert error_code(response) == "token_revoked"


def test_change_password_returns_fresh_working_tokens() -> None:
    # given
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    body = {"old_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-passphrase-77"}
    # when
    response = bearer(tokens["access"]).put("/api/v1/auth/change-password/", body, format="json")
    # then
    assert response.status_code == 200
    fresh = response.json()
    assert set(fresh) == {"access", "refresh", "token_type", "expires_in"}
    assert bearer(fresh["access"]).get(ME).status_code == 200
    assert response.cookies["access_token"].value == fresh["access"]
    assert bearer(tokens["access"]).get(ME).status_code == 401
    old = {"username": user.username, "password": DEFAULT_PASSWORD}
    new = {"username": user.username, "password": "a-brand-new-passphrase-77"}
    assert APIClient().post(TOKEN, old, format="json").status_code == 401
    assert APIClient().post(TOKEN, new, format="json").status_code == 200


def test_change_password_with_wrong_old_password_is_400_and_changes_nothing() -> None:
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    body = {"old_password": "wrong-wrong-wrong", "new_password": "a-brand-new-passphrase-77"}
    response = bearer(tokens["access"]).put("/api/v1/auth/change-password/", body, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "old_password"
    assert bearer(tokens["access"]).get(ME).status_code == 200
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_change_password_to_a_weak_one_is_400_on_new_password() -> None:
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    body = {"old_password": DEFAULT_PASSWORD, "new_password": "123"}
    response = bearer(tokens["access"]).put("/api/v1/auth/change-password/", body, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "new_password"


def test_refresh_of_a_deactivated_user_is_refused() -> None:
    user = UserFactory.create()
    tokens = login(APIClient(), user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


# --- Log-in CSRF: no cookie-setting log-in from another site's page ----------------------------
def test_a_cross_site_form_login_is_refused_and_sets_no_cookie(api_client: APIClient) -> None:
    # given the attacker's page posting a form with the attacker's credentials
    attacker = UserFactory.create()
    # when the victim's browser sends it
    response = api_client.post(
        "/api/v1/auth/token/",
        urlencode({"username": attacker.username, "password": DEFAULT_PASSWORD}),
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN="https://evil.example",
    )
    # then nothing logs the victim in
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    assert "access_token" not in response.cookies and "refresh_token" not in response.cookies


@pytest.mark.parametrize("origin", [None, "http://testserver", "https://app.example.com", "https://eu.example.org"])
def test_login_from_no_origin_our_own_or_a_trusted_one_works(api_client: APIClient, settings, origin) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    user = UserFactory.create()
    extra = {} if origin is None else {"HTTP_ORIGIN": origin}
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": DEFAULT_PASSWORD}, format="json", **extra
    )
    assert response.status_code == 200


@pytest.mark.parametrize("origin", ["null", "https://example.org.evil.example", "http://app.example.com"])
def test_login_from_an_untrusted_origin_is_refused(api_client: APIClient, settings, origin) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    user = UserFactory.create()
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_ORIGIN=origin,
    )
    assert response.status_code == 403


def test_a_cross_site_refresh_is_refused(api_client: APIClient) -> None:
    tokens = login(api_client, UserFactory.create())
    response = APIClient().post(
        "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json", HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    assert "access_token" not in response.cookies


# --- The public log-in reads JSON and form bodies only -----------------------------------------
def test_a_multipart_login_is_refused_without_reading_the_file(api_client: APIClient) -> None:
    # given a 20 MB file part
    body = (
        '--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice\r\n'
        '--b\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n'
        + "x" * (20 * 1024 * 1024)
        + "\r\n--b--\r\n"
    )
    # when
    response = api_client.generic("POST", "/api/v1/auth/token/", body, content_type="multipart/form-data; boundary=b")
    # then
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


# --- Look-alike usernames ------------------------------------------------------------------------
def test_a_full_width_look_alike_is_the_same_username(api_client: APIClient) -> None:
    # given
    UserFactory.create(username="alice")
    body = {"email": "other@example.com", "password": "a-long-enough-passphrase-1", "first_name": "A", "last_name": "B"}
    # when someone registers the full-width form of the name
    response = api_client.post("/api/v1/auth/register/", {**body, "username": "\uff41lice"}, format="json")
    # then it folds into "alice", which is taken
    assert response.status_code == 400
    assert error_attr(response) == "username"
    assert User.objects.count() == 1


@pytest.mark.parametrize("username", ["jos\u00e9", "\u0432\u0430\u0441\u044f", "\u5f20\u4f1f", "bob.smith-2"])
def test_single_script_usernames_register(api_client: APIClient, username: str) -> None:
    body = {"email": "n@example.com", "password": "a-long-enough-passphrase-1", "first_name": "A", "last_name": "B"}
    response = api_client.post("/api/v1/auth/register/", {**body, "username": username}, format="json")
    assert response.status_code == 201
    assert response.json()["username"] == username


def test_login_folds_a_full_width_username(api_client: APIClient) -> None:
    UserFactory.create(username="alice")
    response = api_client.post(TOKEN, {"username": "\uff41lice", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
