"""Profile the transfer hot path in-process: ``python -m bench.profile_transfer [--profile]``.

On a fresh scratch database (same as ``python -m bench``), runs N transfers through the whole
Django stack (Django's test client: middleware, JWT authentication, idempotency, the service,
the serializer; no network) and N direct ``transfer_create`` calls, and prints per request the
wall time, the CPU time of this process (what gunicorn workers spend; robust to other load on
the machine), the SQL statements sent, and optionally a cProfile listing.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_STATS_RE = re.compile(r"!\s+([\d.]+) s user, ([\d.]+) s system")

# Project code and the layers under it, for the cumulative listing.
PROFILED = (
    r"/(ledger|accounts|vaultcore|wallets)/|rest_framework/(views|serializers|renderers|request)"
    r"|django/core/handlers|simplejwt|django/db/(models|backends|transaction)|/graphql_api/|strawberry/|graphql/"
)


def _timed(label: str, n: int, func: Callable[[int], None]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        func(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<8} {n} calls: wall {wall / n * 1000:.2f} ms, CPU {cpu / n * 1000:.2f} ms per call")


def server_statistics(connection: Any, func: Callable[[int], None], n: int) -> None:
    """PostgreSQL's own CPU per protocol message of one request (``log_statement_stats``, sent
    to this session as notices): a PARSE on every request means a statement is not prepared."""
    notices: list[tuple[str, float]] = []

    def collect(diag: Any) -> None:  # read at once: psycopg frees the notice after the callback
        found = _STATS_RE.search(diag.message_detail or "")
        if found:
            kind = (diag.message_primary or "").replace(" STATISTICS", "")
            notices.append((kind, float(found.group(1)) + float(found.group(2))))

    raw = connection.connection
    with connection.cursor() as cursor:
        cursor.execute("SET log_statement_stats = on")
        cursor.execute("SET client_min_messages = log")
    raw.add_notice_handler(collect)
    try:
        for i in range(n):
            func(i)
    finally:
        raw.remove_notice_handler(collect)
        with connection.cursor() as cursor:
            cursor.execute("RESET log_statement_stats")
            cursor.execute("RESET client_min_messages")
    per_request = len(notices) // n
    if per_request == 0 or len(notices) % n:
        print(f"server: {len(notices)} statistics notices for {n} requests (not one pattern per request)")
        return
    print(f"server: PostgreSQL CPU per protocol message of one HTTP transfer ({n} requests)")
    total = 0.0
    for position in range(per_request):
        kind = notices[position][0]
        cpu = sum(notices[i * per_request + position][1] for i in range(n)) / n * 1000
        total += cpu
        print(f"    {position + 1:>2}. {kind:<10} {cpu:.3f} ms")
    parses = sum(1 for kind, _ in notices[:per_request] if kind == "PARSE MESSAGE")
    print(f"    total {total:.3f} ms; {parses} PARSE per request (0 once every statement is prepared)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_transfer")
    parser.add_argument("-n", type=int, default=300, help="calls per measurement")
    parser.add_argument("--profile", action="store_true", help="print a cProfile listing of the HTTP path")
    parser.add_argument("--sort", default="cumulative", help="the cProfile listing's order (cumulative, tottime, ...)")
    parser.add_argument(
        "--api", choices=("rest", "graphql"), default="rest", help="the profiled path: REST's transfer or GraphQL's"
    )
    args = parser.parse_args(argv)

    from bench.environment import configure

    configure()
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from bench import scratch
    from bench.http_level import GRAPHQL_PATH, GRAPHQL_TRANSFER, PROXY_HEADERS, mint_tokens, wallet_public_ids
    from ledger.services.transfers import transfer_create

    scratch.recreate_and_migrate()
    population = scratch.populate(prefix="p", count=200, balance=Decimal("100000.00"))
    scratch.settle()
    users = User.objects.in_bulk(population.user_ids)
    senders = [users[pk] for pk in population.user_ids]
    tokens = mint_tokens(population.user_ids)
    wallets = wallet_public_ids(population)
    client = Client(headers={**PROXY_HEADERS, "Host": "127.0.0.1"})

    def rest(i: int) -> None:
        response = client.post(
            "/api/v1/transactions/transfer/",
            {"recipient": population.usernames[(i + 1) % 200], "currency": "USD", "amount": "1.00"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {tokens[i % 200]}", "Idempotency-Key": uuid.uuid4().hex},
        )
        if response.status_code != 201:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")

    def graphql(i: int) -> None:
        response = client.post(
            GRAPHQL_PATH,
            {"query": GRAPHQL_TRANSFER, "variables": {"w": wallets[i % 200], "r": population.usernames[(i + 1) % 200]}},
            content_type="application/json",
            headers={"Authorization": f"Bearer {tokens[i % 200]}", "Idempotency-Key": uuid.uuid4().hex},
        )
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")

    http = rest if args.api == "rest" else graphql

    def service(i: int) -> None:
        transfer_create(
            sender=senders[i % 200],
            recipient=population.usernames[(i + 1) % 200],
            currency="USD",
            amount=Decimal("1.00"),
        )

    for func in (rest, graphql, service):  # warm-up: imports, URL resolver, connection
        for i in range(20):
            func(i)
    # Ledger tables of some size, with statistics, as on a server that has run for a while: the
    # double-entry trigger's plans made on the empty tables would stay seq scans. ANALYZE
    # invalidates them; the next calls plan for real sizes.
    for i in range(2000):
        service(i)
    scratch.vacuum()
    for label, func in (("rest", rest), ("graphql", graphql), ("service", service)):
        with CaptureQueriesContext(connection) as queries:
            func(0)
        print(f"{label}: {len(queries.captured_queries)} SQL statements per transfer")
        for query in queries.captured_queries:
            print("   ", " ".join(query["sql"].split())[:140])
    _timed("rest", args.n, rest)
    _timed("graphql", args.n, graphql)
    _timed("service", args.n, service)
    server_statistics(connection, http, args.n)
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU time: other load does not blur it

        def many() -> None:
            for i in range(args.n):
                http(i)

        profiler.runcall(many)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(PROFILED, 60)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
