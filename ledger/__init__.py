"""The append-only double-entry ledger and the money-moving services."""
