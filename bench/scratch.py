"""The benchmark's scratch database: created, migrated and seeded in bulk, never the developer's.

Seeding writes real ledger rows (one posted funding transaction per wallet, debited from the
USD equity account, with both entries and ``balance_after`` chains), so ``verify_ledger`` is
clean before the first transfer and the zero-loss check at the end means something.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from bench.raw_sql import connection_kwargs

CURRENCY = "USD"


@dataclass(frozen=True)
class Population:
    """The benchmark's users, by index: ``usernames[i]`` owns wallet ``wallet_ids[i]``."""

    user_ids: list[int]
    usernames: list[str]
    wallet_ids: list[int]


def _server_params(db: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in connection_kwargs(db).items() if v}


def recreate_and_migrate() -> None:
    """Drop and re-create the scratch database, then run every migration on it."""
    db = settings.DATABASES["default"]
    name = db["NAME"]
    if not str(name).startswith("vaultcore_bench"):
        raise RuntimeError(f"refusing to recreate {name!r}: benchmark databases are named vaultcore_bench*")
    connections.close_all()
    with psycopg.connect(dbname="postgres", autocommit=True, **_server_params(db)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", interactive=False, verbosity=0)


_FUND_SQL = """
WITH targets AS (
    SELECT u.id, u.n, row_number() OVER (PARTITION BY u.id ORDER BY u.n) AS k
      FROM unnest(%(wallets)s::bigint[]) WITH ORDINALITY AS u(id, n)
), txns AS (
    INSERT INTO ledger_ledgertransaction
        (public_id, type, status, currency, amount, debit_wallet_id, credit_wallet_id, description,
         reference, metadata, initiated_by_id, reverses_id, created_at, posted_at, finalized_at)
    SELECT gen_random_uuid(), 'adjustment', 'posted', %(currency)s, %(amount)s, %(equity)s, t.id,
           'benchmark funding', '', '{}'::jsonb, NULL, NULL, now(), now(), now()
      FROM targets t ORDER BY t.n
    RETURNING id, credit_wallet_id
), legs AS (
    SELECT x.id AS txn_id, x.credit_wallet_id AS wallet_id, row_number() OVER (ORDER BY x.id) AS n,
           row_number() OVER (PARTITION BY x.credit_wallet_id ORDER BY x.id) AS k
      FROM txns x
)
INSERT INTO ledger_ledgerentry (transaction_id, wallet_id, direction, amount, currency, balance_after, created_at)
SELECT txn_id, wallet_id, direction, %(amount)s, %(currency)s, balance_after, now() FROM (
    SELECT l.txn_id, l.wallet_id, 'credit' AS direction, %(amount)s * l.k AS balance_after, 2 * l.n AS ord
      FROM legs l
    UNION ALL
    SELECT l.txn_id, %(equity)s, 'debit', %(opening)s - %(amount)s * l.n, 2 * l.n - 1 FROM legs l
) rows ORDER BY ord
"""


def fund(*, wallet_ids: list[int], amount: Decimal) -> None:
    """Credit each listed wallet ``amount`` from USD equity, once per occurrence in the list: one
    posted adjustment per occurrence, with both entries and ``balance_after`` chains, in one
    statement (balanced, so the deferred double-entry trigger accepts it). The wallets must be
    new (zero balance, no entries)."""
    from wallets.models import SystemAccount, Wallet
    from wallets.services import system_wallet_get

    equity = system_wallet_get(code=SystemAccount.EQUITY, currency=CURRENCY)
    with transaction.atomic():
        equity = Wallet.objects.select_for_update().get(pk=equity.pk)
        if Wallet.objects.filter(pk__in=wallet_ids).exclude(balance=0).exists():
            raise RuntimeError("fund() only funds new, empty wallets")
        with connection.cursor() as cursor:
            cursor.execute(
                _FUND_SQL,
                {
                    "wallets": wallet_ids,
                    "currency": CURRENCY,
                    "amount": amount,
                    "equity": equity.pk,
                    "opening": equity.balance,
                },
            )
            cursor.execute(
                """UPDATE wallets_wallet w SET balance = w.balance + %s * c.n, updated_at = now()
                     FROM (SELECT id, count(*) AS n FROM unnest(%s::bigint[]) AS u(id) GROUP BY id) c
                    WHERE w.id = c.id""",
                [amount, wallet_ids],
            )
            cursor.execute(
                "UPDATE wallets_wallet SET balance = balance - %s, updated_at = now() WHERE id = %s",
                [amount * len(wallet_ids), equity.pk],
            )


def populate(*, prefix: str, count: int, balance: Decimal) -> Population:
    """``count`` verified users with one USD wallet each holding ``balance`` (bulk inserts)."""
    from accounts.models import User
    from wallets.models import Wallet, WalletKind

    password = make_password(None)  # unusable: the benchmark mints tokens, nobody logs in
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{i:05d}",
                email=f"{prefix}{i:05d}@bench.invalid",
                password=password,
                is_email_verified=True,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    wallets = Wallet.objects.bulk_create(
        [Wallet(kind=WalletKind.USER, user=user, currency=CURRENCY) for user in users], batch_size=2000
    )
    wallet_ids = [w.pk for w in wallets]
    if balance > 0:
        fund(wallet_ids=wallet_ids, amount=balance)
    return Population(user_ids=[u.pk for u in users], usernames=[u.username for u in users], wallet_ids=wallet_ids)


def settle() -> None:
    """After seeding, and again before the HTTP level: VACUUM ANALYZE, then a checkpoint. A level
    then does not pay for what ran before it: the seeding's rows without hint bits or statistics,
    the dead row versions of the service level's hundreds of thousands of wallet updates (the
    machine's PostgreSQL may run without autovacuum), a checkpoint falling due."""
    vacuum()
    checkpoint()


def vacuum() -> None:
    """VACUUM ANALYZE the scratch database (before every run, as pgbench does by default)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def checkpoint() -> bool:
    """CHECKPOINT (needs superuser or pg_checkpoint); False when the server refused it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        return False
    return True
