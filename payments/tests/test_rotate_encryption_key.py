import base64
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from payments import crypto
from payments.exceptions import DecryptionFailed
from payments.models import BankAccount
from payments.services import RotationReport, encryption_key_rotate
from payments.tests.factories import BankAccountFactory

OLD = f"old:{base64.b64encode(b'o' * 32).decode()}"
NEW = f"new:{base64.b64encode(b'n' * 32).decode()}"


class Interrupted(Exception):
    pass


def _key_ids() -> set[str | None]:
    ids: set[str | None] = set()
    for account in BankAccount.objects.all():
        for f in crypto.encrypted_fields(BankAccount):
            ids.add(crypto.key_id_of(getattr(account, f.attname)))
    return ids


def _numbers() -> dict[str, str]:
    return {str(a.pk): a.account_number for a in BankAccount.objects.all()}


@pytest.mark.django_db(transaction=True)
def test_rotation_interrupted_halfway_resumes_and_old_key_can_then_be_removed(settings: SettingsWrapper) -> None:
    # given: five accounts written under the old key, then a new key prepended
    settings.ENCRYPTION_KEYS = OLD
    accounts = [BankAccountFactory.create(account_number=f"0000000{i:05d}") for i in range(5)]
    expected = {str(a.pk): a.account_number for a in accounts}
    holders = {a.account_holder_name for a in accounts}
    settings.ENCRYPTION_KEYS = f"{NEW},{OLD}"

    def interrupt_after_first_batch(report: RotationReport) -> None:
        raise Interrupted

    # when: the first run dies after its first committed batch
    with pytest.raises(Interrupted):
        encryption_key_rotate(batch_size=2, on_batch=interrupt_after_first_batch)

    # then: that batch is committed, the rest still on the old key, everything readable
    assert BankAccount.objects.filter(account_number_encrypted__startswith="v1:new:").count() == 2
    assert _key_ids() == {"old", "new"}
    assert _numbers() == expected

    # when: it is re-run
    report = encryption_key_rotate(batch_size=2)

    # then: only the remaining rows were touched
    assert report.rows == 3
    assert report.values == 12
    assert report.remaining == {"payments.BankAccount": 0, "webhooks.WebhookEndpoint": 0}
    assert _key_ids() == {"new"}

    # when: the old key is removed from the ring
    settings.ENCRYPTION_KEYS = NEW

    # then: everything still decrypts
    assert _numbers() == expected
    assert {a.account_holder_name for a in BankAccount.objects.all()} == holders


@pytest.mark.django_db
def test_values_already_on_the_newest_key_are_not_rewritten(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = f"{NEW},{OLD}"
    account = BankAccountFactory.create()
    before = account.account_number_encrypted

    # when
    report = encryption_key_rotate(batch_size=10)

    # then
    account.refresh_from_db()
    assert report.rows == 0
    assert account.account_number_encrypted == before


@pytest.mark.django_db
def test_without_rotation_removing_the_old_key_breaks_decryption(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = OLD
    account = BankAccountFactory.create()

    # when
    settings.ENCRYPTION_KEYS = NEW

    # then
    with pytest.raises(DecryptionFailed):
        _ = BankAccount.objects.get(pk=account.pk).account_number


@pytest.mark.django_db
def test_command_dry_run_counts_and_changes_nothing(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = OLD
    BankAccountFactory.create_batch(3)
    settings.ENCRYPTION_KEYS = f"{NEW},{OLD}"
    out = StringIO()

    # when
    call_command("rotate_encryption_key", "--dry-run", "--json", stdout=out)

    # then
    result = json.loads(out.getvalue())
    assert result["dry_run"] is True
    assert result["remaining"] == {"payments.BankAccount": 3, "webhooks.WebhookEndpoint": 0}
    assert result["key_id"] == "new"
    assert _key_ids() == {"old"}


@pytest.mark.django_db(transaction=True)
def test_command_rotates_in_batches(settings: SettingsWrapper) -> None:
    # given
    settings.ENCRYPTION_KEYS = OLD
    BankAccountFactory.create_batch(3)
    settings.ENCRYPTION_KEYS = f"{NEW},{OLD}"
    out = StringIO()

    # when
    call_command("rotate_encryption_key", "--batch-size", "2", stdout=out)

    # then
    text = out.getvalue()
    assert "batch 1: 2 rows" in text and "batch 2: 3 rows" in text
    assert "0 row(s) remaining" in text
    assert _key_ids() == {"new"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_number_encrypted FROM payments_bankaccount")
        assert all(row[0].startswith("v1:new:") for row in cursor.fetchall())


@pytest.mark.django_db
def test_command_stops_with_a_clear_error_when_a_value_uses_a_missing_key(settings: SettingsWrapper) -> None:
    # given: a value written under a key that was dropped before rotating
    settings.ENCRYPTION_KEYS = OLD
    account = BankAccountFactory.create(account_number="000999988887")
    settings.ENCRYPTION_KEYS = NEW

    # when
    with pytest.raises(CommandError) as excinfo:
        call_command("rotate_encryption_key", stdout=StringIO())

    # then
    message = str(excinfo.value)
    assert f"payments.BankAccount {account.pk}" in message
    assert "ENCRYPTION_KEYS" in message
    assert "000999988887" not in message
    assert crypto.key_id_of(BankAccount.objects.get(pk=account.pk).account_number_encrypted) == "old"
