"""Email verification, password reset and email change, asserted through Django's test outbox."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import tasks
from accounts.email_tokens import Purpose, email_token_make
from accounts.models import User
from accounts.tests.conftest import bearer, error_attr, error_code, login
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-77"


def _link(message: Any) -> str:
    match = re.search(r"https?://\S+", str(message.body))
    assert match, message.body
    link = match.group(0)
    html = message.alternatives[0][0]
    assert link.replace("&", "&amp;") in str(html) or link in str(html)
    return link


def _token(link: str) -> str:
    parts = urlsplit(link)
    return parse_qs(parts.query or parts.fragment)["token"][0]


def _path_and_query(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


# --- Verification -------------------------------------------------------------------------
def test_register_sends_a_verification_email_after_commit(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(
            "/api/v1/auth/register/",
            {
                "username": "alice",
                "email": "alice@example.com",
                "password": "a-long-unusual-passphrase-91",
                "first_name": "Alice",
                "last_name": "Liddell",
            },
            format="json",
        )
    # then
    assert response.status_code == 201
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert "Confirm your email" in message.subject
    assert "Alice" in message.body
    assert message.alternatives[0][1] == "text/html"  # type: ignore[attr-defined]
    link = _link(message)
    assert link.startswith("http://127.0.0.1:8000/api/v1/auth/verify-email/?token=")


def test_no_email_leaves_when_registration_fails(api_client: APIClient, django_capture_on_commit_callbacks) -> None:
    UserFactory.create(username="alice")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/auth/register/",
            {
                "username": "Alice",
                "email": "x@example.com",
                "password": "a-long-unusual-passphrase-91",
                "first_name": "A",
                "last_name": "L",
            },
            format="json",
        )
    assert response.status_code == 400
    assert mail.outbox == []


def test_verification_link_verifies_once(api_client: APIClient, django_capture_on_commit_callbacks) -> None:
    # given
    user = UserFactory.create(is_email_verified=False)
    access = login(APIClient(), user)["access"]
    with django_capture_on_commit_callbacks(execute=True):
        assert bearer(access).post("/api/v1/auth/verify-email/").status_code == 202
    link = _link(mail.outbox[0])
    # when
    first = api_client.get(_path_and_query(link))
    second = api_client.get(_path_and_query(link))
    # then
    assert first.status_code == 200
    assert set(first.json()) == {"detail"}
    user.refresh_from_db()
    assert user.is_email_verified
    assert second.status_code == 400
    assert error_code(second) == "invalid_token"


def test_verification_link_ignores_a_stale_cookie(django_capture_on_commit_callbacks) -> None:
    user = UserFactory.create(is_email_verified=False)
    client = APIClient()
    access = login(client, user)["access"]
    with django_capture_on_commit_callbacks(execute=True):
        bearer(access).post("/api/v1/auth/verify-email/")
    client.cookies["access_token"] = "garbage"
    assert client.get(_path_and_query(_link(mail.outbox[0]))).status_code == 200


def test_verification_link_expires(api_client: APIClient, settings, django_capture_on_commit_callbacks) -> None:
    # given
    user = UserFactory.create(is_email_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        bearer(login(APIClient(), user)["access"]).post("/api/v1/auth/verify-email/")
    settings.EMAIL_VERIFICATION_TOKEN_MAX_AGE = -1
    # when
    response = api_client.get(_path_and_query(_link(mail.outbox[0])))
    # then
    assert response.status_code == 400
    assert error_code(response) == "invalid_token"
    user.refresh_from_db()
    assert not user.is_email_verified


@pytest.mark.parametrize("token", ["", "garbage", "x" * 2000])
def test_bad_verification_tokens_are_400(api_client: APIClient, token: str) -> None:
    response = api_client.get("/api/v1/auth/verify-email/", {"token": token})
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_a_reset_token_is_not_a_verification_token(api_client: APIClient) -> None:
    user = UserFactory.create(is_email_verified=False)
    token = email_token_make(user=user, purpose=Purpose.RESET_PASSWORD)
    response = api_client.get("/api/v1/auth/verify-email/", {"token": token})
    assert error_code(response) == "invalid_token"


def test_verify_request_requires_authentication(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/auth/verify-email/")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_links_use_frontend_url_when_set(settings, django_capture_on_commit_callbacks) -> None:
    settings.FRONTEND_URL = "https://app.example.com"
    settings.ALLOWED_HOSTS = ["*"]  # let a hostile Host header through, to prove links ignore it
    user = UserFactory.create(is_email_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        bearer(login(APIClient(), user)["access"]).post("/api/v1/auth/verify-email/", HTTP_HOST="evil.example.net")
    link = _link(mail.outbox[0])
    assert link.startswith("https://app.example.com/verify-email?token=")
    assert "evil" not in mail.outbox[0].body


# --- Password reset ---------------------------------------------------------------------------
def test_forgot_password_answers_202_whether_or_not_the_address_exists(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    UserFactory.create(email="known@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        known = api_client.post("/api/v1/auth/forgot-password/", {"email": "KNOWN@example.com"}, format="json")
        unknown = api_client.post("/api/v1/auth/forgot-password/", {"email": "nobody@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to for m in mail.outbox] == [["known@example.com"]]


def test_password_reset_link_works_once_and_revokes_every_token(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    # given
    user = UserFactory.create(email="known@example.com")
    old_tokens = login(APIClient(), user)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/auth/forgot-password/", {"email": "known@example.com"}, format="json")
    message = mail.outbox[0]
    assert "Reset your" in message.subject
    link = _link(message)
    # the token is in the fragment, which a browser never sends: the page's GET carries none
    assert link.startswith("http://127.0.0.1:8000/reset-password/#token=")
    token = _token(link)
    page = api_client.get(urlsplit(link).path)
    assert page.status_code == 200 and "new_password" in page.content.decode()
    # when
    first = api_client.post(
        "/api/v1/auth/reset-password-confirm/", {"token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    second = api_client.post(
        "/api/v1/auth/reset-password-confirm/",
        {"token": token, "new_password": "yet-another-passphrase-55"},
        format="json",
    )
    # then
    assert first.status_code == 200
    assert second.status_code == 400
    assert error_code(second) == "invalid_token"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert bearer(old_tokens["access"]).get("/api/v1/users/me/").status_code == 401


def test_password_reset_link_expires(api_client: APIClient, settings, django_capture_on_commit_callbacks) -> None:
    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/auth/forgot-password/", {"email": user.email}, format="json")
    settings.PASSWORD_RESET_TOKEN_MAX_AGE = -1
    response = api_client.post(
        "/api/v1/auth/reset-password-confirm/",
        {"token": _token(_link(mail.outbox[0])), "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_token"
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_reset_refuses_a_weak_password_and_keeps_the_link_usable(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/auth/forgot-password/", {"email": user.email}, format="json")
    token = _token(_link(mail.outbox[0]))
    weak = api_client.post(
        "/api/v1/auth/reset-password-confirm/", {"token": token, "new_password": "1234"}, format="json"
    )
    assert weak.status_code == 400
    assert error_attr(weak) == "new_password"
    ok = api_client.post(
        "/api/v1/auth/reset-password-confirm/", {"token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert ok.status_code == 200


def test_a_reset_token_cannot_be_used_or_checked_through_a_get(api_client: APIClient) -> None:
    # given a valid reset token, as someone reading a log of GET requests would have it
    user = UserFactory.create()
    token = email_token_make(user=user, purpose=Purpose.RESET_PASSWORD)
    # when
    response = api_client.get("/api/v1/auth/reset-password-confirm/", {"token": token})
    # then
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_reset_links_to_the_front_end_carry_the_token_in_the_fragment(
    api_client: APIClient, settings, django_capture_on_commit_callbacks
) -> None:
    settings.FRONTEND_URL = "https://app.example.com"
    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/auth/forgot-password/", {"email": user.email}, format="json")
    link = _link(mail.outbox[0])
    assert link.startswith("https://app.example.com/reset-password#token=")
    assert urlsplit(link).query == ""


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    # given
    UserFactory.create(email="known@example.com")
    queued: list[dict] = []
    # when both requests run, recording the queries each makes and the tasks each queues
    with mock.patch.object(
        tasks.password_reset_email_send, "apply_async", side_effect=lambda **kw: queued.append(kw["kwargs"])
    ):
        runs = []
        for address in ("known@example.com", "nobody@example.com"):
            with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
                response = api_client.post("/api/v1/auth/forgot-password/", {"email": address}, format="json")
            runs.append((response.status_code, response.content, [q["sql"].split(" ")[0] for q in queries]))
    # then the answer is identical, no account is looked up (only the outbox row is written and
    # relayed: the same statements), one task is queued for each
    assert runs[0][:2] == runs[1][:2]
    assert runs[0][2] == runs[1][2]
    assert not any("accounts_user" in q["sql"] for q in queries.captured_queries)
    assert queued == [{"email": "known@example.com"}, {"email": "nobody@example.com"}]


def test_forgot_password_with_a_malformed_address_is_400(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/auth/forgot-password/", {"email": "nope"}, format="json")
    assert response.status_code == 400
    assert error_attr(response) == "email"


# --- Email change -------------------------------------------------------------------------------
def test_email_change_sends_a_link_to_the_new_address_and_a_notice_to_the_old(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    # given
    user = UserFactory.create(email="old@example.com")
    access = login(APIClient(), user)["access"]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = bearer(access).post(
            "/api/v1/auth/request-email-change/",
            {"new_email": "new@example.com", "password": DEFAULT_PASSWORD},
            format="json",
        )
    # then
    assert response.status_code == 202
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {("new@example.com",), ("old@example.com",)}
    notice = by_recipient[("old@example.com",)]
    assert "token=" not in notice.body
    link = _link(by_recipient[("new@example.com",)])
    assert link.startswith("http://127.0.0.1:8000/api/v1/auth/confirm-email-change/?token=")
    user.refresh_from_db()
    assert user.email == "old@example.com"
    # when the link is opened, twice
    first = api_client.get(_path_and_query(link))
    second = api_client.get(_path_and_query(link))
    # then
    assert first.status_code == 200
    assert second.status_code == 400
    assert error_code(second) == "invalid_token"
    user.refresh_from_db()
    assert (user.email, user.is_email_verified) == ("new@example.com", True)


def test_email_change_needs_the_password_and_a_free_address(api_client: APIClient) -> None:
    user = UserFactory.create()
    UserFactory.create(email="taken@example.com")
    client = bearer(login(APIClient(), user)["access"])
    wrong = client.post(
        "/api/v1/auth/request-email-change/", {"new_email": "free@example.com", "password": "nope"}, format="json"
    )
    taken = client.post(
        "/api/v1/auth/request-email-change/",
        {"new_email": "TAKEN@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    )
    assert (wrong.status_code, error_attr(wrong)) == (400, "password")
    assert (taken.status_code, error_attr(taken)) == (400, "new_email")
    assert mail.outbox == []


def test_email_change_link_fails_when_the_address_was_taken_meanwhile(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        bearer(login(APIClient(), user)["access"]).post(
            "/api/v1/auth/request-email-change/",
            {"new_email": "new@example.com", "password": DEFAULT_PASSWORD},
            format="json",
        )
    link = _link(next(m for m in mail.outbox if m.to == ["new@example.com"]))
    UserFactory.create(email="New@Example.com")
    response = api_client.get(_path_and_query(link))
    assert response.status_code == 400
    assert error_code(response) == "invalid_token"
    assert User.objects.filter(email__iexact="new@example.com").count() == 1


def test_default_links_ignore_the_host_header(settings, django_capture_on_commit_callbacks) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    user = UserFactory.create(is_email_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        bearer(login(APIClient(), user)["access"]).post("/api/v1/auth/verify-email/", HTTP_HOST="evil.example.net")
    assert _link(mail.outbox[0]).startswith("http://127.0.0.1:8000/api/v1/auth/verify-email/?token=")
