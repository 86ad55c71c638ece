"""Wallet rows read by hand-written SQL on the request hot path (the lock helpers, the lookup of
a wallet by its public id): the column list built once from the model, and rows turned back into
``Wallet`` instances with ``Model.from_db``, as the ORM itself would."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection

from wallets.models import Wallet


@functools.cache
def wallet_columns() -> tuple[str, tuple[str, ...]]:
    """``w."id", w."public_id", …`` (the table aliased ``w``) and the attnames in that order."""
    fields = Wallet._meta.concrete_fields
    columns = ", ".join(f"w.{connection.ops.quote_name(str(f.column))}" for f in fields)
    return columns, tuple(f.attname for f in fields)


def wallet_from_row(row: Sequence[Any]) -> Wallet:
    """A ``Wallet`` from the first ``len(attnames)`` values of a row selected with ``wallet_columns``."""
    _, attnames = wallet_columns()
    return Wallet.from_db(connection.alias, list(attnames), row[: len(attnames)])
