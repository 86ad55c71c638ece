"""Reads of ledger: functions returning querysets, with filtering and select_related."""
