"""A local stand-in for Stripe's API, for tests that drive the REAL ``stripe`` SDK.

A threaded HTTP server on 127.0.0.1 (random port) implementing only what VaultCore calls:

- ``POST /v1/payment_intents``, ``GET /v1/payment_intents/{id}``, ``POST /v1/payment_intents/{id}/cancel``
- ``POST /v1/payouts``, ``GET /v1/payouts/{id}``
- ``POST /v1/transfers``, ``GET /v1/transfers/{id}`` (Connect)
- ``POST /v1/refunds``

Objects are shaped like Stripe's documented ones (id prefixes, ``object``, ``amount`` in minor
units, lower-case ``currency``, ``metadata``, ``created``, ``livemode``...). Requests are
form-encoded with bracketed keys, authenticated with ``Authorization: Bearer <key>``.

``Idempotency-Key`` behaves like Stripe's: the same key with the same parameters replays the
first response (header ``Idempotent-Replayed: true``) and creates nothing; the same key with
other parameters -> 400 ``idempotency_error``; while the first request is still running -> 409.

Faults for the next N calls: :meth:`StripeStandIn.inject` with ``"timeout"`` (the request IS
executed and stored, then the response is delayed past the client's timeout — the "Stripe did
it but we never heard back" case), ``"500"`` (``api_error``, nothing executed), ``"402"``
(``card_error`` / ``card_declined``) and ``"429"`` (``rate_limit``, nothing executed).

Test drivers move objects along like Stripe would: :meth:`succeed_payment_intent`,
:meth:`fail_payment_intent`, :meth:`set_payout_status`; :meth:`event` builds an Event payload.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Json = dict[str, Any]

FAULTS = ("timeout", "500", "402", "429")


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def parse_stripe_form(body: str) -> Json:
    """Decode Stripe's form encoding (``metadata[a]=1``, ``items[0][x]=y``) into nested dicts."""
    result: Json = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        parts = raw_key.replace("]", "").split("[")
        node: Any = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


@dataclass
class RecordedRequest:
    method: str
    path: str
    idempotency_key: str | None
    params: Json
    status: int


@dataclass
class _IdempotentResult:
    fingerprint: str
    status: int = 0
    body: Json = field(default_factory=dict)
    done: bool = False


class StripeError(Exception):
    def __init__(self, status: int, error_type: str, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {
            "error": {"type": error_type, "message": message, **({"code": code} if code else {}), **extra}
        }


class StripeStandIn:
    """State and behaviour of the stand-in. Thread-safe; start with :meth:`start`."""

    def __init__(self, *, api_key: str = "sk_test_standin", timeout_delay: float = 2.0) -> None:
        self.api_key = api_key
        self.timeout_delay = timeout_delay
        self.payment_intents: dict[str, Json] = {}
        self.payouts: dict[str, Json] = {}
        self.transfers: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: deque[str] = deque()
        self._idempotency: dict[str, _IdempotentResult] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(_Handler):
            state = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stripe-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- fault injection and drivers ---------------------------------------------------------
    def inject(self, fault: str, times: int = 1) -> None:
        """Make the next ``times`` API calls fail with ``fault`` (one of FAULTS)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        with self._lock:
            self._faults.extend([fault] * times)

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def calls(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def succeed_payment_intent(self, pi_id: str) -> Json:
        with self._lock:
            pi = self.payment_intents[pi_id]
            charge_id = _new_id("ch")
            pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge_id)
            return dict(pi)

    def fail_payment_intent(self, pi_id: str, *, code: str = "card_declined") -> Json:
        with self._lock:
            pi = self.payment_intents[pi_id]
            pi.update(
                status="requires_payment_method",
                last_payment_error={"type": "card_error", "code": code, "message": "Your card was declined."},
            )
            return dict(pi)

    def set_payout_status(self, po_id: str, status: str, *, failure_code: str | None = None) -> Json:
        with self._lock:
            po = self.payouts[po_id]
            po["status"] = status
            if status == "failed":
                po["failure_code"] = failure_code or "account_closed"
                po["failure_message"] = "The bank account has been closed."
            return dict(po)

    @staticmethod
    def event(event_type: str, obj: Json, *, event_id: str | None = None, created: int | None = None) -> Json:
        """A Stripe Event object (API shape) wrapping ``obj``."""
        return {
            "id": event_id or _new_id("evt"),
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": created or int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    # --- request handling --------------------------------------------------------------------
    def handle(self, method: str, path: str, params: Json, idempotency_key: str | None) -> tuple[int, Json, bool]:
        """Return (status, body, replayed). Raises StripeError for API errors."""
        if method == "POST" and idempotency_key:
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            with self._lock:
                saved = self._idempotency.get(idempotency_key)
                if saved is not None:
                    if saved.fingerprint != fingerprint:
                        raise StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            "first used with.",
                        )
                    if not saved.done:
                        raise StripeError(
                            409,
                            "idempotency_error",
                            "There is currently another in-progress request using this Idempotent Key.",
                        )
                    return saved.status, saved.body, True
                saved = self._idempotency[idempotency_key] = _IdempotentResult(fingerprint)
            try:
                status, body = self._route(method, path, params)
            except StripeError as exc:
                if exc.status >= 500:
                    with self._lock:
                        del self._idempotency[idempotency_key]
                    raise
                status, body = exc.status, exc.body
            with self._lock:
                saved.status, saved.body, saved.done = status, body, True
            return status, body, False
        return (*self._route(method, path, params), False)

    def _route(self, method: str, path: str, params: Json) -> tuple[int, Json]:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "v1":
            raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        resource, rest = parts[1], parts[2:]
        with self._lock:
            if resource == "payment_intents":
                return self._payment_intents(method, rest, params)
            if resource == "payouts":
                return self._simple(method, rest, params, self.payouts, "po", self._new_payout)
            if resource == "transfers":
                return self._simple(method, rest, params, self.transfers, "tr", self._new_transfer)
            if resource == "refunds" and method == "POST" and not rest:
                return 200, self._new_refund(params)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _amount(params: Json) -> int:
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError):
            raise StripeError(
                400, "invalid_request_error", "Missing required param: amount.", "parameter_missing"
            ) from None
        if amount < 1:
            raise StripeError(400, "invalid_request_error", "Amount must be at least 1.", "amount_too_small")
        return amount

    @staticmethod
    def _currency(params: Json) -> str:
        currency = str(params.get("currency", ""))
        if len(currency) != 3 or currency != currency.lower():
            raise StripeError(400, "invalid_request_error", "Invalid currency.", "parameter_invalid_string")
        return currency

    def _payment_intents(self, method: str, rest: list[str], params: Json) -> tuple[int, Json]:
        if method == "POST" and not rest:
            pi_id = _new_id("pi")
            pi: Json = {
                "id": pi_id,
                "object": "payment_intent",
                "amount": self._amount(params),
                "amount_capturable": 0,
                "amount_received": 0,
                "automatic_payment_methods": params.get("automatic_payment_methods"),
                "canceled_at": None,
                "cancellation_reason": None,
                "capture_method": "automatic",
                "client_secret": f"{pi_id}_secret_{secrets.token_hex(12)}",
                "confirmation_method": "automatic",
                "created": int(time.time()),
                "currency": self._currency(params),
                "description": params.get("description"),
                "last_payment_error": None,
                "latest_charge": None,
                "livemode": False,
                "metadata": params.get("metadata", {}),
                "payment_method": None,
                "status": "requires_payment_method",
            }
            self.payment_intents[pi_id] = pi
            return 200, dict(pi)
        pi_found = self.payment_intents.get(rest[0]) if rest else None
        if pi_found is None:
            raise StripeError(404, "invalid_request_error", "No such payment_intent.", "resource_missing")
        if method == "GET" and len(rest) == 1:
            return 200, dict(pi_found)
        if method == "POST" and rest[1:] == ["cancel"]:
            if pi_found["status"] in ("succeeded", "canceled"):
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"You cannot cancel this PaymentIntent because it has a status of {pi_found['status']}.",
                    "payment_intent_unexpected_state",
                )
            pi_found.update(
                status="canceled",
                canceled_at=int(time.time()),
                cancellation_reason=params.get("cancellation_reason", "requested_by_customer"),
            )
            return 200, dict(pi_found)
        raise StripeError(404, "invalid_request_error", "Unrecognized request URL.")

    def _simple(
        self, method: str, rest: list[str], params: Json, store: dict[str, Json], prefix: str, factory: Any
    ) -> tuple[int, Json]:
        if method == "POST" and not rest:
            obj: Json = factory(params)
            store[obj["id"]] = obj
            return 200, dict(obj)
        if method == "GET" and len(rest) == 1:
            found = store.get(rest[0])
            if found is None:
                raise StripeError(404, "invalid_request_error", f"No such {prefix} object.", "resource_missing")
            return 200, dict(found)
        raise StripeError(404, "invalid_request_error", "Unrecognized request URL.")

    def _new_payout(self, params: Json) -> Json:
        now = int(time.time())
        return {
            "id": _new_id("po"),
            "object": "payout",
            "amount": self._amount(params),
            "arrival_date": now + 2 * 86400,
            "automatic": False,
            "balance_transaction": _new_id("txn"),
            "created": now,
            "currency": self._currency(params),
            "description": params.get("description"),
            "destination": params.get("destination") or _new_id("ba"),
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "method": params.get("method", "standard"),
            "source_type": "card",
            "statement_descriptor": None,
            "status": "pending",
            "type": "bank_account",
        }

    def _new_transfer(self, params: Json) -> Json:
        if not params.get("destination"):
            raise StripeError(400, "invalid_request_error", "Missing required param: destination.", "parameter_missing")
        return {
            "id": _new_id("tr"),
            "object": "transfer",
            "amount": self._amount(params),
            "amount_reversed": 0,
            "created": int(time.time()),
            "currency": self._currency(params),
            "destination": params["destination"],
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "reversed": False,
            "transfer_group": params.get("transfer_group"),
        }

    def _new_refund(self, params: Json) -> Json:
        pi = self.payment_intents.get(str(params.get("payment_intent", "")))
        if pi is None:
            raise StripeError(400, "invalid_request_error", "No such payment_intent.", "resource_missing")
        if pi["status"] != "succeeded":
            raise StripeError(
                400, "invalid_request_error", "This PaymentIntent has not succeeded.", "charge_not_refundable"
            )
        amount = self._amount(params) if "amount" in params else pi["amount_received"]
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == pi["id"])
        if amount + refunded > pi["amount_received"]:
            raise StripeError(
                400, "invalid_request_error", "Refund amount is greater than unrefunded amount.", "amount_too_large"
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": pi["latest_charge"],
            "created": int(time.time()),
            "currency": pi["currency"],
            "metadata": params.get("metadata", {}),
            "payment_intent": pi["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return refund


class _Handler(BaseHTTPRequestHandler):
    state: StripeStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        url = urlsplit(self.path)
        params = parse_stripe_form(raw if method == "POST" else url.query)
        key = self.headers.get("Idempotency-Key")
        state = self.state
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}})
            return
        fault = state._next_fault()
        if fault == "500":
            self._record(method, url.path, key, params, 500)
            self._send(500, {"error": {"type": "api_error", "message": "An unknown error occurred."}})
            return
        if fault == "429":
            self._record(method, url.path, key, params, 429)
            self._send(
                429,
                {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."}},
            )
            return
        if fault == "402":
            self._record(method, url.path, key, params, 402)
            self._send(
                402,
                {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": "generic_decline",
                        "message": "Your card was declined.",
                    }
                },
            )
            return
        replayed = False
        try:
            status, body, replayed = state.handle(method, url.path, params, key)
        except StripeError as exc:
            status, body = exc.status, exc.body
        self._record(method, url.path, key, params, status)
        if fault == "timeout":
            time.sleep(state.timeout_delay)
        self._send(status, body, replayed=replayed)

    def _record(self, method: str, path: str, key: str | None, params: Json, status: int) -> None:
        with self.state._lock:
            self.state.requests.append(RecordedRequest(method, path, key, params, status))

    def _send(self, status: int, body: Json, *, replayed: bool = False) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", _new_id("req"))
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (injected timeout)
