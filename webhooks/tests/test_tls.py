"""HTTPS deliveries go to the checked address while TLS still names the URL's host: the server
sees the host name as SNI and must present a certificate for it."""

from __future__ import annotations

import datetime
import socket
import ssl
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_django.fixtures import Settings

from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from webhooks.models import WebhookAttempt
from webhooks.tests.factories import endpoint
from webhooks.tests.receiver import Receiver, receiver_running

pytestmark = pytest.mark.django_db(transaction=True)


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (also the test's only trusted CA) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An HTTPS receiver on 127.0.0.1 with a certificate for hooks.test, which resolves there."""
    cert, key = certificate(tmp_path, "hooks.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    settings.WEBHOOK_CA_BUNDLE = str(cert)
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host in ("hooks.test", "other.test") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield from receiver_running(tls=context)


def test_an_https_delivery_names_the_host_in_sni_and_host(tls_receiver: Receiver) -> None:
    # given an https endpoint named by host (DEBUG off: https only)
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    _, secret = endpoint(user=bob, url=f"https://hooks.test:{tls_receiver.port}/tls")
    tls_receiver.secrets = {"/tls": [secret]}
    # when an event is delivered
    transfer_create(sender=alice, recipient=bob.username, currency="USD", amount=Decimal("1.00"))
    # then the certificate for hooks.test was checked and accepted, SNI and Host name it
    (received,) = tls_receiver.at("/tls")
    assert received.verified_with == [secret]
    assert received.headers["host"] == f"hooks.test:{tls_receiver.port}"
    assert tls_receiver.server_names == ["hooks.test"]
    assert WebhookAttempt.objects.get().succeeded


def test_a_certificate_for_another_name_fails_the_attempt(tls_receiver: Receiver) -> None:
    # given an endpoint whose name resolves to the receiver, which has no certificate for it
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=f"https://other.test:{tls_receiver.port}/tls")
    # when an event is delivered
    transfer_create(sender=alice, recipient=bob.username, currency="USD", amount=Decimal("1.00"))
    # then nothing was accepted: the attempt failed on TLS
    assert tls_receiver.at("/tls") == []
    attempt = WebhookAttempt.objects.get()
    assert (attempt.succeeded, attempt.error) == (False, "TLS error")
