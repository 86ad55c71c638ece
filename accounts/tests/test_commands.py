"""``bootstrap_superuser``: creates, updates, is idempotent, never prints the password."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "root-passphrase-that-is-long-42"


@pytest.fixture
def superuser_env(settings) -> None:
    settings.SUPERUSER_USERNAME = "root"
    settings.SUPERUSER_EMAIL = "root@example.com"
    settings.SUPERUSER_PASSWORD = PASSWORD
    settings.SUPERUSER_FIRST_NAME = "Ada"
    settings.SUPERUSER_MIDDLE_NAME = "B"
    settings.SUPERUSER_LAST_NAME = "Root"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_superuser", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_creates_then_is_idempotent(superuser_env) -> None:
    # when
    first = _run()
    second = _run()
    # then
    assert "created" in first and "unchanged" in second
    assert PASSWORD not in first + second
    user = User.objects.get(username="root")
    assert (user.role, user.is_superuser, user.is_email_verified) == (Role.SUPERUSER, True, True)
    assert (user.first_name, user.middle_name, user.last_name) == ("Ada", "B", "Root")
    assert user.check_password(PASSWORD)
    assert User.objects.count() == 1


def test_updates_an_existing_user_and_revokes_on_password_change(superuser_env, settings) -> None:
    UserFactory.create(username="Root", email="old@example.com", role=Role.USER)
    output = _run()
    assert "updated" in output
    user = User.objects.get(username="Root")
    assert (user.role, user.email, user.token_version) == (Role.SUPERUSER, "root@example.com", 1)
    assert user.check_password(PASSWORD)


def test_missing_variables_fail_or_print_a_hint(settings) -> None:
    settings.SUPERUSER_USERNAME = ""
    assert "SUPERUSER_USERNAME" in _run("--if-configured")
    with pytest.raises(CommandError, match="SUPERUSER_USERNAME"):
        _run()
    assert not User.objects.exists()


def test_weak_password_is_refused(superuser_env, settings) -> None:
    settings.SUPERUSER_PASSWORD = "123"
    with pytest.raises(CommandError) as excinfo:
        _run()
    assert "123" not in str(excinfo.value)
    assert not User.objects.exists()


def test_dry_run_and_json(superuser_env) -> None:
    # when
    out = _run("--dry-run", "--json")
    # then nothing is written
    assert '"outcome": "would_create"' in out and PASSWORD not in out
    assert not User.objects.filter(username="root").exists()
    # when run for real, as JSON
    assert '"outcome": "created"' in _run("--json")
    assert '"outcome": "would_update_or_keep"' in _run("--dry-run", "--json")
    assert '"outcome": "unchanged"' in _run("--json")
