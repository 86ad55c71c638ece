"""The admin of every app, registered when Django's admin autodiscovers ``backoffice.admin``."""

from backoffice.admin import accounts, audit, ledger, outbox, payments, wallets, webhooks

__all__ = ["accounts", "audit", "ledger", "outbox", "payments", "wallets", "webhooks"]
