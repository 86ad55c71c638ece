"""Logs carry the request id; LOG_FORMAT=json emits one JSON object per line."""

import json
import logging
import logging.config
from io import StringIO

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import StaffFactory


def _logging_probe() -> bool:
    logging.getLogger("vaultcore.health").info("probe")
    return True


def _configure(fmt: str, stream: StringIO) -> logging.Logger:
    config = json.loads(json.dumps(settings.LOGGING))  # deep copy
    config["handlers"]["console"]["formatter"] = fmt
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    return logging.getLogger("vaultcore.test")


def test_json_log_lines_carry_the_request_id(api_client: APIClient, monkeypatch) -> None:
    # given JSON logging and a view that logs
    stream = StringIO()
    try:
        _configure("json", stream)
        from vaultcore import health

        monkeypatch.setattr(health, "check_database", _logging_probe)
        # when
        api_client.get("/readyz", HTTP_X_REQUEST_ID="req-42")
        # then
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
        probe = next(line for line in lines if line["message"] == "probe")
        assert probe["request_id"] == "req-42"
        assert probe["level"] == "INFO"
        assert probe["logger"] == "vaultcore.health"
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_plain_log_lines_carry_the_request_id(api_client: APIClient, monkeypatch) -> None:
    stream = StringIO()
    try:
        _configure("plain", stream)
        from vaultcore import health

        monkeypatch.setattr(health, "check_database", _logging_probe)
        api_client.get("/readyz", HTTP_X_REQUEST_ID="req-43")
        assert "[req-43] probe" in stream.getvalue()
    finally:
        logging.config.dictConfig(settings.LOGGING)


@pytest.mark.django_db
def test_requests_a_client_got_wrong_log_warnings_without_tracebacks() -> None:
    # given the production log configuration
    stream = StringIO()
    try:
        _configure("plain", stream)
        staff = StaffFactory.create()
        admin = Client()
        admin.force_login(staff)
        # when a client sends too many form fields to the admin and opens a page it may not see
        fields = "&".join(f"f{i}=1" for i in range(1001))
        too_many = Client().post("/admin/login/", fields, content_type="application/x-www-form-urlencoded")
        denied = admin.get("/admin/payments/bankaccount/")
        # then both are refused and logged as warnings, with no stack trace
        assert (too_many.status_code, denied.status_code) == (400, 403)
        output = stream.getvalue()
        assert "WARNING django.security.TooManyFieldsSent" in output
        assert "WARNING django.request" in output
        assert " ERROR " not in output and "Traceback" not in output
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_server_errors_keep_their_level_and_traceback() -> None:
    stream = StringIO()
    try:
        _configure("plain", stream)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("django.request").exception("Internal Server Error: /x/")
        assert "ERROR django.request" in stream.getvalue() and "Traceback" in stream.getvalue()
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_a_request_id_with_a_trailing_newline_is_replaced(api_client: APIClient) -> None:
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="req-44\n")
    assert response["X-Request-ID"] != "req-44\n"
    assert len(response["X-Request-ID"]) == 32


def test_4xx_log_lines_carry_the_request_id_and_no_url_secret(api_client: APIClient) -> None:
    # given JSON logging
    stream = StringIO()
    secret = "c2VjcmV0LXRva2Vu.dmFsdWU"
    try:
        _configure("json", stream)
        # when a client asks for a URL that does not exist (Django logs it after the middleware ran)
        response = api_client.get(f"/api/v1/no-such-thing/?token={secret}", HTTP_X_REQUEST_ID="req-404")
        # then the warning carries the request id, and the request object is not dumped into it
        assert response.status_code == 404
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
        warning = next(line for line in lines if line["logger"] == "django.request")
        assert warning["level"] == "WARNING" and warning["request_id"] == "req-404"
        assert warning["status_code"] == 404 and "request" not in warning
        assert secret not in stream.getvalue()
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_json_lines_have_a_trace_id_field_empty_without_tracing() -> None:
    stream = StringIO()
    try:
        logger = _configure("json", stream)
        # when a line is logged without tracing, then one with a trace id set by tracing (as
        # OpenTelemetry's logging instrumentation sets it; "0" when no span is active)
        logger.info("untraced")
        logger.info("no span", extra={"otelTraceID": "0"})
        logger.info("traced", extra={"otelTraceID": "4bf92f3577b34da6a3ce929d0e0e4736"})
        logger.info("traced directly", extra={"trace_id": "0af7651916cd43dd8448eb211c80319c"})
        lines = {line["message"]: line for line in map(json.loads, stream.getvalue().splitlines())}
        assert lines["untraced"]["trace_id"] == "" and lines["no span"]["trace_id"] == ""
        assert lines["traced"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert lines["traced directly"]["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert all(line["request_id"] == "-" for line in lines.values())
    finally:
        logging.config.dictConfig(settings.LOGGING)
