import logging
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from payments.models import BankAccount
from payments.tests.factories import BankAccountFactory

URL = "/api/v1/payments/bank-accounts/"
ACCOUNT_NUMBER = "000123456789"


def _body(**overrides: Any) -> dict[str, Any]:
    return {
        "account_holder_name": "Jane Doe",
        "bank_name": "Example Bank",
        "account_number": ACCOUNT_NUMBER,
        "routing_number": "110000000",
        "country": "US",
        "currency": "USD",
        **overrides,
    }


@pytest.mark.django_db
def test_create_returns_masked_fields_only(api_client: APIClient, caplog: pytest.LogCaptureFixture) -> None:
    # given
    user = UserFactory.create()
    api_client.force_authenticate(user)
    caplog.set_level(logging.DEBUG)

    # when
    response = api_client.post(URL, _body(account_number="0001-2345 6789"), format="json")

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "bank_name", "account_number_last4", "country", "currency", "created_at"}
    assert body["account_number_last4"] == "6789"
    assert (body["country"], body["currency"], body["bank_name"]) == ("US", "USD", "Example Bank")
    assert ACCOUNT_NUMBER not in response.content.decode()
    assert "110000000" not in response.content.decode()
    assert "Jane Doe" not in response.content.decode()
    assert ACCOUNT_NUMBER not in caplog.text and "110000000" not in caplog.text
    stored = BankAccount.objects.get(pk=body["id"])
    assert stored.owner == user
    assert stored.account_number == ACCOUNT_NUMBER  # separators removed
    assert stored.account_holder_name == "Jane Doe"


@pytest.mark.django_db
def test_list_shows_only_the_callers_active_accounts(api_client: APIClient) -> None:
    # given
    user = UserFactory.create()
    mine = BankAccountFactory.create(owner=user, account_number="000000001111")
    BankAccountFactory.create(owner=user, account_number="000000002222", deleted_at="2026-01-01T00:00:00Z")
    BankAccountFactory.create(account_number="000000003333")
    api_client.force_authenticate(user)

    # when
    response = api_client.get(URL)

    # then
    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [str(mine.pk)]
    assert response.json()[0]["account_number_last4"] == "1111"
    assert "000000001111" not in response.content.decode()


@pytest.mark.django_db
def test_delete_hides_the_account_but_keeps_the_row(api_client: APIClient) -> None:
    # given
    account = BankAccountFactory.create()
    api_client.force_authenticate(account.owner)

    # when
    response = api_client.delete(f"{URL}{account.pk}/")

    # then
    assert response.status_code == 204
    account.refresh_from_db()
    assert account.deleted_at is not None
    assert api_client.get(URL).json() == []
    assert api_client.delete(f"{URL}{account.pk}/").status_code == 404


@pytest.mark.django_db
def test_delete_of_someone_elses_account_is_not_found(api_client: APIClient) -> None:
    # given
    other = BankAccountFactory.create()
    api_client.force_authenticate(UserFactory.create())

    # when
    response = api_client.delete(f"{URL}{other.pk}/")
    unknown = api_client.delete(f"{URL}{uuid.uuid4()}/")

    # then
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert unknown.status_code == 404
    other.refresh_from_db()
    assert other.deleted_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "attr", "code"),
    [
        ({"country": "XX"}, "country", "invalid"),
        ({"country": "usa"}, "country", "invalid"),
        ({"currency": "XYZ"}, "currency", "unsupported_currency"),
        ({"currency": "usd"}, "currency", "unsupported_currency"),
        ({"account_number": "12"}, "account_number", "invalid"),
        ({"account_number": "12345678901234567890"}, "account_number", "invalid"),
        ({"account_number": "0001234abc"}, "account_number", "invalid"),
        ({"account_number": "DE89370400440532013001"}, "account_number", "invalid"),  # bad IBAN check digits
        ({"routing_number": "110000001"}, "routing_number", "invalid"),  # bad ABA checksum
        ({"routing_number": "12"}, "routing_number", "invalid"),
        # non-ASCII digits (a valid ABA number in Arabic-Indic and fullwidth digits)
        ({"routing_number": "\u0661\u0661\u0660\u0660\u0660\u0660\u0660\u0660\u0660"}, "routing_number", "invalid"),
        ({"routing_number": "\uff11\uff11\uff10\uff10\uff10\uff10\uff10\uff10\uff10"}, "routing_number", "invalid"),
        ({"account_number": "\uff10\uff10\uff10\uff11\uff12\uff13\uff14\uff15"}, "account_number", "invalid"),
        ({"account_holder_name": ""}, "account_holder_name", "blank"),
        ({"bank_name": "x" * 141}, "bank_name", "max_length"),
    ],
)
def test_invalid_input_is_a_400_on_the_field_and_stores_nothing(
    api_client: APIClient, overrides: dict[str, Any], attr: str, code: str
) -> None:
    # given
    api_client.force_authenticate(UserFactory.create())

    # when
    response = api_client.post(URL, _body(**overrides), format="json")

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    assert {"attr": attr, "code": code} == {k: body["errors"][0][k] for k in ("attr", "code")}
    assert BankAccount.objects.count() == 0
    for value in overrides.values():
        if len(value) > 6:
            assert value not in response.content.decode()  # the submitted number is never echoed


@pytest.mark.django_db
def test_iban_and_non_us_routing_codes_are_accepted(api_client: APIClient) -> None:
    # given
    api_client.force_authenticate(UserFactory.create())

    # when
    response = api_client.post(
        URL,
        _body(account_number="DE89 3704 0044 0532 0130 00", routing_number="COBADEFFXXX", country="DE", currency="EUR"),
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    assert response.json()["account_number_last4"] == "3000"


@pytest.mark.django_db
def test_anonymous_callers_are_refused(api_client: APIClient) -> None:
    # when
    response = api_client.post(URL, _body(), format="json")

    # then
    assert response.status_code in (401, 403)
    assert BankAccount.objects.count() == 0
