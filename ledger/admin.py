"""Django admin (back-office) for ledger; writes go through services."""
