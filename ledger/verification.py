"""Recompute the ledger from its entries and report every discrepancy (read-only).

Used by ``manage.py verify_ledger`` and by the property tests after every step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, transaction

# Each check is one query returning (subject, detail) rows; no rows means the check holds.
CHECKS: dict[str, str] = {
    "wallet_balance_matches_entries": """
        SELECT 'wallet ' || w.id || ' (' || w.currency || ')',
               'balance ' || w.balance || ' but entries sum to ' || COALESCE(e.total, 0)
          FROM wallets_wallet w
          LEFT JOIN (SELECT wallet_id, sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END) AS total
                       FROM ledger_ledgerentry GROUP BY wallet_id) e ON e.wallet_id = w.id
         WHERE w.balance <> COALESCE(e.total, 0)
    """,
    "wallet_held_matches_pending_withdrawals": """
        SELECT 'wallet ' || w.id || ' (' || w.currency || ')',
               'held ' || w.held || ' but pending withdrawals sum to ' || COALESCE(p.total, 0)
          FROM wallets_wallet w
          LEFT JOIN (SELECT debit_wallet_id, sum(amount) AS total FROM ledger_ledgertransaction
                      WHERE type = 'withdrawal' AND status = 'pending' GROUP BY debit_wallet_id) p
                 ON p.debit_wallet_id = w.id
         WHERE w.held <> COALESCE(p.total, 0)
    """,
    "user_wallets_not_negative": """
        SELECT 'wallet ' || id || ' (' || currency || ')', 'balance ' || balance || ', held ' || held
          FROM wallets_wallet WHERE kind = 'user' AND (balance < 0 OR held < 0 OR balance < held)
    """,
    "transaction_nets_to_zero": """
        SELECT 'transaction ' || transaction_id, currency || ' nets to ' || total FROM (
            SELECT transaction_id, currency,
                   sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END) AS total
              FROM ledger_ledgerentry GROUP BY transaction_id, currency) t
         WHERE total <> 0
    """,
    "posted_transactions_have_matching_entries": """
        SELECT 'transaction ' || t.id, t.status || ' with ' || count(e.id) || ' entries'
          FROM ledger_ledgertransaction t
          LEFT JOIN ledger_ledgerentry e ON e.transaction_id = t.id
                AND e.amount = t.amount AND e.currency = t.currency
                AND ((e.direction = 'debit' AND e.wallet_id = t.debit_wallet_id)
                  OR (e.direction = 'credit' AND e.wallet_id = t.credit_wallet_id))
         GROUP BY t.id, t.status
        HAVING (t.status = 'posted' AND count(e.id) <> 2) OR (t.status <> 'posted' AND count(e.id) <> 0)
    """,
    "entries_belong_to_their_transaction": """
        SELECT 'entry ' || e.id, 'not a leg of transaction ' || t.id || ' (' || t.status || ')'
          FROM ledger_ledgerentry e JOIN ledger_ledgertransaction t ON t.id = e.transaction_id
          JOIN wallets_wallet w ON w.id = e.wallet_id
         WHERE t.status <> 'posted' OR e.currency <> t.currency OR w.currency <> e.currency
            OR e.wallet_id NOT IN (t.debit_wallet_id, t.credit_wallet_id)
    """,
    "currency_accounts_sum_to_zero": """
        SELECT 'currency ' || currency, 'wallet balances sum to ' || sum(balance)
          FROM wallets_wallet GROUP BY currency HAVING sum(balance) <> 0
    """,
    "balance_after_chain": """
        SELECT 'entry ' || id || ' (wallet ' || wallet_id || ')',
               'balance_after ' || balance_after || ' but previous ' || previous || ' '
               || direction || ' ' || amount
          FROM (SELECT id, wallet_id, direction, amount, balance_after,
                       COALESCE(lag(balance_after) OVER (PARTITION BY wallet_id ORDER BY id), 0) AS previous
                  FROM ledger_ledgerentry) c
         WHERE balance_after <> previous + CASE direction WHEN 'credit' THEN amount ELSE -amount END
    """,
    "last_balance_after_is_balance": """
        SELECT 'wallet ' || w.id, 'balance ' || w.balance || ' but last balance_after ' || last.balance_after
          FROM wallets_wallet w
          JOIN LATERAL (SELECT balance_after FROM ledger_ledgerentry e WHERE e.wallet_id = w.id
                         ORDER BY e.id DESC LIMIT 1) last ON true
         WHERE last.balance_after <> w.balance
    """,
}


@dataclass(frozen=True)
class Discrepancy:
    check: str
    subject: str
    detail: str


@dataclass(frozen=True)
class LedgerReport:
    checks: int
    wallets: int
    transactions: int
    entries: int
    discrepancies: list[Discrepancy]

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def ledger_verify() -> LedgerReport:
    """Run every check; a consistent ledger reports no discrepancies."""
    found: list[Discrepancy] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if not connection.savepoint_ids:
            # Outermost block: one snapshot for every check, so concurrent writers cannot cause
            # false alarms.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, sql in CHECKS.items():
            cursor.execute(sql)
            found.extend(Discrepancy(name, subject, detail) for subject, detail in cursor.fetchall())
        cursor.execute(
            "SELECT (SELECT count(*) FROM wallets_wallet), (SELECT count(*) FROM ledger_ledgertransaction),"
            " (SELECT count(*) FROM ledger_ledgerentry)"
        )
        wallets, transactions, entries = cursor.fetchone()
    return LedgerReport(
        checks=len(CHECKS), wallets=wallets, transactions=transactions, entries=entries, discrepancies=found
    )
