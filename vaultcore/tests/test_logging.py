"""Logs carry the request id; LOG_FORMAT=json emits one JSON object per line."""

import json
import logging
import logging.config
from io import StringIO

from django.conf import settings
from rest_framework.test import APIClient


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
