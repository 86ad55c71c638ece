"""Services on real PostgreSQL: single-use refresh under concurrency, hash upgrade, purge, roles."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.exceptions import RefreshTokenInvalid, RoleChangeForbidden, TokenRevoked, UserActionForbidden
from accounts.models import IssuedRefreshToken, RevokedAccessToken, Role, User
from accounts.tests.factories import DEFAULT_PASSWORD, AdminFactory, StaffFactory, SuperuserFactory, UserFactory


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_of_one_token_succeeds_exactly_once() -> None:
    # given
    user = UserFactory.create()
    raw_refresh = services.token_pair_issue(user=user).refresh
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def refresh() -> None:
        try:
            barrier.wait()
            services.token_refresh(raw_refresh=raw_refresh)
            result = "ok"
        except RefreshTokenInvalid:
            result = "refused"
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    # when
    threads = [threading.Thread(target=refresh) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then
    assert sorted(outcomes) == ["ok"] + ["refused"] * (threads_count - 1)
    assert IssuedRefreshToken.objects.filter(user=user, used_at__isnull=False).count() == 1
    assert IssuedRefreshToken.objects.filter(user=user).count() == 2  # the original + one new pair


@pytest.mark.django_db
def test_refresh_reuse_is_refused() -> None:
    user = UserFactory.create()
    raw_refresh = services.token_pair_issue(user=user).refresh
    services.token_refresh(raw_refresh=raw_refresh)
    with pytest.raises(RefreshTokenInvalid):
        services.token_refresh(raw_refresh=raw_refresh)


@pytest.mark.django_db
def test_refresh_after_revocation_is_token_revoked_and_not_blacklisted() -> None:
    user = UserFactory.create()
    raw_refresh = services.token_pair_issue(user=user).refresh
    services.user_sessions_revoke(user=user)
    with pytest.raises(TokenRevoked):
        services.token_refresh(raw_refresh=raw_refresh)
    assert IssuedRefreshToken.objects.filter(used_at__isnull=False).count() == 0


@pytest.mark.django_db
def test_bcrypt_hashes_still_verify_and_are_upgraded_to_argon2_on_login(settings) -> None:
    # given: a hash imported from an older system
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    ]
    user = UserFactory.create()
    User.objects.filter(pk=user.pk).update(password=make_password(DEFAULT_PASSWORD, hasher="bcrypt_sha256"))
    # when
    authenticated = services.user_authenticate(request=None, username=user.username, password=DEFAULT_PASSWORD)
    # then
    assert authenticated.pk == user.pk
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert services.user_authenticate(request=None, username=user.username, password=DEFAULT_PASSWORD).pk == user.pk
    assert user.last_login is not None


def test_argon2id_is_the_first_hasher() -> None:
    from vaultcore import settings as base_settings

    assert base_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.BCryptSHA256PasswordHasher" in base_settings.PASSWORD_HASHERS


@pytest.mark.django_db
def test_expired_tokens_purge_keeps_live_rows() -> None:
    # given
    user = UserFactory.create()
    now = timezone.now()
    RevokedAccessToken.objects.create(jti="old", user=user, expires_at=now - timedelta(seconds=1))
    RevokedAccessToken.objects.create(jti="live", user=user, expires_at=now + timedelta(minutes=5))
    services.token_pair_issue(user=user)
    IssuedRefreshToken.objects.create(user=user, jti="expired", expires_at=now - timedelta(days=1))
    # when
    purged = services.expired_tokens_purge()
    # then
    assert purged == {"revoked_access_tokens": 1, "issued_refresh_tokens": 1}
    assert list(RevokedAccessToken.objects.values_list("jti", flat=True)) == ["live"]
    assert IssuedRefreshToken.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor_role", "target_role", "new_role", "allowed"),
    [
        (Role.SUPERUSER, Role.USER, Role.ADMIN, True),
        (Role.SUPERUSER, Role.ADMIN, Role.USER, True),
        (Role.SUPERUSER, Role.USER, Role.SUPERUSER, False),
        (Role.SUPERUSER, Role.SUPERUSER, Role.ADMIN, False),
        (Role.ADMIN, Role.USER, Role.STAFF, True),
        (Role.ADMIN, Role.STAFF, Role.USER, True),
        (Role.ADMIN, Role.USER, Role.ADMIN, False),
        (Role.ADMIN, Role.ADMIN, Role.USER, False),
        (Role.ADMIN, Role.SUPERUSER, Role.USER, False),
        (Role.STAFF, Role.USER, Role.STAFF, False),
        (Role.STAFF, Role.USER, Role.USER, True),
    ],
)
def test_role_change_hierarchy(actor_role: str, target_role: str, new_role: str, allowed: bool) -> None:
    # given
    actor = UserFactory.create(role=actor_role)
    target = UserFactory.create(role=target_role)
    # when / then
    if allowed:
        services.user_role_change(acting_user=actor, user=target, role=new_role)
        target.refresh_from_db()
        assert (target.role, target.token_version) == (new_role, 1)
    else:
        with pytest.raises(RoleChangeForbidden):
            services.user_role_change(acting_user=actor, user=target, role=new_role)
        target.refresh_from_db()
        assert (target.role, target.token_version) == (target_role, 0)


@pytest.mark.django_db
def test_nobody_changes_their_own_role() -> None:
    superuser = SuperuserFactory.create()
    with pytest.raises(RoleChangeForbidden):
        services.user_role_change(acting_user=superuser, user=superuser, role=Role.ADMIN)


@pytest.mark.django_db
def test_deactivation_follows_the_hierarchy() -> None:
    admin, staff, other_admin = AdminFactory.create(), StaffFactory.create(), AdminFactory.create()
    services.user_deactivate(acting_user=admin, user=staff)
    staff.refresh_from_db()
    assert (staff.is_active, staff.token_version) == (False, 1)
    with pytest.raises(UserActionForbidden):
        services.user_deactivate(acting_user=admin, user=other_admin)
    with pytest.raises(UserActionForbidden):
        services.user_deactivate(acting_user=admin, user=admin)
