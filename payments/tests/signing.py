"""Signed webhook deliveries for tests: real ``Stripe-Signature`` headers from the test secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

TEST_WEBHOOK_SECRET = "whsec_test_vaultcore_standin_secret"


def stripe_signature_header(
    payload: bytes | str, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """A real ``Stripe-Signature`` header: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "t.payload")>``."""
    body = payload.decode() if isinstance(payload, bytes) else payload
    ts = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={signature}"


def signed_delivery(
    event: dict[str, Any], *, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``api_client.post(WEBHOOK_URL, **signed_delivery(event))``."""
    body = json.dumps(event)
    return {
        "data": body,
        "content_type": "application/json",
        "HTTP_STRIPE_SIGNATURE": stripe_signature_header(body, secret, timestamp),
    }
