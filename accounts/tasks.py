"""Celery tasks of accounts: take ids, re-fetch, call a service."""
