"""Django admin (back-office) for wallets; writes go through services."""
