"""Writes of accounts: every state change goes through a function here."""
