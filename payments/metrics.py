"""Scrape-time gauges of payments (registered in PaymentsConfig.ready): open reconciliation issues
by kind, in one query over the (status, kind) index."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from payments.models import ReconciliationIssue, ReconciliationIssueKind, ReconciliationIssueStatus


def reconciliation_issues_collect() -> Iterator[GaugeMetricFamily]:
    counts = dict(
        ReconciliationIssue.objects.filter(status=ReconciliationIssueStatus.OPEN)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    issues = GaugeMetricFamily(
        "vaultcore_reconciliation_issues_open",
        "Open reconciliation issues (Stripe and the ledger disagree; resolved by staff), by kind.",
        labels=["kind"],
    )
    for kind in ReconciliationIssueKind:
        issues.add_metric([str(kind)], counts.get(kind, 0))
    yield issues
