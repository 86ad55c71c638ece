from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from payments.exceptions import ReconciliationIssueNotOpen, ReconciliationPermissionDenied, ResolutionNoteRequired
from payments.models import ReconciliationIssue, ReconciliationIssueKind, StripeEventStatus
from payments.services import reconciliation_issue_record, reconciliation_issue_resolve
from payments.tests.factories import BankAccountFactory, ReconciliationIssueFactory, StripeEventFactory


@pytest.fixture
def admin_site_client() -> Client:
    client = Client()
    client.force_login(SuperuserFactory.create())
    return client


@pytest.mark.django_db
def test_bank_account_admin_shows_masked_values_only(admin_site_client: Client) -> None:
    # given
    account = BankAccountFactory.create(account_number="000555566667", account_holder_name="Jane Hidden")

    # when
    listing = admin_site_client.get("/admin/payments/bankaccount/")
    detail = admin_site_client.get(f"/admin/payments/bankaccount/{account.pk}/change/")

    # then
    for response in (listing, detail):
        assert response.status_code == 200
        html = response.content.decode()
        assert "000555566667" not in html
        assert "Jane Hidden" not in html
        assert account.account_number_encrypted not in html
        assert "6667" in html


@pytest.mark.django_db
def test_stripe_event_admin_retry_action_requeues_failed_events_only(
    admin_site_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    failed = StripeEventFactory.create(type="some.unhandled", status=StripeEventStatus.FAILED, error="boom")
    processed = StripeEventFactory.create(status=StripeEventStatus.PROCESSED)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_site_client.post(
            "/admin/payments/stripeevent/",
            {"action": "retry_processing", "_selected_action": [failed.pk, processed.pk]},
            follow=True,
        )

    # then
    assert response.status_code == 200
    assert "1 event(s) queued for processing; 1 skipped" in response.content.decode()
    failed.refresh_from_db()
    processed.refresh_from_db()
    assert failed.status == StripeEventStatus.PROCESSED  # no handler: processed with an "ignored" note
    assert failed.attempts == 1
    assert processed.status == StripeEventStatus.PROCESSED


@pytest.mark.django_db
def test_stripe_event_admin_is_read_only(admin_site_client: Client) -> None:
    # given
    event = StripeEventFactory.create()

    # when
    view = admin_site_client.get(f"/admin/payments/stripeevent/{event.pk}/change/")
    post = admin_site_client.post(f"/admin/payments/stripeevent/{event.pk}/change/", {"status": "processed"})

    # then
    assert view.status_code == 200
    assert post.status_code == 403
    event.refresh_from_db()
    assert event.status == StripeEventStatus.RECEIVED


@pytest.mark.django_db
def test_reconciliation_issues_are_listed_filtered_and_resolved_with_a_note(admin_site_client: Client) -> None:
    # given two open issues and one resolved
    first, second = ReconciliationIssueFactory.create(), ReconciliationIssueFactory.create()
    ReconciliationIssueFactory.create(
        kind=ReconciliationIssueKind.UNKNOWN_OBJECT, status="resolved", resolved_at=timezone.now(), resolution_note="x"
    )
    url = "/admin/payments/reconciliationissue/"

    # when listing open ones
    listing = admin_site_client.get(url, {"status__exact": "open"})

    # then
    assert listing.status_code == 200
    assert first.stripe_object_id in listing.content.decode()
    assert listing.context["cl"].result_count == 2
    detail = admin_site_client.get(f"{url}{first.pk}/change/")
    assert detail.status_code == 200
    assert first.detail in detail.content.decode()

    # when the action is chosen: an intermediate page asks for the note
    ids = [str(first.pk), str(second.pk)]
    ask = admin_site_client.post(url, {"action": "resolve_with_note", "_selected_action": ids})
    assert ask.status_code == 200
    assert b"Resolve with this note" in ask.content

    # when submitted without a note, nothing is resolved
    admin_site_client.post(url, {"action": "resolve_with_note", "_selected_action": ids, "apply": "1", "note": ""})
    assert ReconciliationIssue.objects.filter(status="open").count() == 2

    # when submitted with a note
    done = admin_site_client.post(
        url, {"action": "resolve_with_note", "_selected_action": ids, "apply": "1", "note": "Refunded at Stripe."}
    )

    # then both are resolved by this admin with the note
    assert done.status_code == 302
    for issue in (first, second):
        issue.refresh_from_db()
        assert issue.status == "resolved"
        assert issue.resolution_note == "Refunded at Stripe."
        assert issue.resolved_by is not None and issue.resolved_at is not None


@pytest.mark.django_db
def test_resolving_needs_staff_and_an_open_issue() -> None:
    # given
    issue = ReconciliationIssueFactory.create()
    staff, user = StaffFactory.create(), UserFactory.create()

    # then
    with pytest.raises(ReconciliationPermissionDenied):
        reconciliation_issue_resolve(issue=issue, acting_user=user, note="no")
    with pytest.raises(ResolutionNoteRequired):
        reconciliation_issue_resolve(issue=issue, acting_user=staff, note="  ")
    reconciliation_issue_resolve(issue=issue, acting_user=staff, note="done")
    with pytest.raises(ReconciliationIssueNotOpen):
        reconciliation_issue_resolve(issue=issue, acting_user=staff, note="again")


@pytest.mark.django_db
def test_recording_the_same_open_issue_twice_returns_the_open_one() -> None:
    # when
    first = reconciliation_issue_record(
        kind=ReconciliationIssueKind.UNKNOWN_OBJECT, detail="a", stripe_object_id="po_1"
    )
    again = reconciliation_issue_record(
        kind=ReconciliationIssueKind.UNKNOWN_OBJECT, detail="b", stripe_object_id="po_1"
    )
    other = reconciliation_issue_record(
        kind=ReconciliationIssueKind.STATUS_MISMATCH, detail="c", stripe_object_id="po_1"
    )

    # then
    assert first.pk == again.pk != other.pk
    assert ReconciliationIssue.objects.count() == 2


@pytest.mark.django_db
def test_the_stripe_event_page_hides_secrets_in_the_payload(admin_site_client: Client) -> None:
    # given a stored payment_intent event, which carries the PaymentIntent's client secret
    secret = "pi_3Abc_secret_XyZ0123456789"
    payload = {
        "id": "evt_1",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_3Abc", "client_secret": secret, "charges": [{"token": "tok_1"}]}},
    }
    event = StripeEventFactory.create(type="payment_intent.succeeded", payload=payload)
    # when an admin opens it
    html = admin_site_client.get(f"/admin/payments/stripeevent/{event.pk}/change/").content.decode()
    # then the rest of the payload shows, the secrets do not
    assert "pi_3Abc" in html and "payment_intent.succeeded" in html
    assert secret not in html and "tok_1" not in html
    assert "[redacted]" in html
