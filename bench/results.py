"""Benchmark result records, latency statistics and the printed table."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class RunResult:
    level: str  # raw | service | http | graphql (the HTTP level through the GraphQL mutation)
    shape: str  # uniform | hot | opposite | double_spend
    clients: int
    seconds: float
    ok: int
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    ratio_to_raw: float | None = None
    ratio_to_rest: float | None = None  # graphql: tx/s over the REST (http) run of the same shape and clients
    notes: str = ""

    @property
    def tps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @classmethod
    def from_latencies(
        cls, *, level: str, shape: str, clients: int, seconds: float, latencies_ms: list[float], errors: Counter[str]
    ) -> RunResult:
        values = sorted(latencies_ms)
        return cls(
            level=level,
            shape=shape,
            clients=clients,
            seconds=seconds,
            ok=len(values),
            errors=dict(errors),
            p50_ms=percentile(values, 50),
            p95_ms=percentile(values, 95),
            p99_ms=percentile(values, 99),
            mean_ms=statistics.fmean(values) if values else 0.0,
        )

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "tps": round(self.tps, 1)}


def attach_ratios(results: list[RunResult]) -> None:
    """Each non-raw result's throughput as a fraction of the raw SQL run with the same shape and clients."""
    raw = {(r.shape, r.clients): r.tps for r in results if r.level == "raw"}
    for result in results:
        ceiling = raw.get((result.shape, result.clients))
        if result.level != "raw" and ceiling:
            result.ratio_to_raw = result.tps / ceiling
    rest = {(r.shape, r.clients): r.tps for r in results if r.level == "http"}
    for result in results:
        over = rest.get((result.shape, result.clients))
        if result.level == "graphql" and over:
            result.ratio_to_rest = result.tps / over


def render_table(results: list[RunResult]) -> str:
    header = (
        f"{'level':<8} {'shape':<13} {'clients':>7} {'tx/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'vs raw':>7} {'vs REST':>7}  errors"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        ratio = f"{r.ratio_to_raw:.0%}" if r.ratio_to_raw is not None else "-"
        vs_rest = f"{r.ratio_to_rest:.0%}" if r.ratio_to_rest is not None else "-"
        errors = ", ".join(f"{k}:{v}" for k, v in sorted(r.errors.items())) or "0"
        lines.append(
            f"{r.level:<8} {r.shape:<13} {r.clients:>7} {r.tps:>9.1f} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} "
            f"{r.p99_ms:>8.2f} {ratio:>7} {vs_rest:>7}  {errors}"
        )
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str))
