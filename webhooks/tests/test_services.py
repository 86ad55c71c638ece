"""Endpoint secrets at rest: AES-GCM under the key ring, rotated with it."""

from __future__ import annotations

import base64

import pytest
from pytest_django.fixtures import Settings

from accounts.tests.factories import UserFactory
from payments import crypto
from payments.exceptions import DecryptionFailed
from payments.services import encryption_key_rotate
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_rotate_secret
from webhooks.tests.factories import endpoint

OLD = f"old:{base64.b64encode(b'o' * 32).decode()}"
NEW = f"new:{base64.b64encode(b'n' * 32).decode()}"


@pytest.mark.django_db(transaction=True)
def test_a_key_ring_rotation_re_encrypts_endpoint_secrets(settings: Settings) -> None:
    # given an endpoint (with a rotated secret) written under the old key
    settings.ENCRYPTION_KEYS = OLD
    ep, first = endpoint(user=UserFactory.create(), url="https://127.0.0.1/hook")
    second = endpoint_rotate_secret(endpoint=ep)
    # when a new key is added and the rotation runs
    settings.ENCRYPTION_KEYS = f"{NEW},{OLD}"
    report = encryption_key_rotate(batch_size=10)
    # then both secrets are under the new key and still read back
    stored = WebhookEndpoint.objects.get()
    assert report.remaining["webhooks.WebhookEndpoint"] == 0
    assert crypto.key_id_of(stored.secret_encrypted) == "new"
    assert stored.previous_secret_encrypted is not None
    assert crypto.key_id_of(stored.previous_secret_encrypted) == "new"
    settings.ENCRYPTION_KEYS = NEW
    assert (stored.secret, stored.previous_secret) == (second, first)


@pytest.mark.django_db
def test_a_secret_copied_to_another_endpoint_does_not_decrypt() -> None:
    a, _ = endpoint(user=UserFactory.create(), url="https://127.0.0.1/a")
    b, _ = endpoint(user=UserFactory.create(), url="https://127.0.0.1/b")
    WebhookEndpoint.objects.filter(pk=b.pk).update(secret_encrypted=a.secret_encrypted)
    b.refresh_from_db()
    with pytest.raises(DecryptionFailed):
        _ = b.secret
