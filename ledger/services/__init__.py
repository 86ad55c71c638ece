"""Writes of the ledger: the ONLY code that moves money, one module per operation.

Every money service:
- validates its input first (currency, amount) so that a refusal writes nothing;
- runs one durable ``transaction.atomic`` (nesting one by accident fails loudly);
- locks every wallet it touches through ``wallets.lock_objects`` (ascending pk, one query),
  then re-reads and re-checks under the lock (status, funds, limits);
- writes through ``posting.post`` only: transactions, entries, wallets and the idempotency
  key in one statement;
- queues side effects with ``transaction.on_commit``; never calls the network under a lock;
- is retried a bounded number of times on deadlock/serialization failure (40P01/40001), then
  answers 503 having changed nothing.
PostgreSQL re-checks the invariants (``ledger/sql/``), so a bug here fails the commit instead
of corrupting money. Calls to payment providers live in ``payments``, which calls these.
"""
