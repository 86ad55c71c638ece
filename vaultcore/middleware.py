"""Project middleware: request ids, the Host check, JSON errors outside DRF, malformed requests,
no-store API responses, slash-tolerant routing."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import DisallowedHost, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_urlconf, resolve
from rest_framework import status

from vaultcore.errors import database_unavailable_response, is_database_unavailable, json_error
from vaultcore.log_context import request_id_var

logger = logging.getLogger("vaultcore.request")
security_logger = logging.getLogger("django.security.DisallowedHost")

_REQUEST_ID_RE = re.compile(r"\A[A-Za-z0-9._:-]{1,128}\Z")
_HTML_PREFIXES = ("/admin/", "/api/docs/")
_PRIVATE_PREFIXES = ("/api/", "/graphql/")
_CACHEABLE_API_PREFIXES = ("/api/schema/", "/api/docs/")

GetResponse = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Take a well-formed ``X-Request-ID`` from the client or make one; log it and echo it."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class JsonErrorMiddleware:
    """Errors that never reached a DRF view still use the contract's shape, in DEBUG too.

    Covers URLs that match nothing (404), Django's own 404/405/500 pages and exceptions raised
    outside DRF. The admin keeps its HTML pages.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith(_HTML_PREFIXES):
            return response
        if "json" in response.get("Content-Type", ""):
            return response
        if response.status_code == status.HTTP_404_NOT_FOUND:
            return json_error(404, "not_found", "Not found.")
        if response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            replacement = json_error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            if response.has_header("Allow"):
                replacement["Allow"] = response["Allow"]
            return replacement
        if response.status_code >= 500:
            return json_error(response.status_code, "server_error", "A server error occurred.")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            # A restart or failover: the client retries (503 with Retry-After), never a 500.
            return database_unavailable_response(exception, request)
        if request.path.startswith(_HTML_PREFIXES):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "server_error", "A server error occurred.")


class MalformedRequestMiddleware:
    """Refuse, with a 400 in the contract's shape, a URL no view should ever see.

    A NUL character in the path or the query string (PostgreSQL text cannot hold one, so it would
    fail in SQL as a 500) and more query parameters than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (Django
    raises ``TooManyFieldsSent`` wherever ``request.GET`` is first read, ``/healthz`` included).
    Bodies are checked by the parsers and the exception handler.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            return json_error(400, "null_characters_not_allowed", "Null characters are not allowed in the URL.")
        try:
            query = request.GET
        except TooManyFieldsSent:
            return json_error(400, "too_many_fields", "The request has too many query parameters.")
        for key, values in query.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                attr = None if "\x00" in key else key
                return json_error(400, "null_characters_not_allowed", "Null characters are not allowed.", attr)
        return self.get_response(request)


class TrailingSlashMiddleware:
    """Route ``/path`` to ``/path/`` in place, without a redirect, so no request body is lost.

    Django's APPEND_SLASH answers a POST with a 301 (the body is dropped by clients) or, in
    DEBUG, an error; every VaultCore path ends with a slash, so resolving the slashed form
    directly is the safe equivalent.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.endswith("/"):
            urlconf = getattr(request, "urlconf", get_urlconf())
            try:
                resolve(path, urlconf)
            except Resolver404:
                try:
                    resolve(path + "/", urlconf)
                except Resolver404:
                    pass
                else:
                    request.path_info = path + "/"
                    request.path = request.path + "/"
        return self.get_response(request)


class AllowedHostMiddleware:
    """A ``Host`` outside ALLOWED_HOSTS gets the contract's 400 on every path, in DEBUG too.

    Django would raise DisallowedHost deeper in the stack and answer with its HTML page (in DEBUG
    the technical page with the settings); checking first means no other code sees the request.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost as exc:
            # Django's own logger and message (the host is quoted with repr).
            security_logger.warning("%s", exc)
            return json_error(status.HTTP_400_BAD_REQUEST, "invalid_host", "The Host header is not allowed.")
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """Every ``/api/`` and ``/graphql/`` response, errors included, carries ``Cache-Control: no-store``.

    Tokens, balances and transactions must never be kept by a browser or a shared cache, and a
    middleware cannot be forgotten by a new view. The schema and its docs page are the same public
    document for everyone, so they stay cacheable.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(_PRIVATE_PREFIXES) and not request.path.startswith(_CACHEABLE_API_PREFIXES):
            response["Cache-Control"] = "no-store"
        return response
