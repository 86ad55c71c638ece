"""Run schemathesis against the OpenAPI schema and /graphql/; exit non-zero on any 5xx or drift.

A production-like server (gunicorn, DEBUG off, throttles off, sandbox payments) on a spare
port, over a database of its own, seeded through ``manage.py seed_demo`` (real services):
``alice`` is a verified user with funded wallets, ``ops`` an admin, and ``sam`` (registered
and made staff through the API) staff. Each identity (anonymous, alice, staff, ops) gets a
bounded run of every operation with the checks below. Logging out would revoke the very token
the rest of the run uses, so the signed-in runs skip the two logout operations (the anonymous
run covers them). Before those, ``/graphql/`` (introspection on for this server) is fuzzed as
alice, failing on any 5xx.

Environment: DATABASE_URL (server to create the database on; default local PostgreSQL),
SCHEMATHESIS_DATABASE_NAME, SCHEMATHESIS_MAX_EXAMPLES (default 20; GraphQL's
SCHEMATHESIS_GRAPHQL_MAX_EXAMPLES, default 100), SCHEMATHESIS_SEED
(default fixed, so CI is repeatable; set "random" for a fresh one), SCHEMATHESIS_REPORT_DIR.
"""

# The commands and URLs below are this script's own (loopback server, the venv's executables).
# ruff: noqa: S603

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from live import (
    DEMO_PASSWORD,
    PY,
    ROOT,
    access_token,
    database_urls,
    http_json,
    log,
    manage,
    production_env,
    recreate_database,
    start_gunicorn,
    stop_process,
)

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# GraphQL answers 200 with ``errors`` for bad input, so the status and schema checks do not apply.
GRAPHQL_CHECKS = "not_a_server_error"
SIGNED_IN_EXCLUDES = ["/api/v1/auth/logout/", "/api/v1/auth/logout-all/"]


def staff_member(base: str, admin_token: str) -> str:
    """Register ``sam`` through the API and make them staff with the admin's role change."""
    http_json(
        f"{base}/api/v1/auth/register/",
        {
            "username": "sam",
            "email": "sam@example.com",
            "password": DEMO_PASSWORD,
            "first_name": "Sam",
            "last_name": "S",
        },
    )
    http_json(f"{base}/api/v1/users/sam/role/", {"role": "staff"}, admin_token)
    return access_token(base, "sam")


def _run_options(junit_path: Path) -> list[str]:
    """The options every run shares: one worker, timeouts, a JUnit report, the seed."""
    options = [
        # One worker: with two, hypothesis' lambda descriptions call ast.parse from both threads
        # and CPython 3.11 sometimes fails ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit_path),
        "--suppress-health-check",
        "all",
    ]
    seed = os.environ.get("SCHEMATHESIS_SEED", "20261201")
    return options if seed == "random" else [*options, "--seed", seed]


def schemathesis(base: str, identity: str, token: str | None, report_dir: Path) -> int:
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20")
    command = [
        str(Path(PY).with_name("schemathesis")),
        "--no-color",
        "run",
        f"{base}/api/schema/?format=json",
        "--url",
        base,
        "--checks",
        CHECKS,
        "--max-examples",
        examples,
        "--phases",
        "examples,coverage,fuzzing",
        *_run_options(report_dir / f"{identity}.xml"),
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
        for path in SIGNED_IN_EXCLUDES:
            command += ["--exclude-path", path]
    log(f"schemathesis as {identity}: {examples} examples per operation")
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def _ids(base: str, path: str, token: str) -> list[str]:
    """The ``id`` of every item the list at ``path`` answers ``token`` (first page)."""
    listed = http_json(f"{base}{path}", token=token)
    return [str(item["id"]) for item in (listed["results"] if isinstance(listed, dict) else listed)]


def graphql_config(base: str, token: str, report_dir: Path) -> Path:
    """A config whose dictionaries feed the caller's wallet, transaction and bank account ids, bob's
    wallets (to receive) and known usernames into string arguments, so operations reach the
    services (and return data) instead of stopping at ``wallet_not_found``."""
    bob = access_token(base, "bob")
    values = {
        "wallets": _ids(base, "/api/v1/wallets/", token),
        "receivers": _ids(base, "/api/v1/wallets/", bob),
        "transactions": _ids(base, "/api/v1/transactions/", token)[:20],
        "banks": _ids(base, "/api/v1/payments/bank-accounts/", token),
        "users": ["bob", "carol", "bob@example.com"],
        "currencies": ["USD", "EUR", "GBP", "JPY"],
    }
    bindings = {
        "wallets": ("*.*.walletId", "*.*.fromWalletId"),
        "receivers": ("*.*.input.receiverWalletId",),
        "transactions": ("*.*.transactionId",),
        "banks": ("*.*.input.bankAccountId",),
        "users": ("*.*.input.recipient",),
        "currencies": ("*.*.input.currency",),
    }
    used = [name for name in bindings if values[name]]
    lines = [f"[dictionaries.{name}]\nvalues = {json.dumps(values[name])}" for name in used]
    lines += [
        f'[parameters."{key}"]\ndictionary = "{name}"\nprobability = 0.8' for name in used for key in bindings[name]
    ]
    path = report_dir / "graphql-schemathesis.toml"
    path.write_text("\n\n".join(lines) + "\n")
    return path


def schemathesis_graphql(base: str, token: str, report_dir: Path) -> int:
    """Fuzz ``/graphql/`` (schema from introspection) as ``token``'s user: any 5xx fails."""
    # Most generated documents are refused before a resolver runs (a required argument left out,
    # a wrong literal type): more examples than REST's, so every operation also reaches data.
    examples = os.environ.get("SCHEMATHESIS_GRAPHQL_MAX_EXAMPLES", "100")
    command = [
        str(Path(PY).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(graphql_config(base, token, report_dir)),
        "run",
        f"{base}/graphql/",
        "--checks",
        GRAPHQL_CHECKS,
        "--max-examples",
        examples,
        *_run_options(report_dir / "graphql-alice.xml"),
        "--header",
        f"Authorization: Bearer {token}",
    ]
    log(f"schemathesis GraphQL as alice: {examples} examples per operation")
    # The hooks module gives strategies for the schema's Decimal, DateTime and JSON scalars.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(ROOT / ".ci" / "schemathesis_hooks.py")}
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main() -> int:
    name = os.environ.get("SCHEMATHESIS_DATABASE_NAME", "vaultcore_schemathesis")
    admin_url, database_url = database_urls(name)
    report_dir = Path(os.environ.get("SCHEMATHESIS_REPORT_DIR", ROOT / ".ci" / "schemathesis-report"))
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    log(f"database {name}: recreate, migrate, seed")
    recreate_database(admin_url, name)
    # schemathesis reads the GraphQL schema through introspection.
    env = production_env(database_url, label="schemathesis", GRAPHQL_INTROSPECTION="True")
    manage(env, "migrate", "--noinput", "-v", "0")
    seeded = json.loads(manage(env, "seed_demo", "--allow-production", "--json"))
    if seeded["outcome"] != "seeded":
        raise RuntimeError(f"seed_demo did not seed: {seeded}")
    proc, base = start_gunicorn(env, report_dir / "server.log")
    log(f"gunicorn at {base} (log: {report_dir / 'server.log'})")
    failed: list[str] = []
    try:
        # GraphQL first: the REST runs below may revoke alice's tokens (the staff and admin ones can).
        if schemathesis_graphql(base, access_token(base, "alice"), report_dir) != 0:
            failed.append("alice (GraphQL)")
        ops = access_token(base, "ops")
        identities: list[tuple[str, str | None]] = [
            ("anonymous", None),
            ("alice", access_token(base, "alice")),
            ("staff", staff_member(base, ops)),
            ("ops", ops),
        ]
        for identity, token in identities:
            if schemathesis(base, identity, token, report_dir) != 0:
                failed.append(identity)
    finally:
        stop_process(proc)
    if failed:
        log(f"FAILED for: {', '.join(failed)} (JUnit reports and server log in {report_dir})")
        return 1
    log("schemathesis: no 5xx and no schema non-conformance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
