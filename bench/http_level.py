"""HTTP level: the real server (gunicorn + ``gunicorn.conf.py``, production settings) driven from
a second process on 127.0.0.1 by ``wrk`` with a Lua script, or by a small asyncio/httpx client
when ``wrk`` is not installed. Every request carries a sender's real JWT and its own
``Idempotency-Key``; runs are bounded in seconds and in requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path

import httpx

from bench.drivers import BurstOutcome, pick_pair, run_burst
from bench.results import RunResult
from bench.scratch import CURRENCY, Population

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk" / "transfer.lua"
TRANSFER_PATH = "/api/v1/transactions/transfer/"
GRAPHQL_PATH = "/graphql/"
# The contract's transfer mutation; the Idempotency-Key header supplies its key, as for REST.
GRAPHQL_TRANSFER = (
    'mutation T($w: String!, $r: String!) { transfer(fromWalletId: $w, input: {amount: "1.00", recipient: $r}) { id } }'
)
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn_server(env: dict[str, str], *, log_path: Path, workers: int | None = None) -> Iterator[str]:
    """Start gunicorn (``gunicorn.conf.py``) on a free local port; yield its base URL."""
    port = free_port()
    child_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    if workers is not None:
        child_env["GUNICORN_WORKERS"] = str(workers)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "vaultcore.wsgi:application"],
            cwd=ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(base + "/healthz", headers=PROXY_HEADERS, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within 60 s; see {log_path}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def mint_tokens(user_ids: list[int]) -> list[str]:
    """Real access tokens (same signing key, claims and ``token_version`` as a log-in issues)."""
    from accounts.models import User
    from accounts.tokens import TOKEN_VERSION_CLAIM, VaultAccessToken

    users = User.objects.in_bulk(user_ids)
    tokens = []
    for pk in user_ids:
        token = VaultAccessToken.for_user(users[pk])
        token[TOKEN_VERSION_CLAIM] = users[pk].token_version
        tokens.append(str(token))
    return tokens


def wallet_public_ids(population: Population) -> list[str]:
    """The UUIDs (what the APIs call a wallet's id) of the population's wallets, by index."""
    from wallets.models import Wallet

    public = dict(Wallet.objects.filter(pk__in=population.wallet_ids).values_list("pk", "public_id"))
    return [str(public[pk]) for pk in population.wallet_ids]


def write_users_file(path: Path, population: Population, tokens: list[str]) -> None:
    rows = zip(population.usernames, tokens, wallet_public_ids(population), strict=True)
    path.write_text("".join(f"{name}\t{token}\t{wallet}\n" for name, token, wallet in rows))


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def _result(
    *,
    shape: str,
    clients: int,
    seconds: float,
    latencies_ms: list[float] | None,
    stats: dict[str, float] | None,
    counts: Counter[str],
    tool: str,
    level: str = "http",
) -> RunResult:
    errors: Counter[str] = Counter({k: v for k, v in counts.items() if k != "201"})
    if latencies_ms is not None:
        result = RunResult.from_latencies(
            level=level, shape=shape, clients=clients, seconds=seconds, latencies_ms=latencies_ms, errors=errors
        )
    else:
        assert stats is not None
        result = RunResult(
            level=level,
            shape=shape,
            clients=clients,
            seconds=seconds,
            ok=0,
            errors=dict(errors),
            p50_ms=stats["p50"],
            p95_ms=stats["p95"],
            p99_ms=stats["p99"],
            mean_ms=stats["mean"],
        )
    result.ok = counts.get("201", 0)
    result.notes = tool
    return result


def run_wrk(
    base: str,
    users_file: Path,
    *,
    shape: str,
    clients: int,
    seconds: float,
    max_requests: int,
    tag: str,
    api: str = "rest",
) -> RunResult:
    binary = wrk_binary()
    assert binary is not None
    wrk_threads = min(clients, 2)
    per_thread = max(1, max_requests // wrk_threads)
    argv = [
        binary, "-t", str(wrk_threads), "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(LUA), base + TRANSFER_PATH, "--", str(users_file), shape, str(per_thread), tag, api,
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=seconds + 120)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-500:]} {proc.stdout[-500:]}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    counts: Counter[str] = Counter({str(k): int(v) for k, v in data["counts"].items()})
    for kind, n in data["socket_errors"].items():
        if n:
            counts[f"socket {kind}"] += int(n)
    stats = {k: data[f"{k}_us"] / 1000 for k in ("p50", "p95", "p99", "mean")}
    return _result(
        shape=shape, clients=clients, seconds=data["duration_us"] / 1e6, latencies_ms=None, stats=stats,
        counts=counts, tool="wrk", level=_level(api),
    )  # fmt: skip


def _level(api: str) -> str:
    return "http" if api == "rest" else "graphql"


def _label(response: httpx.Response, api: str = "rest") -> str:
    if api == "graphql" and response.status_code == 200:
        # GraphQL answers 200 either way: a success counts as REST's 201, an error by its code.
        with suppress(ValueError, KeyError, IndexError, TypeError):
            errors = response.json().get("errors")
            return f"200 {errors[0]['extensions']['code']}" if errors else "201"
    label = str(response.status_code)
    if response.status_code >= 400:
        with suppress(ValueError, KeyError, IndexError, TypeError):
            label += " " + response.json()["errors"][0]["code"]
    return label


def run_asyncio(
    base: str,
    population: Population,
    tokens: list[str],
    *,
    shape: str,
    clients: int,
    seconds: float,
    max_requests: int,
    tag: str,
    api: str = "rest",
) -> RunResult:
    """The fallback load generator: ``clients`` keep-alive connections, one request in flight each."""

    wallets = wallet_public_ids(population) if api == "graphql" else []

    async def main() -> tuple[list[float], Counter[str], float]:
        latencies: list[float] = []
        counts: Counter[str] = Counter()
        budget = [max_requests]
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
            deadline = time.perf_counter() + seconds

            async def worker(no: int) -> None:
                rng = random.Random(no)
                sent = 0
                while time.perf_counter() < deadline and budget[0] > 0:
                    budget[0] -= 1
                    sent += 1
                    pair = pick_pair(shape, len(tokens), rng)
                    headers = {
                        **PROXY_HEADERS,
                        "Authorization": f"Bearer {tokens[pair.source]}",
                        "Idempotency-Key": f"{tag}-{no}-{sent}",
                    }
                    path, body = _transfer_request(api, population, wallets, pair.source, pair.target)
                    start = time.perf_counter()
                    try:
                        response = await client.post(path, json=body, headers=headers)
                    except httpx.HTTPError as exc:
                        counts[f"socket {type(exc).__name__}"] += 1
                        continue
                    latencies.append((time.perf_counter() - start) * 1000)
                    counts[_label(response, api)] += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(clients)))
            return latencies, counts, time.perf_counter() - started

    latencies, counts, elapsed = asyncio.run(main())
    return _result(
        shape=shape, clients=clients, seconds=elapsed, latencies_ms=latencies, stats=None, counts=counts,
        tool="asyncio-httpx", level=_level(api),
    )  # fmt: skip


def _transfer_request(
    api: str, population: Population, wallets: list[str], source: int, target: int
) -> tuple[str, dict[str, object]]:
    recipient = population.usernames[target]
    if api == "graphql":
        return GRAPHQL_PATH, {"query": GRAPHQL_TRANSFER, "variables": {"w": wallets[source], "r": recipient}}
    return TRANSFER_PATH, {"recipient": recipient, "currency": CURRENCY, "amount": "1.00"}


def run(
    base: str,
    population: Population,
    tokens: list[str],
    users_file: Path,
    *,
    shape: str,
    clients: int,
    seconds: float,
    max_requests: int,
    use_wrk: bool,
    api: str = "rest",
) -> RunResult:
    """One run of REST's transfer (``api="rest"``) or the GraphQL transfer mutation (``"graphql"``)."""
    tag = f"{api}-{shape}-{clients}-{uuid.uuid4().hex[:8]}"
    if use_wrk and wrk_binary():
        return run_wrk(
            base, users_file, shape=shape, clients=clients, seconds=seconds, max_requests=max_requests, tag=tag,
            api=api,
        )  # fmt: skip
    return run_asyncio(
        base, population, tokens, shape=shape, clients=clients, seconds=seconds, max_requests=max_requests, tag=tag,
        api=api,
    )  # fmt: skip


def run_double_spend(
    base: str,
    spenders: Population,
    spender_tokens: list[str],
    recipients: Population,
    *,
    clients: int,
    balance: Decimal,
) -> BurstOutcome:
    """Round r: ``clients`` concurrent POSTs spending spender r's whole balance, each with its own
    Idempotency-Key, to different recipients. Exactly one may get 201."""
    local = threading.local()
    opened: list[httpx.Client] = []
    lock = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=30)
            with lock:
                opened.append(local.client)
        return local.client

    def operation(round_no: int, no: int) -> str | None:
        response = client().post(
            TRANSFER_PATH,
            json={
                "recipient": recipients.usernames[no % len(recipients.usernames)],
                "currency": CURRENCY,
                "amount": str(balance),
            },
            headers={
                **PROXY_HEADERS,
                "Authorization": f"Bearer {spender_tokens[round_no]}",
                "Idempotency-Key": f"burst-{round_no}-{no}-{uuid.uuid4().hex[:8]}",
            },
        )
        return None if response.status_code == 201 else _label(response)

    try:
        return run_burst(operation, level="http", clients=clients, rounds=len(spenders.user_ids))
    finally:
        for c in opened:
            c.close()


def tempdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="vaultcore-bench-")
