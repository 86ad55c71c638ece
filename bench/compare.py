"""``python -m bench.compare BASE``: the HTTP level of this checkout against commit ``BASE``,
interleaved (BASE, this, BASE, this, ...) on the same machine and PostgreSQL.

``BASE`` is checked out into a throw-away git worktree in a temporary directory (removed at the
end; nothing is committed there) and benchmarked with its own code. Every run is
``python -m bench --levels http`` with the same arguments (any option not listed in ``--help``
is passed on, e.g. ``--seconds 10``); the JSON of each run goes to
``--output-dir``. The summary gives each run's transfers/s and p99 per shape, the means of both
sides, the ratios, and the machine's load average before and after every run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("uniform", "hot", "opposite")


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def run_bench(tree: Path, output: Path, bench_args: list[str]) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench", "--levels", "http", "--output", str(output), *bench_args]
    subprocess.run(argv, cwd=tree, check=True)
    return dict(json.loads(output.read_text()))


def figures(report: dict[str, Any], clients: int) -> dict[str, tuple[float, float]]:
    """(transfers/s, p99 ms) per shape at ``clients``."""
    return {
        r["shape"]: (float(r["tps"]), float(r["p99_ms"]))
        for r in report["results"]
        if r["level"] == "http" and r["clients"] == clients and r["shape"] in SHAPES
    }


def summary(runs: list[tuple[str, dict[str, Any]]], clients: int, labels: tuple[str, str]) -> str:
    lines = [f"HTTP x{clients}: transfers/s, p99 ms (load average 1 min at start -> end)"]
    for label, report in runs:
        machine = report["machine"]
        load = f"{machine['load_average_at_start'][0]:.2f} -> {machine['load_average_at_end'][0]:.2f}"
        cells = ", ".join(
            f"{shape} {tps:.0f}/s p99 {p99:.1f}" for shape, (tps, p99) in figures(report, clients).items()
        )
        lines.append(f"  {label:<10} {report['when']}  load {load}:  {cells}")
    base, new = labels
    for shape in SHAPES:
        per_side = {
            label: [figures(report, clients)[shape] for side, report in runs if side == label] for label in labels
        }
        if not all(per_side.values()):
            continue
        tps = {label: mean(t for t, _ in per_side[label]) for label in labels}
        p99 = {label: mean(p for _, p in per_side[label]) for label in labels}
        lines.append(
            f"  {shape:<9} mean {base} {tps[base]:.0f}/s p99 {p99[base]:.1f} ms; {new} {tps[new]:.0f}/s "
            f"p99 {p99[new]:.1f} ms; transfers/s {tps[new] / tps[base] - 1:+.1%}, p99 {p99[new] / p99[base] - 1:+.1%}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("base", help="the commit to compare with (e.g. the previous main)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side, interleaved (default 2)")
    parser.add_argument("--http-clients", type=int, default=32)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results" / "compare")
    args, extra = parser.parse_known_args(argv)  # the rest goes to python -m bench (e.g. --seconds 10)
    bench_args = ["--http-clients", str(args.http_clients), "--history-entries", "1000", "--history-page", "2", *extra]
    base_commit = git("rev-parse", "--verify", f"{args.base}^{{commit}}")
    head = git("rev-parse", "--short", "HEAD") + (
        "+changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    )
    labels = (base_commit[:7], head)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    runs: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="vaultcore-base-") as tmp:
        tree = Path(tmp) / "base"
        git("worktree", "add", "--detach", str(tree), base_commit)
        try:
            for round_ in range(1, args.rounds + 1):
                for label, where in ((labels[0], tree), (labels[1], ROOT)):
                    print(f"[compare] round {round_}: {label}", flush=True)
                    output = args.output_dir / f"{round_}-{label}.json"
                    runs.append((label, run_bench(where, output, bench_args)))
        finally:
            git("worktree", "remove", "--force", str(tree))
    text = summary(runs, args.http_clients, labels)
    print("\n" + text)
    (args.output_dir / "summary.txt").write_text(text + "\n")
    print(f"\nJSON of every run and summary.txt: {args.output_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
