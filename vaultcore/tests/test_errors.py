"""Every error, from DRF or from Django, comes back in the contract's shape."""

import json

import pytest
from django.test import Client, override_settings
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from vaultcore.errors import DomainError


class _Frozen(DomainError):
    status_code = 423
    code = "wallet_frozen"
    default_detail = "The wallet is frozen."


class _EchoApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def post(self, request):
        return Response({"echo": str(request.data.get("amount")), "type": type(request.data.get("amount")).__name__})


class _DomainErrorApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request):
        raise _Frozen()


class _BoomApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request):
        raise RuntimeError("secret SQL: SELECT * FROM users")


def _plain_django_boom(request):
    raise RuntimeError("secret SQL: SELECT * FROM users")


urlpatterns = [
    path("echo/", _EchoApi.as_view()),
    path("frozen/", _DomainErrorApi.as_view()),
    path("boom/", _BoomApi.as_view()),
    path("plain-boom/", _plain_django_boom),
]


def _assert_shape(response, status: int, error_type: str, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"type", "errors"}
    assert body["type"] == error_type
    assert body["errors"][0]["code"] == code
    assert set(body["errors"][0]) == {"code", "detail", "attr"}
    return body


def test_unknown_url_is_404_in_the_error_shape(api_client) -> None:
    _assert_shape(api_client.get("/api/v1/no-such-thing/"), 404, "client_error", "not_found")


@override_settings(DEBUG=True)
def test_unknown_url_is_404_in_the_error_shape_in_debug_too() -> None:
    _assert_shape(Client().get("/nowhere/"), 404, "client_error", "not_found")


def test_wrong_method_is_405_in_the_error_shape(api_client) -> None:
    body = _assert_shape(api_client.post("/healthz"), 405, "client_error", "method_not_allowed")
    assert body["errors"][0]["attr"] is None


@pytest.mark.urls("vaultcore.tests.test_errors")
def test_malformed_json_is_400_parse_error(api_client) -> None:
    response = api_client.post("/echo/", data="{bad json", content_type="application/json")
    body = _assert_shape(response, 400, "validation_error", "parse_error")
    assert body["errors"][0]["attr"] is None


@pytest.mark.urls("vaultcore.tests.test_errors")
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_rejected(api_client, constant: str) -> None:
    response = api_client.post("/echo/", data=f'{{"amount": {constant}}}', content_type="application/json")
    _assert_shape(response, 400, "validation_error", "parse_error")


@pytest.mark.urls("vaultcore.tests.test_errors")
def test_json_numbers_are_parsed_as_exact_decimals(api_client) -> None:
    response = api_client.post("/echo/", data='{"amount": 0.1}', content_type="application/json")
    assert response.json() == {"echo": "0.1", "type": "Decimal"}


@pytest.mark.urls("vaultcore.tests.test_errors")
def test_unsupported_media_type_is_415(api_client) -> None:
    response = api_client.post("/echo/", data="<x/>", content_type="application/xml")
    _assert_shape(response, 415, "client_error", "unsupported_media_type")


@pytest.mark.urls("vaultcore.tests.test_errors")
def test_domain_error_maps_to_its_status_and_code(api_client) -> None:
    body = _assert_shape(api_client.get("/frozen/"), 423, "client_error", "wallet_frozen")
    assert body["errors"][0]["detail"] == "The wallet is frozen."


@pytest.mark.urls("vaultcore.tests.test_errors")
@pytest.mark.parametrize("debug", [False, True])
def test_unhandled_error_is_500_without_leaking_details(debug: bool) -> None:
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=debug):
        for url in ("/boom/", "/plain-boom/"):
            response = client.get(url)
            _assert_shape(response, 500, "server_error", "server_error")
            assert "SELECT" not in response.content.decode()
            assert "Traceback" not in response.content.decode()


@pytest.mark.urls("vaultcore.tests.test_errors")
def test_missing_trailing_slash_on_post_keeps_the_body(api_client) -> None:
    # given a POST to a path without its trailing slash
    response = api_client.post("/echo", data=json.dumps({"amount": "1.50"}), content_type="application/json")
    # then it is served in place, not redirected
    assert response.status_code == 200
    assert response.json()["echo"] == "1.50"


@pytest.mark.urls("vaultcore.tests.test_errors")
def test_oversized_body_is_413_not_500(api_client, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api_client.post("/echo/", data=json.dumps({"amount": "1" * 500}), content_type="application/json")
    _assert_shape(response, 413, "client_error", "request_too_large")


def test_request_id_is_echoed_or_generated(api_client) -> None:
    given = api_client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    generated = api_client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert len(generated["X-Request-ID"]) == 32
