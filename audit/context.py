"""Where the current action comes from (client IP, request id), for the audit trail.

Services take who acts as ``acting_user=``; the client's IP is request metadata, so the
middleware below puts it in a context variable that ``audit_record`` reads. Outside a request
(commands, Celery) it is empty.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

client_ip_var: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP: ``REMOTE_ADDR``, or the address ``THROTTLE_NUM_PROXIES`` trusted proxies
    put in ``X-Forwarded-For`` (the same rule the throttles use). None if not a valid IP."""
    candidate = request.META.get("REMOTE_ADDR", "")
    num_proxies = getattr(settings, "THROTTLE_NUM_PROXIES", 0) or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            candidate = hops[-min(num_proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


@contextmanager
def audit_ip(ip: str | None) -> Iterator[None]:
    """Attribute audit records written inside this block to ``ip``."""
    token = client_ip_var.set(ip)
    try:
        yield
    finally:
        client_ip_var.reset(token)


class AuditContextMiddleware:
    """Make the client's IP available to ``audit_record`` for the duration of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_ip(client_ip(request)):
            return self.get_response(request)
