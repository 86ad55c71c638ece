"""Load drivers: run a callable from N threads for a bounded time and record latencies."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench.results import RunResult

HOT_SET = 10


@dataclass(frozen=True)
class Pair:
    source: int  # index into the benchmark's wallet list
    target: int


def pick_pair(shape: str, wallets: int, rng: random.Random) -> Pair:
    """Choose a (source, target) pair of distinct wallet indexes for a traffic shape.

    - uniform: any two of ``wallets``;
    - hot: 80% of transfers move between the first ten wallets;
    - opposite: fifty fixed pairs, each used in both directions at once;
    - double_spend: everyone spends from wallet 0 (see the double-spend burst).
    """
    if shape == "hot" and rng.random() < 0.8:
        source, target = rng.sample(range(HOT_SET), 2)
    elif shape == "opposite":
        pair = rng.randrange(50)
        source, target = (2 * pair, 2 * pair + 1) if rng.random() < 0.5 else (2 * pair + 1, 2 * pair)
    elif shape == "double_spend":
        source, target = 0, rng.randrange(1, wallets)
    else:
        source, target = rng.sample(range(wallets), 2)
    return Pair(source, target)


def run_threads(
    operation: Callable[[Pair], str | None],
    *,
    level: str,
    shape: str,
    clients: int,
    seconds: float,
    wallets: int,
    max_operations: int | None = None,
    on_thread_exit: Callable[[], None] | None = None,
    seed_base: int = 0,
    latencies_out: list[float] | None = None,
) -> RunResult:
    """Call ``operation`` from ``clients`` threads until ``seconds`` pass (or ``max_operations``).

    ``operation`` returns None on success or an error label (e.g. ``"422 insufficient_funds"``).
    Thread i draws its pairs from ``random.Random(seed_base + i)``; ``latencies_out`` receives
    the raw latencies (to merge runs of several processes).
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    budget = [max_operations if max_operations is not None else 1 << 62]

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        local_lat: list[float] = []
        local_err: Counter[str] = Counter()
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                pair = pick_pair(shape, wallets, rng)
                start = time.perf_counter()
                try:
                    outcome = operation(pair)
                except Exception as exc:  # counted, never hidden
                    outcome = type(exc).__name__
                if outcome is None:
                    local_lat.append((time.perf_counter() - start) * 1000)
                else:
                    local_err[outcome] += 1
        finally:
            with lock:
                latencies.extend(local_lat)
                errors.update(local_err)
            if on_thread_exit:
                on_thread_exit()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(seed_base + i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if latencies_out is not None:
        latencies_out.extend(latencies)
    return RunResult.from_latencies(
        level=level, shape=shape, clients=clients, seconds=elapsed, latencies_ms=latencies, errors=errors
    )


@dataclass(frozen=True)
class BurstOutcome:
    result: RunResult
    successes_per_round: list[int]

    @property
    def exactly_one_each(self) -> bool:
        return all(n == 1 for n in self.successes_per_round)


def run_burst(
    operation: Callable[[int, int], str | None],
    *,
    level: str,
    clients: int,
    rounds: int,
    on_thread_exit: Callable[[], None] | None = None,
) -> BurstOutcome:
    """Double-spend bursts: in each round ``clients`` threads, released together by a barrier,
    call ``operation(round, client)``, each trying to spend the same whole balance. Exactly one
    call per round may succeed."""
    barrier = threading.Barrier(clients)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    successes = [0] * rounds
    lock = threading.Lock()

    def worker(client: int) -> None:
        try:
            for round_no in range(rounds):
                barrier.wait()
                start = time.perf_counter()
                try:
                    outcome = operation(round_no, client)
                except Exception as exc:  # counted, never hidden
                    outcome = type(exc).__name__
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    latencies.append(elapsed)
                    if outcome is None:
                        successes[round_no] += 1
                    else:
                        errors[outcome] += 1
        finally:
            if on_thread_exit:
                on_thread_exit()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    result = RunResult.from_latencies(
        level=level, shape="double_spend", clients=clients, seconds=elapsed, latencies_ms=latencies, errors=errors
    )
    result.ok = sum(successes)
    one_each = all(n == 1 for n in successes)
    result.notes = f"{rounds} bursts, successes per burst {successes}: {'OK' if one_each else 'VIOLATION'}"
    return BurstOutcome(result=result, successes_per_round=successes)
