"""Service level: the real ``ledger.services.transfer_create`` called from N threads, no HTTP.

Same wallets and traffic shapes as the raw SQL ceiling; every thread has its own database
connection (Django's per-thread connection), closed when the thread ends.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from bench.drivers import BurstOutcome, Pair, run_burst, run_threads
from bench.results import RunResult
from bench.scratch import CURRENCY, Population

AMOUNT = Decimal("1.00")


def _label(exc: Exception) -> str:
    from vaultcore.errors import DomainError

    if isinstance(exc, DomainError):
        return f"{exc.status_code} {exc.code}"
    return type(exc).__name__


def run(population: Population, *, shape: str, clients: int, seconds: float) -> RunResult:
    from accounts.models import User
    from ledger.services import transfer_create

    users = User.objects.in_bulk(population.user_ids)
    senders = [users[pk] for pk in population.user_ids]

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
        on_thread_exit=connection.close,
    )


def run_double_spend(spenders: Population, recipients: Population, *, clients: int, balance: Decimal) -> BurstOutcome:
    """Round r: ``clients`` concurrent transfers of spender r's whole balance, to different
    recipients. Exactly one may succeed; the others must get 422 ``insufficient_funds``."""
    from accounts.models import User
    from ledger.services import transfer_create

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
        operation, level="service", clients=clients, rounds=len(spenders.user_ids), on_thread_exit=connection.close
    )
