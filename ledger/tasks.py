"""Celery tasks of ledger: take ids, re-fetch, call a service."""
