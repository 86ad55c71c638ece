"""Writes of wallets: every state change goes through a function here."""
