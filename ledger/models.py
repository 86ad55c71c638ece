"""Database models of ledger."""
