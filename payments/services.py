"""Writes of payments: every state change goes through a function here."""
