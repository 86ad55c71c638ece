"""DecimalJSONParser and form bodies: malformed input is a 400 in the contract's shape, never a 500."""

from __future__ import annotations

import logging
from decimal import Decimal
from io import BytesIO

import pytest
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.test import APIClient

from vaultcore.parsers import MAX_JSON_DEPTH, DecimalJSONParser

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"


def _assert_400(response, code: str, attr: str | None = None) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    assert (body["errors"][0]["code"], body["errors"][0]["attr"]) == (code, attr)


def _assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def _parse(raw: str) -> object:
    return DecimalJSONParser().parse(BytesIO(raw.encode()))


def test_numbers_are_parsed_as_decimals() -> None:
    assert _parse('{"amount": 10.10}') == {"amount": Decimal("10.10")}


@pytest.mark.parametrize("depth", [1000, 5000])
def test_json_nested_1000_deep_is_a_parse_error(depth: int, caplog: pytest.LogCaptureFixture) -> None:
    # given
    body = "[" * depth + "]" * depth
    # when
    response = APIClient().post(LOGIN, body, content_type="application/json")
    # then
    _assert_400(response, "parse_error")
    _assert_no_error_logged(caplog)


def test_json_nested_beyond_the_limit_is_refused_before_any_view_walks_it() -> None:
    with pytest.raises(ParseError):
        _parse('{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1))
    assert _parse('{"a": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH) is not None


def test_a_nul_character_in_a_json_string_is_a_400_on_its_top_level_field(caplog: pytest.LogCaptureFixture) -> None:
    response = APIClient().post(LOGIN, {"username": "a\x00b", "password": "x"}, format="json")
    _assert_400(response, "null_characters_not_allowed", attr="username")
    _assert_no_error_logged(caplog)


def test_a_nul_character_anywhere_in_the_json_is_refused() -> None:
    with pytest.raises(ValidationError):
        _parse('{"meta": {"tags": ["ok", "b\\u0000d"]}}')
    with pytest.raises(ValidationError):
        _parse('{"a\\u0000": 1}')


def test_a_form_with_more_than_1000_fields_is_a_400(caplog: pytest.LogCaptureFixture) -> None:
    # given
    body = "&".join(f"f{i}=1" for i in range(1001))
    # when
    response = APIClient().post(LOGIN, body, content_type="application/x-www-form-urlencoded")
    # then
    _assert_400(response, "too_many_fields")
    _assert_no_error_logged(caplog)
