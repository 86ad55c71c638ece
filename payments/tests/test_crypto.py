import base64
import logging
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings as SettingsWrapper

from payments import crypto
from payments.exceptions import DecryptionFailed

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()
AAD = crypto.associated_data(table="payments_bankaccount", field="account_number", row_id="row-1")


def test_encrypt_round_trips_with_key_id_and_fresh_nonce(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = f"k2:{KEY_B},k1:{KEY_A}"

    # when
    first = crypto.encrypt("000123456789", aad=AAD)
    second = crypto.encrypt("000123456789", aad=AAD)

    # then
    assert first.startswith("v1:k2:")
    assert first != second  # a fresh random nonce each time
    assert first.split(":")[2] != second.split(":")[2]
    assert len(base64.b64decode(first.split(":")[2])) == 12
    assert "000123456789" not in first
    assert crypto.decrypt(first, aad=AAD) == "000123456789"


def test_every_key_in_the_ring_decrypts(settings: SettingsWrapper) -> None:
    # given: a value written while k1 was the newest key
    settings.ENCRYPTION_KEYS = f"k1:{KEY_A}"
    stored = crypto.encrypt("secret", aad=AAD)

    # when: k2 is prepended
    settings.ENCRYPTION_KEYS = f"k2:{KEY_B},k1:{KEY_A}"

    # then
    assert crypto.decrypt(stored, aad=AAD) == "secret"
    assert crypto.key_id_of(stored) == "k1"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB"),  # ciphertext/tag changed
        lambda s: s.replace(s.split(":")[2], base64.b64encode(os.urandom(12)).decode()),  # other nonce
        lambda s: s.rsplit(":", 1)[0] + ":%%%",  # not base64
        lambda s: "v9" + s[2:],  # unknown format version
        lambda s: "garbage",
    ],
)
def test_tampered_values_fail_with_a_clear_error_that_leaks_nothing(
    settings: SettingsWrapper, caplog: pytest.LogCaptureFixture, tamper: object
) -> None:
    # given
    settings.ENCRYPTION_KEYS = f"k1:{KEY_A}"
    stored = crypto.encrypt("000123456789", aad=AAD)
    caplog.set_level(logging.DEBUG)

    # when
    with pytest.raises(DecryptionFailed) as excinfo:
        crypto.decrypt(tamper(stored), aad=AAD)  # type: ignore[operator]

    # then
    message = str(excinfo.value)
    assert excinfo.value.code == "decryption_failed"
    assert "000123456789" not in message and stored not in message and KEY_A not in message
    assert "000123456789" not in caplog.text and KEY_A not in caplog.text


def test_wrong_key_under_the_same_id_fails(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = f"k1:{KEY_A}"
    stored = crypto.encrypt("secret", aad=AAD)

    # when
    settings.ENCRYPTION_KEYS = f"k1:{KEY_B}"

    # then
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(stored, aad=AAD)


def test_unknown_key_id_is_logged_for_operators_but_not_put_in_the_error(
    settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    settings.ENCRYPTION_KEYS = f"k1:{KEY_A}"
    stored = crypto.encrypt("secret", aad=AAD)
    settings.ENCRYPTION_KEYS = f"k2:{KEY_B}"

    # when
    with pytest.raises(DecryptionFailed) as excinfo:
        crypto.decrypt(stored, aad=AAD)

    # then
    assert str(excinfo.value) == "A stored encrypted value uses a key that is not configured."
    assert "key id 'k1' is not in ENCRYPTION_KEYS" in caplog.text
    assert KEY_A not in caplog.text and stored not in caplog.text and "secret" not in caplog.text


def test_ciphertext_is_bound_to_table_field_and_row(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = f"k1:{KEY_A}"
    stored = crypto.encrypt("secret", aad=AAD)

    # then: the same ciphertext does not decrypt for another row, field or table
    for other in (
        crypto.associated_data(table="payments_bankaccount", field="account_number", row_id="row-2"),
        crypto.associated_data(table="payments_bankaccount", field="routing_number", row_id="row-1"),
        crypto.associated_data(table="other_table", field="account_number", row_id="row-1"),
    ):
        with pytest.raises(DecryptionFailed):
            crypto.decrypt(stored, aad=other)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ,  ",
        "k1",  # no key
        f"k 1:{KEY_A}",  # bad key id
        "k1:not-base64!",
        f"k1:{base64.b64encode(b'short').decode()}",  # not 32 bytes
        f"k1:{KEY_A},k1:{KEY_B}",  # duplicate id
    ],
)
def test_bad_key_ring_is_refused(spec: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_key_ring(spec)


def test_key_ring_order_first_encrypts() -> None:
    # when
    ring = crypto.parse_key_ring(f" k2:{KEY_B} , k1:{KEY_A} ")

    # then
    assert ring.primary_kid == "k2"
    assert set(ring.keys) == {"k1", "k2"}
    assert ring.prefix() == "v1:k2:"
