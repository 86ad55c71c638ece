"""``python -m bench``: the whole benchmark in one command (``make bench``; ``--smoke`` for CI).

Levels, side by side in one run on one PostgreSQL server: the raw SQL ceiling (pgbench), the
service level (``transfer_create`` from N threads) and the HTTP level (gunicorn + wrk or the
asyncio fallback); shapes uniform / hot / opposite plus a double-spend burst; then the zero-loss
check, history paging, a table, JSON (and a PNG chart when matplotlib is installed).

Exit status 1 when money was lost or created, a double-spend burst let more (or less) than one
spend through, a request crashed (500, exception, socket error) or a level could not run.
Slowness never fails it: the figures are for people to read.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench.environment import configure
from bench.history import PAGE_SIZE as HISTORY_PAGE_SIZE
from bench.results import RunResult, attach_ratios, render_table, write_json

SHAPES = ("uniform", "hot", "opposite")
FULL = {
    "wallets": 10_000,
    "clients": "1,4,16,32",
    "http_clients": "1,4,16,32",
    "seconds": 8.0,
    "max_requests": 100_000,
    "bursts": 5,
    "history_entries": 100_000,
    "history_page": 1000,
}
SMOKE = {
    "wallets": 200,
    "clients": "1,4",
    "http_clients": "4",
    "seconds": 1.0,
    "max_requests": 400,
    "bursts": 2,
    "history_entries": 500,
    "history_page": 4,
}
BALANCE = Decimal("100000.00")
BURST_BALANCE = Decimal("100.00")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, a few seconds per level (CI)")
    parser.add_argument(
        "--levels",
        default="raw,service,http",
        help="comma-separated subset of raw,service,http,events,events-http (events, events-http: the service "
        "or HTTP level without and with writing events, in alternation, in the same run)",
    )
    parser.add_argument("--events-rounds", type=int, default=3, help="rounds of the events level (default 3)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset of " + ",".join(SHAPES))
    parser.add_argument("--clients", help="concurrency of the raw and service levels (default 1,4,16,32)")
    parser.add_argument("--http-clients", help="concurrency of the HTTP level (default 1,4,16,32)")
    parser.add_argument("--seconds", type=float, help="duration of each run (default 8)")
    parser.add_argument("--max-requests", type=int, help="request budget of each HTTP run (default 100000)")
    parser.add_argument("--wallets", type=int, help="wallets of the uniform shape (default 10000)")
    parser.add_argument("--bursts", type=int, help="double-spend bursts per level (default 5)")
    parser.add_argument("--history-entries", type=int, help="entries of the long-history wallet (default 100000)")
    parser.add_argument("--history-page", type=int, help="history page compared with page 1 (default 1000)")
    parser.add_argument(
        "--service-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes the service level's clients are spread over as threads (default: one per CPU, like a "
        "server's workers; 0: a process per client)",
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--no-wrk", action="store_true", help="use the asyncio/httpx load generator even if wrk exists")
    parser.add_argument("--output", default="bench/results/latest.json", help="JSON report path")
    args = parser.parse_args(argv)
    defaults = SMOKE if args.smoke else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.clients = _ints(args.clients)
    args.http_clients = _ints(args.http_clients)
    args.levels = [x for x in args.levels.split(",") if x]
    args.shapes = [x for x in args.shapes.split(",") if x]
    pages = args.history_entries // HISTORY_PAGE_SIZE
    if not 1 <= args.history_page <= pages:
        parser.error(
            f"--history-page {args.history_page}: a history of {args.history_entries} entries has "
            f"{pages} full pages of {HISTORY_PAGE_SIZE}"
        )
    return args


def machine() -> dict[str, object]:
    info: dict[str, object] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, ValueError):
        pass
    return info


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    env = configure()
    import django

    django.setup()
    import logging

    for noisy in ("httpx", "httpcore", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from django.conf import settings
    from django.db import connection

    from bench import history as history_bench
    from bench import http_level, raw_sql, scratch, service_level, zero_loss

    db = settings.DATABASES["default"]
    log(f"scratch database {db['NAME']}: create and migrate")
    scratch.recreate_and_migrate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (pg_version,) = cursor.fetchone()
    info = machine()
    info["postgresql"] = pg_version
    info["database"] = "embedded (pgserver)" if not os.environ.get("DATABASE_URL") else "DATABASE_URL server"
    log(f"{info.get('cpu', '?')} x{info['cpus']}, {pg_version.split(',')[0]}, {info['database']}")
    results: list[RunResult] = []
    failures: list[str] = []
    warnings: list[str] = []

    # 1. Raw SQL ceiling on its own scratch database.
    if "raw" in args.levels:
        log(f"raw: preparing {args.wallets} wallets in {raw_sql.SCRATCH_DB}")
        raw_sql.prepare(db, args.wallets)
        for shape in args.shapes:
            for clients in args.clients:
                result = raw_sql.run(
                    db, shape=shape, clients=clients, seconds=max(1, round(args.seconds)), wallets=args.wallets
                )
                results.append(result)
                log(f"raw {shape} x{clients}: {result.tps:.0f}/s")
        if not raw_sql.conserved(db, args.wallets):
            failures.append("raw SQL level: money not conserved")

    # 2. The application's scratch database, seeded in bulk.
    log(f"scratch database {db['NAME']}: seeding {args.wallets} wallets")
    main_pop = scratch.populate(prefix="u", count=args.wallets, balance=BALANCE)
    burst_service = scratch.populate(prefix="dss", count=args.bursts, balance=BURST_BALANCE)
    burst_http = scratch.populate(prefix="dsh", count=args.bursts, balance=BURST_BALANCE)
    history_user = history_bench.seed(args.history_entries) if "http" in args.levels else None
    scratch.settle()
    before = zero_loss.snapshot()
    acknowledged = 0
    in_flight = 0
    burst_clients = max(args.http_clients + args.clients)

    # 3. Service level.
    if "service" in args.levels:
        for shape in args.shapes:
            for clients in args.clients:
                scratch.vacuum()
                result = service_level.run(
                    main_pop, shape=shape, clients=clients, seconds=args.seconds, processes=args.service_processes
                )
                results.append(result)
                acknowledged += result.ok
                log(f"service {shape} x{clients}: {result.tps:.0f}/s, errors {result.errors or 0}")
        burst = service_level.run_double_spend(burst_service, main_pop, clients=burst_clients, balance=BURST_BALANCE)
        results.append(burst.result)
        acknowledged += burst.result.ok
        if not burst.exactly_one_each:
            failures.append(f"service double spend: {burst.result.notes}")
        log(f"service double_spend x{burst_clients}: {burst.result.notes}")

    # 3b. What writing events costs: the service level without and with them, interleaved.
    if "events" in args.levels:
        for shape in args.shapes:
            for clients in args.clients:
                totals = {False: [0, 0.0], True: [0, 0.0]}
                for _ in range(args.events_rounds):
                    for enabled in (False, True):
                        scratch.vacuum()
                        with service_level.events_written(enabled):
                            result = service_level.run(
                                main_pop,
                                shape=shape,
                                clients=clients,
                                seconds=args.seconds,
                                processes=args.service_processes,
                                level="events" if enabled else "noevents",
                            )
                        results.append(result)
                        acknowledged += result.ok
                        totals[enabled][0] += result.ok
                        totals[enabled][1] += result.seconds
                        log(f"{result.level} {shape} x{clients}: {result.tps:.0f}/s, errors {result.errors or 0}")
                without, with_events = (totals[k][0] / totals[k][1] for k in (False, True))
                log(
                    f"events cost {shape} x{clients}: {without:.0f}/s without, {with_events:.0f}/s with "
                    f"({100 * (with_events / without - 1):+.1f}%)"
                )

    # 4. HTTP level, against gunicorn.
    history_result = None
    if "http" in args.levels:
        if "service" in args.levels:
            scratch.settle()
        use_wrk = not args.no_wrk and http_level.wrk_binary() is not None
        log(f"http: minting {len(main_pop.user_ids)} tokens; load generator {'wrk' if use_wrk else 'asyncio/httpx'}")
        tokens = http_level.mint_tokens(main_pop.user_ids)
        burst_tokens = http_level.mint_tokens(burst_http.user_ids)
        connection.close()
        with http_level.tempdir() as tmp:
            users_file = Path(tmp) / "users.tsv"
            http_level.write_users_file(users_file, main_pop, tokens)
            log_path = Path(args.output).with_suffix(".gunicorn.log")
            with http_level.gunicorn_server(env, log_path=log_path, workers=args.workers) as base:
                # Warm-up, not reported: every worker thread opens its connection, imports settle.
                warm = http_level.run(
                    base, main_pop, tokens, users_file, shape="uniform", clients=max(args.http_clients),
                    seconds=1 if args.smoke else 3, max_requests=args.max_requests, use_wrk=use_wrk,
                )  # fmt: skip
                acknowledged += warm.ok
                in_flight += max(args.http_clients)
                for shape in args.shapes:
                    for clients in args.http_clients:
                        scratch.vacuum()
                        result = http_level.run(
                            base, main_pop, tokens, users_file, shape=shape, clients=clients,
                            seconds=args.seconds, max_requests=args.max_requests, use_wrk=use_wrk,
                        )  # fmt: skip
                        results.append(result)
                        acknowledged += result.ok
                        in_flight += clients
                        log(f"http {shape} x{clients}: {result.tps:.0f}/s p99 {result.p99_ms:.1f} ms, "
                            f"errors {result.errors or 0}")  # fmt: skip
                        # The same transfers through the GraphQL mutation, same server and clients.
                        scratch.vacuum()
                        gql = http_level.run(
                            base, main_pop, tokens, users_file, shape=shape, clients=clients,
                            seconds=args.seconds, max_requests=args.max_requests, use_wrk=use_wrk, api="graphql",
                        )  # fmt: skip
                        results.append(gql)
                        acknowledged += gql.ok
                        in_flight += clients
                        log(f"graphql {shape} x{clients}: {gql.tps:.0f}/s p99 {gql.p99_ms:.1f} ms, "
                            f"errors {gql.errors or 0}")  # fmt: skip
                burst = http_level.run_double_spend(
                    base, burst_http, burst_tokens, main_pop, clients=burst_clients, balance=BURST_BALANCE
                )
                results.append(burst.result)
                acknowledged += burst.result.ok
                if not burst.exactly_one_each:
                    failures.append(f"http double spend: {burst.result.notes}")
                log(f"http double_spend x{burst_clients}: {burst.result.notes}")
                if history_user is not None:
                    log(f"history: walking to page {args.history_page} of {args.history_entries} entries")
                    history_result = history_bench.measure(
                        base, history_user, page=args.history_page, repeats=5 if args.smoke else 21
                    )
                    log(
                        f"history: page 1 {history_result.page_1_ms:.1f} ms, page {args.history_page} "
                        f"{history_result.page_n_ms:.1f} ms (offset paging {history_result.offset_page_n_ms:.1f} ms)"
                    )

    # 4b. What writing events costs over HTTP: two servers, without and with events, measured in
    # alternation (same run, same database, same tokens).
    if "events-http" in args.levels:
        use_wrk = not args.no_wrk and http_level.wrk_binary() is not None
        tokens = http_level.mint_tokens(main_pop.user_ids)
        connection.close()
        with http_level.tempdir() as tmp:
            users_file = Path(tmp) / "users.tsv"
            http_level.write_users_file(users_file, main_pop, tokens)
            log_path = Path(args.output).with_suffix(".gunicorn.log")
            with (
                http_level.gunicorn_server(
                    {**env, "EVENTS_ENABLED": "False"}, log_path=log_path, workers=args.workers
                ) as base_off,
                http_level.gunicorn_server(
                    {**env, "EVENTS_ENABLED": "True"}, log_path=log_path, workers=args.workers
                ) as base_on,
            ):
                servers = {False: base_off, True: base_on}
                for base in servers.values():  # warm-up, not reported
                    warm = http_level.run(
                        base, main_pop, tokens, users_file, shape="uniform", clients=max(args.http_clients),
                        seconds=1 if args.smoke else 3, max_requests=args.max_requests, use_wrk=use_wrk,
                    )  # fmt: skip
                    acknowledged += warm.ok
                    in_flight += max(args.http_clients)
                for shape in args.shapes:
                    for clients in args.http_clients:
                        totals = {False: [0, 0.0], True: [0, 0.0]}
                        for _ in range(args.events_rounds):
                            for enabled, base in servers.items():
                                scratch.vacuum()
                                result = http_level.run(
                                    base, main_pop, tokens, users_file, shape=shape, clients=clients,
                                    seconds=args.seconds, max_requests=args.max_requests, use_wrk=use_wrk,
                                )  # fmt: skip
                                result.level = "http+ev" if enabled else "httpnoev"
                                results.append(result)
                                acknowledged += result.ok
                                in_flight += clients
                                totals[enabled][0] += result.ok
                                totals[enabled][1] += result.seconds
                                log(f"{result.level} {shape} x{clients}: {result.tps:.0f}/s p99 {result.p99_ms:.1f} ms")
                        without, with_events = (totals[k][0] / totals[k][1] for k in (False, True))
                        log(
                            f"events cost over HTTP {shape} x{clients}: {without:.0f}/s without, "
                            f"{with_events:.0f}/s with ({100 * (with_events / without - 1):+.1f}%)"
                        )

    # 5. Zero loss: after the server stopped, so no request is still committing.
    report = zero_loss.check(before, acknowledged=acknowledged, in_flight_allowance=in_flight)
    if not report.ok:
        failures.append("zero-loss check failed: " + ", ".join(k for k, v in report.checks.items() if not v))

    for result in results:
        if result.shape == "double_spend":
            unexpected = {k: v for k, v in result.errors.items() if k != "422 insufficient_funds"}
        else:
            unexpected = dict(result.errors)
        for label, count in unexpected.items():
            message = f"{result.level} {result.shape} x{result.clients}: {count} x {label}"
            if label.startswith("503"):
                warnings.append(message)
            elif label[:1] in "5" or not label[:1].isdigit():
                failures.append(message)  # a crash: 500, an exception, a socket error
            else:
                warnings.append(message)

    attach_ratios(results)
    table = render_table(results)
    print()
    print(table)
    print()
    print("zero-loss check: " + ("OK" if report.ok else "FAILED"))
    for name, ok in report.checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    for detail in report.details:
        print(f"       {detail}")
    if history_result is not None:
        print(
            f"history ({history_result.entries} entries, {args.history_page} pages walked in "
            f"{history_result.walk_seconds:.1f} s): page 1 {history_result.page_1_ms:.1f} ms, page "
            f"{history_result.page} {history_result.page_n_ms:.1f} ms (x{history_result.ratio:.2f}); "
            f"offset paging of that page {history_result.offset_page_n_ms:.1f} ms"
        )
    for message in warnings:
        print("warning: " + message)
    for message in failures:
        print("FAILURE: " + message)

    output = Path(args.output)
    info["load_average_at_end"] = os.getloadavg()
    payload: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(),
        "mode": "smoke" if args.smoke else "full",
        "machine": info,
        "git": _git_head(),
        "parameters": {k: v for k, v in vars(args).items() if k != "output"},
        "results": [r.as_dict() for r in results],
        "zero_loss": report.as_dict(),
        "history": history_result.as_dict() if history_result else None,
        "warnings": warnings,
        "failures": failures,
        "table": table,
    }
    write_json(output, payload)
    print(f"\nJSON: {output}")
    chart = _chart(results, output.with_suffix(".png"))
    if chart:
        print(f"chart: {chart}")
    return 1 if failures else 0


def _git_head() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


def _chart(results: list[RunResult], path: Path) -> Path | None:
    """Throughput and p99 against concurrency, per level (uniform shape). Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    uniform = [r for r in results if r.shape == "uniform"]
    if not uniform:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for level in ("raw", "service", "http"):
        rows = sorted((r for r in uniform if r.level == level), key=lambda r: r.clients)
        if rows:
            left.plot([r.clients for r in rows], [r.tps for r in rows], marker="o", label=level)
            right.plot([r.clients for r in rows], [r.p99_ms for r in rows], marker="o", label=level)
    left.set(
        xlabel="concurrent clients", ylabel="transfers/s", title="Throughput (uniform)", xscale="log", yscale="log"
    )
    right.set(xlabel="concurrent clients", ylabel="p99 ms", title="p99 latency (uniform)", xscale="log", yscale="log")
    for ax in (left, right):
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    started = time.perf_counter()
    code = main(sys.argv[1:])
    print(f"bench finished in {time.perf_counter() - started:.0f} s (exit {code})")
    sys.exit(code)
