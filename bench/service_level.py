"""Service level: the real ``ledger.services.transfer_create`` called by N concurrent clients,
threads spread over P processes (``--service-processes``, default one per CPU), no HTTP.

Same wallets and traffic shapes as the raw SQL ceiling; every thread has its own database
connection (Django's per-thread connection), closed when the thread ends. With several
processes, each sets up Django and loads its senders first; all then start together (a barrier),
so no process runs alone while the others are still starting.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.db import connection

from bench.drivers import BurstOutcome, Pair, run_burst, run_threads
from bench.environment import configure
from bench.results import RunResult
from bench.scratch import CURRENCY, Population

AMOUNT = Decimal("1.00")


def _label(exc: Exception) -> str:
    from vaultcore.errors import DomainError

    if isinstance(exc, DomainError):
        return f"{exc.status_code} {exc.code}"
    return type(exc).__name__


@contextmanager
def events_written(enabled: bool) -> Iterator[None]:
    """Transfers with (the default) or without their events (``EVENTS_ENABLED``), in this process
    and in the processes it spawns: what writing events costs, measured in the same run."""
    from django.conf import settings

    before_env, before = os.environ.get("EVENTS_ENABLED"), settings.EVENTS_ENABLED
    os.environ["EVENTS_ENABLED"] = str(enabled)
    settings.EVENTS_ENABLED = enabled
    try:
        yield
    finally:
        settings.EVENTS_ENABLED = before
        if before_env is None:
            del os.environ["EVENTS_ENABLED"]
        else:
            os.environ["EVENTS_ENABLED"] = before_env


def run(
    population: Population, *, shape: str, clients: int, seconds: float, processes: int = 1, level: str = "service"
) -> RunResult:
    """``clients`` threads spread over ``processes`` processes (at most one per client; 0 means
    one per client). One Python process runs one thread at a time: with one per CPU the level is
    bound by the database and the cores, as the server's workers are."""
    processes = clients if processes <= 0 else max(1, min(processes, clients))
    if processes == 1:
        result = _run_in_process(population, shape=shape, clients=clients, seconds=seconds)
        result.level = level
        return result
    shares = [clients // processes + (1 if k < clients % processes else 0) for k in range(processes)]
    context = multiprocessing.get_context("spawn")
    # One task per pool process: each holds its task at the barrier, so none can take a second.
    barrier = context.Barrier(processes)
    with (
        _children_use_this_server(),
        context.Pool(processes, initializer=_child_init, initargs=(barrier,)) as pool,
    ):
        outcomes = pool.starmap(
            _child, [(population, shape, share, seconds, 1000 * k) for k, share in enumerate(shares)], chunksize=1
        )
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    for child_latencies, child_errors, _ in outcomes:
        latencies.extend(child_latencies)
        errors.update(child_errors)
    result = RunResult.from_latencies(
        level=level,
        shape=shape,
        clients=clients,
        seconds=max(elapsed for _, _, elapsed in outcomes),
        latencies_ms=latencies,
        errors=errors,
    )
    result.notes = f"{processes} processes"
    return result


@contextmanager
def _children_use_this_server() -> Iterator[None]:
    """Children connect to the server this process uses. Without DATABASE_URL (the embedded
    PostgreSQL), hand them its socket as a URL, so they do not each attach to pgserver."""
    if os.environ.get("DATABASE_URL"):
        yield
        return
    from django.conf import settings

    db = settings.DATABASES["default"]
    user, socket_dir = quote(db["USER"] or "postgres"), quote(db["HOST"], safe="/")
    os.environ["DATABASE_URL"] = f"postgres://{user}@/{db['NAME']}?host={socket_dir}"
    try:
        yield
    finally:
        del os.environ["DATABASE_URL"]


#: How long a process waits at the start barrier for the others (seconds): generous, as many
#: processes each setting up Django and loading their senders on a small machine take a while.
START_TIMEOUT = 300.0
_start_barrier: Any = None


def _child_init(barrier: Any) -> None:
    global _start_barrier
    _start_barrier = barrier


def _child(
    population: Population, shape: str, clients: int, seconds: float, seed_base: int
) -> tuple[list[float], dict[str, int], float]:
    """One process of a multi-process service run (spawned: its own Django, its own connections)."""
    import django

    try:
        configure()  # the parent's environment is inherited: same settings, same scratch database
        django.setup()
        latencies: list[float] = []
        result = _run_in_process(
            population,
            shape=shape,
            clients=clients,
            seconds=seconds,
            seed_base=seed_base,
            latencies_out=latencies,
            ready=lambda: _start_barrier.wait(START_TIMEOUT),
        )
    except BaseException:
        _start_barrier.abort()  # the others stop waiting at once; the pool re-raises this error
        raise
    return latencies, result.errors, result.seconds


def _run_in_process(
    population: Population,
    *,
    shape: str,
    clients: int,
    seconds: float,
    seed_base: int = 0,
    latencies_out: list[float] | None = None,
    ready: Callable[[], object] | None = None,
) -> RunResult:
    """``ready`` is called once the senders are loaded, right before the clients start."""
    from accounts.models import User
    from ledger.services.transfers import transfer_create

    users = User.objects.in_bulk(population.user_ids)
    senders = [users[pk] for pk in population.user_ids]
    if ready is not None:
        ready()

    def operation(pair: Pair) -> str | None:
        try:
            transfer_create(
                sender=senders[pair.source],
                recipient=population.usernames[pair.target],
                currency=CURRENCY,
                amount=AMOUNT,
            )
        except Exception as exc:
            return _label(exc)
        return None

    return run_threads(
        operation,
        level="service",
        shape=shape,
        clients=clients,
        seconds=seconds,
        wallets=len(population.user_ids),
        on_thread_exit=lambda: connection.close(),
        seed_base=seed_base,
        latencies_out=latencies_out,
    )


def run_double_spend(spenders: Population, recipients: Population, *, clients: int, balance: Decimal) -> BurstOutcome:
    """Round r: ``clients`` concurrent transfers of spender r's whole balance, to different
    recipients. Exactly one may succeed; the others must get 422 ``insufficient_funds``."""
    from accounts.models import User
    from ledger.services.transfers import transfer_create

    users = User.objects.in_bulk(spenders.user_ids)

    def operation(round_no: int, client: int) -> str | None:
        try:
            transfer_create(
                sender=users[spenders.user_ids[round_no]],
                recipient=recipients.usernames[client % len(recipients.usernames)],
                currency=CURRENCY,
                amount=balance,
            )
        except Exception as exc:
            return _label(exc)
        return None

    return run_burst(
        operation,
        level="service",
        clients=clients,
        rounds=len(spenders.user_ids),
        on_thread_exit=lambda: connection.close(),
    )
