"""Celery tasks of payments: take ids, re-fetch, call a service."""
