"""Reads of wallets: functions returning querysets, with filtering and select_related."""
