"""Payments from POST to a final status, through real worker processes and the sandbox."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.payments.models import Payment
from shared.providers.models import SandboxCharge, TransactionAttempt
from tests.factories import create_payment
from tests.harness.processes import wait_for


def create(client, merchant, token="tok_success", **extra):
    return create_payment(client, merchant["headers"], token=token, **extra)


def final_status(client, merchant, payment_id, timeout=30):
    final = {"completed", "failed", "canceled", "refunded"}

    def poll():
        body = client.get(f"/api/v1/payments/{payment_id}", headers=merchant["headers"]).get_json()
        return body if body["status"] in final else None
    return wait_for(poll, timeout, message=f"{payment_id} to finish")


def charges(db, payment_id):
    with db.transaction() as session:
        return session.scalars(select(SandboxCharge).where(
            SandboxCharge.kind == "charge", SandboxCharge.reference == payment_id)).all()


def test_post_answers_pending_without_calling_a_provider(client, merchant, published, db):
    body = create(client, merchant)
    assert body["status"] == "pending" and body["object"] == "payment"
    assert body["id"].startswith("pay_") and body["attempts"] == 0
    assert ("gateway.process_payment", [body["id"]], "payments") in published
    assert charges(db, body["id"]) == []
    with db.transaction() as session:
        assert session.scalars(select(TransactionAttempt)).all() == []


@pytest.mark.parametrize("method,status,code", [
    ({"type": "card", "token": "tok_success"}, "completed", None),
    ({"type": "card", "token": "tok_decline"}, "failed", "card_declined"),
    ({"type": "card", "token": "tok_insufficient_funds"}, "failed", "insufficient_funds"),
    ({"type": "upi", "vpa": "success@sandbox"}, "completed", None),
    ({"type": "upi", "vpa": "failure@sandbox"}, "failed", "upi_declined"),
    ({"type": "netbanking", "bank": "HDFC"}, "completed", None),
    ({"type": "wallet", "wallet": "paytm"}, "completed", None),
])
def test_every_sandbox_method_leads_to_its_outcome(live_client, merchant, start_worker, db,
                                                   method, status, code):
    start_worker()
    created = create_payment(live_client, merchant["headers"], amount=500, payment_method=method)
    payment = final_status(live_client, merchant, created["id"])
    assert payment["status"] == status
    assert payment["failure_code"] == code
    assert payment["attempts"] == 1
    assert len(charges(db, payment["id"])) == 1


def test_timeout_is_retried_and_charged_once(live_client, merchant, start_worker, db):
    start_worker()
    created = create(live_client, merchant, "tok_timeout")
    payment = final_status(live_client, merchant, created["id"])
    assert payment["status"] == "completed"
    rows = charges(db, payment["id"])
    assert len(rows) == 1 and rows[0].calls >= 2  # asked twice, charged once
    with db.transaction() as session:
        outcomes = [a.outcome for a in session.scalars(
            select(TransactionAttempt).where(TransactionAttempt.payment_id == payment["id"])
            .order_by(TransactionAttempt.id))]
    assert outcomes == ["transient_error", "succeeded"]


def test_events_follow_the_status_machine(live_client, merchant, start_worker, db):
    start_worker()
    payment = final_status(live_client, merchant, create(live_client, merchant)["id"])
    from shared.webhooks.models import Event
    with db.transaction() as session:
        types = [e.type for e in session.scalars(
            select(Event).where(Event.object_id == payment["id"]).order_by(Event.id))]
    assert types == ["payment.created", "payment.processing", "payment.completed"]


def test_running_the_job_twice_changes_nothing(live_client, merchant, start_worker, db, config):
    from shared.payments.processing import process_payment
    start_worker()
    payment = final_status(live_client, merchant, create(live_client, merchant)["id"])
    assert process_payment(db, config, payment["id"]) == "already completed"
    with db.transaction() as session:
        assert session.get(Payment, payment["id"]).status == "completed"
    assert len(charges(db, payment["id"])) == 1
