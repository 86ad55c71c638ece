"""Writes of ledger: every state change goes through a function here."""
