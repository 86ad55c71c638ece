"""The physical ceiling: one wallet transfer in plain SQL, driven by pgbench.

Each pgbench transaction does exactly what a ledger transfer must: lock two wallet rows in id
order, update both balances, insert one transaction and two entries, commit. It runs on a
scratch database of the same PostgreSQL server the service and HTTP levels use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from bench.results import RunResult

# Next to the application-level scratch database (bench/settings.py), never the developer's.
SCRATCH_DB = os.environ.get("BENCH_DATABASE_NAME", "vaultcore_bench") + "_raw"

SCHEMA = """
DROP TABLE IF EXISTS raw_entry, raw_txn, raw_wallet;
CREATE TABLE raw_wallet (id bigint PRIMARY KEY, currency char(3) NOT NULL,
                         balance numeric(20,4) NOT NULL CHECK (balance >= 0));
CREATE TABLE raw_txn (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), kind text NOT NULL, currency char(3) NOT NULL,
                      amount numeric(20,4) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE raw_entry (id bigserial PRIMARY KEY, txn_id uuid NOT NULL REFERENCES raw_txn(id),
                        wallet_id bigint NOT NULL REFERENCES raw_wallet(id), direction char(1) NOT NULL,
                        amount numeric(20,4) NOT NULL CHECK (amount > 0), balance_after numeric(20,4) NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX raw_entry_wallet ON raw_entry (wallet_id, id);
INSERT INTO raw_wallet SELECT g, 'USD', 1000000 FROM generate_series(1, %(wallets)s) g;
"""

# Picks :src and :dst (distinct) for the shape, then one transfer of 1.00.
PICK = {
    "uniform": """
\\set src random(1, {n})
\\set dst 1 + (:src + random(0, {n} - 2)) % {n}
""",
    "hot": """
\\set r random(1, 100)
\\if :r <= 80
\\set src random(1, 10)
\\set dst 1 + (:src + random(0, 8)) % 10
\\else
\\set src random(1, {n})
\\set dst 1 + (:src + random(0, {n} - 2)) % {n}
\\endif
""",
    "opposite": """
\\set pair random(0, 49)
\\set flip random(0, 1)
\\set src 2 * :pair + 1 + :flip
\\set dst 2 * :pair + 2 - :flip
""",
}

TRANSFER = """
BEGIN;
SELECT id FROM raw_wallet WHERE id IN (:src, :dst) ORDER BY id FOR UPDATE;
UPDATE raw_wallet SET balance = balance - 1.00 WHERE id = :src;
UPDATE raw_wallet SET balance = balance + 1.00 WHERE id = :dst;
WITH t AS (INSERT INTO raw_txn (kind, currency, amount) VALUES ('transfer', 'USD', 1.00) RETURNING id)
INSERT INTO raw_entry (txn_id, wallet_id, direction, amount, balance_after)
SELECT t.id, w.id, CASE WHEN w.id = :src THEN 'D' ELSE 'C' END, 1.00, w.balance
FROM t, raw_wallet w WHERE w.id IN (:src, :dst);
COMMIT;
"""


def connection_kwargs(db: dict[str, Any]) -> dict[str, Any]:
    """psycopg/pgbench connection parameters from a Django DATABASES entry."""
    return {
        "host": db.get("HOST") or None,
        "port": str(db.get("PORT") or "") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }


def prepare(db: dict[str, Any], wallets: int) -> None:
    params = {k: v for k, v in connection_kwargs(db).items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [SCRATCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    with psycopg.connect(dbname=SCRATCH_DB, autocommit=True, **params) as conn:
        conn.execute(SCHEMA.replace("%(wallets)s", str(int(wallets))).encode())
        conn.execute("VACUUM ANALYZE")


def conserved(db: dict[str, Any], wallets: int) -> bool:
    params = {k: v for k, v in connection_kwargs(db).items() if v}
    with psycopg.connect(dbname=SCRATCH_DB, **params) as conn:
        row = conn.execute("SELECT sum(balance), min(balance) FROM raw_wallet").fetchone()
    assert row is not None
    return row[0] == wallets * 1000000 and row[1] >= 0


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")


def run(db: dict[str, Any], *, shape: str, clients: int, seconds: int, wallets: int) -> RunResult:
    """Run pgbench for ``seconds`` with ``clients`` connections; latencies from its per-transaction log."""
    conn = connection_kwargs(db)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "transfer.sql"
        script.write_text(PICK[shape].format(n=wallets) + TRANSFER)
        argv = [pgbench_binary(), "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 4))]
        argv += ["-T", str(seconds), "-f", str(script), "-l", "--log-prefix", str(Path(tmp) / "log")]
        for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
            if conn[key]:
                argv += [flag, conn[key]]
        env = {"PGPASSWORD": conn["password"]} if conn["password"] else {}

        proc = subprocess.run(
            [*argv, SCRATCH_DB], capture_output=True, text=True, env={**os.environ, **env}, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pgbench failed: {proc.stderr.strip()[-500:]}")
        latencies: list[float] = []
        failures = 0
        for log in Path(tmp).glob("log*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                # client_id transaction_no time script_no time_epoch time_us [schedule_lag]
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)
                elif len(fields) >= 3:
                    failures += 1
    errors: Counter[str] = Counter({"failed": failures} if failures else {})
    return RunResult.from_latencies(
        level="raw", shape=shape, clients=clients, seconds=float(seconds), latencies_ms=latencies, errors=errors
    )
