"""Celery tasks of wallets: take ids, re-fetch, call a service."""
