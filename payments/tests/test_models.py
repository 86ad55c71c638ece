import pytest
from django.db import IntegrityError, connection, transaction

from payments.exceptions import DecryptionFailed
from payments.models import BankAccount
from payments.tests.factories import BankAccountFactory


@pytest.mark.django_db
def test_bank_account_reads_plaintext_but_stores_ciphertext() -> None:
    # given
    account = BankAccountFactory.create(account_number="000123456789", routing_number="110000000")

    # when
    fresh = BankAccount.objects.get(pk=account.pk)

    # then
    assert fresh.account_number == "000123456789"
    assert fresh.routing_number == "110000000"
    assert fresh.account_number_encrypted.startswith("v1:")
    assert "000123456789" not in fresh.account_number_encrypted


@pytest.mark.django_db
def test_raw_table_dump_contains_no_plaintext() -> None:
    # given
    BankAccountFactory.create(
        account_holder_name="Jane Plaintext", bank_name="Bank Of Plaintext", account_number="000987654321"
    )

    # when
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_bankaccount")
        dump = repr(cursor.fetchall())

    # then
    assert "000987654321" not in dump
    assert "Jane Plaintext" not in dump
    assert "Bank Of Plaintext" not in dump
    assert "4321" in dump  # only the last four digits are kept in clear


@pytest.mark.django_db
def test_ciphertext_copied_to_another_row_does_not_decrypt() -> None:
    # given
    first = BankAccountFactory.create(account_number="000111111111")
    second = BankAccountFactory.create(account_number="000222222222")

    # when: someone with database access swaps a ciphertext into another row
    BankAccount.objects.filter(pk=second.pk).update(account_number_encrypted=first.account_number_encrypted)
    second.refresh_from_db()

    # then
    with pytest.raises(DecryptionFailed):
        _ = second.account_number


@pytest.mark.django_db
def test_database_refuses_plaintext_in_encrypted_columns() -> None:
    # given
    account = BankAccountFactory.create()

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        BankAccount.objects.filter(pk=account.pk).update(account_number_encrypted="000123456789")
