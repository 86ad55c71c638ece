"""The zero-loss check run after the load: did any money appear, vanish or go negative?"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection


@dataclass
class Snapshot:
    user_totals: dict[str, Decimal]  # currency -> sum of user wallet balances
    transfers: int  # posted transfer transactions


@dataclass
class ZeroLossReport:
    checks: dict[str, bool] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": self.checks, "details": self.details}


def snapshot() -> Snapshot:
    with connection.cursor() as cursor:
        cursor.execute("SELECT currency, sum(balance) FROM wallets_wallet WHERE kind = 'user' GROUP BY currency")
        totals = {currency: total for currency, total in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM ledger_ledgertransaction WHERE type = 'transfer' AND status = 'posted'")
        (transfers,) = cursor.fetchone()
    return Snapshot(user_totals=totals, transfers=transfers)


def check(before: Snapshot, *, acknowledged: int, in_flight_allowance: int) -> ZeroLossReport:
    """Money conserved per currency (user wallets sum to what they held before, all accounts of a
    currency net to zero), no negative user balance, ``verify_ledger`` clean, and exactly the
    acknowledged transfers in the ledger (plus at most the requests still in flight when a time-
    bounded HTTP run stopped reading: their server-side commit may land after the client left)."""
    from ledger.verification import ledger_verify

    report = ZeroLossReport()
    after = snapshot()
    report.checks["user_money_conserved_per_currency"] = after.user_totals == before.user_totals
    report.details.append(f"user balances before {before.user_totals} after {after.user_totals}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT currency, sum(balance) FROM wallets_wallet GROUP BY currency HAVING sum(balance) <> 0")
        unbalanced = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM wallets_wallet WHERE kind = 'user' AND (balance < 0 OR held < 0 OR balance < held)"
        )
        (negative,) = cursor.fetchone()
    report.checks["accounts_net_to_zero_per_currency"] = not unbalanced
    if unbalanced:
        report.details.append(f"currencies not netting to zero: {unbalanced}")
    report.checks["no_negative_balance"] = negative == 0
    report.details.append(f"user wallets with a negative balance/available: {negative}")
    ledger = ledger_verify()
    report.checks["verify_ledger_clean"] = ledger.ok
    report.details.append(
        f"verify_ledger: {ledger.checks} checks over {ledger.wallets} accounts, {ledger.transactions} "
        f"transactions, {ledger.entries} entries, {len(ledger.discrepancies)} discrepancies"
    )
    report.details.extend(f"  [{d.check}] {d.subject}: {d.detail}" for d in ledger.discrepancies[:20])
    posted = after.transfers - before.transfers
    report.checks["every_acknowledged_transfer_posted_once"] = (
        acknowledged <= posted <= acknowledged + in_flight_allowance
    )
    report.details.append(
        f"transfers posted {posted}, acknowledged to clients {acknowledged} "
        f"(allowance for requests in flight at a time-bounded stop: {in_flight_allowance})"
    )
    return report
