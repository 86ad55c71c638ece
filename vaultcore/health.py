"""Liveness and readiness probes (``/healthz``, ``/readyz``)."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connections
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vaultcore.errors import error_body
from vaultcore.openapi import error_responses

logger = logging.getLogger("vaultcore.health")

_Status = inline_serializer("HealthStatus", {"status": serializers.CharField()})
_Ready = inline_serializer(
    "ReadinessStatus",
    {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
)


def check_database() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def check_broker() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False


class HealthzApi(APIView):
    """The process is up. Touches nothing else."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="healthz", responses={200: _Status}, tags=["operations"])
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyzApi(APIView):
    """The database (and the broker, when configured) answer; otherwise 503 naming what failed."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="readyz",
        responses={200: _Ready, **error_responses(503, s503="The database or broker is unreachable; `attr` names it.")},
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        checks = {"database": "ok" if check_database() else "unavailable"}
        if settings.REDIS_URL:
            checks["broker"] = "ok" if check_broker() else "unavailable"
        failed = [name for name, state in checks.items() if state != "ok"]
        if not failed:
            return Response({"status": "ok", "checks": checks})
        body = error_body("server_error", "service_unavailable", f"{', '.join(failed)} unreachable")
        body["errors"] = [
            {"code": "service_unavailable", "detail": f"The {name} is unreachable.", "attr": name} for name in failed
        ]
        body["checks"] = checks
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
