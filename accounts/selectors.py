"""Reads of accounts: functions returning querysets, with filtering and select_related."""
