from typing import Any

import pytest
from django.test import Client

from accounts.tests.factories import SuperuserFactory
from payments.models import StripeEventStatus
from payments.tests.factories import BankAccountFactory, StripeEventFactory


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
