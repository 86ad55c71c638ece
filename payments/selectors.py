"""Reads of payments: functions returning querysets, with filtering and select_related."""
