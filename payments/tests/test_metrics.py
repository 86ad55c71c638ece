"""The reconciliation metric: open issues by kind, at scrape time."""

from __future__ import annotations

import pytest
from django.utils import timezone

from payments.models import ReconciliationIssue, ReconciliationIssueKind, ReconciliationIssueStatus
from vaultcore.tests.scrape import sample, scraped


@pytest.mark.django_db
def test_open_reconciliation_issues_by_kind() -> None:
    # given two open issues of one kind and a resolved one of another
    for object_id in ("pi_1", "pi_2"):
        ReconciliationIssue.objects.create(
            kind=ReconciliationIssueKind.AMOUNT_MISMATCH, stripe_object_id=object_id, detail="amounts differ"
        )
    ReconciliationIssue.objects.create(
        kind=ReconciliationIssueKind.UNKNOWN_OBJECT,
        stripe_object_id="po_1",
        detail="unknown",
        status=ReconciliationIssueStatus.RESOLVED,
        resolved_at=timezone.now(),
    )
    # when
    samples = scraped()
    # then every kind is there, resolved issues do not count
    assert sample(samples, "vaultcore_reconciliation_issues_open", kind="amount_mismatch") == 2
    assert sample(samples, "vaultcore_reconciliation_issues_open", kind="unknown_object") == 0
    assert sample(samples, "vaultcore_reconciliation_issues_open", kind="receivable") == 0
