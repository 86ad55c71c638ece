"""vaultcore.exception_reporter: the DEBUG technical page never shows connection credentials."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from vaultcore.exception_reporter import CredentialSafeExceptionReporterFilter

# Assembled at run time: the technical page also quotes this file's source lines.
DB_PW, REDIS_PW, TOKEN, LOCAL_PW = (f"{word}-{n}" for n, word in enumerate(("hunter2", "s3cret", "tok3n", "l0cal")))
SECRETS = {
    "DATABASE_URL": f"postgres://vault:{DB_PW}@db.internal:5432/vault",
    "REDIS_URL": f"redis://:{REDIS_PW}@redis.internal:6379/0",
    "CELERY_RESULT_BACKEND": f"redis://:{REDIS_PW}@redis.internal:6379/0",
    "ERROR_TRACKER": f"https://{TOKEN}@errors.example/1",
}


def _admin_boom(request: HttpRequest) -> HttpResponse:
    dsn = f"postgres://vault:{LOCAL_PW}@db.internal/vault"  # noqa: F841 - shown in frame variables
    raise RuntimeError("boom")


urlpatterns = [path("admin/boom/", _admin_boom)]


@pytest.mark.urls("vaultcore.tests.test_exception_reporter")
@override_settings(DEBUG=True, **SECRETS)
def test_the_debug_technical_page_hides_connection_credentials() -> None:
    # given DEBUG on and an error on an HTML (admin) path, whose environment also holds a URL
    client = Client(raise_request_exception=False)

    # when
    response = client.get("/admin/boom/", REDIS_URL=SECRETS["REDIS_URL"])

    # then the technical page lists the settings, but no credential
    page = response.content.decode()
    assert response.status_code == 500
    assert "DATABASE_URL" in page  # it is the settings page
    for secret in (DB_PW, REDIS_PW, TOKEN, LOCAL_PW):
        assert secret not in page


@override_settings(**SECRETS, CACHES_LOCATION_LIKE=["redis://:pw@h:6379/0"])
def test_settings_named_url_or_holding_credentials_are_hidden() -> None:
    safe = CredentialSafeExceptionReporterFilter().get_safe_settings()

    for name in SECRETS:
        assert safe[name] == CredentialSafeExceptionReporterFilter.cleansed_substitute
    assert safe["CACHES_LOCATION_LIKE"] == [CredentialSafeExceptionReporterFilter.cleansed_substitute]
    assert safe["LANGUAGE_CODE"] == "en-us"  # ordinary settings stay readable
