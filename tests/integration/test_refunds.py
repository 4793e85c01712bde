"""Refunds: partial and multiple, never more than the payment, failures give the amount back."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from shared.payments.models import Payment
from shared.providers.models import SandboxCharge
from shared.refunds.processing import process_refund
from tests.factories import completed_payment, create_payment


@pytest.fixture
def paid(client, merchant, db, config):
    def make(amount=10_000, token="tok_success"):
        return completed_payment(client, merchant["headers"], db, config, amount=amount,
                                 token=token)["id"]
    return make


def refund(client, merchant, payment_id, amount=None, **extra):
    body = {"payment_id": payment_id, **extra}
    if amount is not None:
        body["amount"] = amount
    return client.post("/api/v1/refunds", headers=merchant["headers"], json=body)


def payment(db, payment_id) -> Payment:
    with db.transaction() as session:
        return session.get(Payment, payment_id)


def test_refund_answers_pending_then_completes(client, merchant, db, config, paid):
    pid = paid()
    response = refund(client, merchant, pid, 3000, reason="damaged")
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending" and body["id"].startswith("rfnd_")
    assert body["amount"] == 3000 and body["currency"] == "INR"
    assert process_refund(db, config, body["id"]) == "completed"
    p = payment(db, pid)
    assert (p.status, p.amount_refunded) == ("partially_refunded", 3000)
    got = client.get(f"/api/v1/refunds/{body['id']}", headers=merchant["headers"]).get_json()
    assert got["status"] == "completed"


def test_omitted_amount_refunds_what_is_left(client, merchant, db, config, paid):
    pid = paid()
    first = refund(client, merchant, pid, 4000).get_json()
    rest = refund(client, merchant, pid).get_json()
    assert rest["amount"] == 6000
    for r in (first, rest):
        process_refund(db, config, r["id"])
    p = payment(db, pid)
    assert (p.status, p.amount_refunded) == ("refunded", 10_000)
    assert refund(client, merchant, pid, 1).status_code == 400


def test_refund_cannot_exceed_payment(client, merchant, paid):
    pid = paid()
    response = refund(client, merchant, pid, 10_001)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "refund_exceeds_payment"
    assert response.get_json()["error"]["param"] == "amount"


def test_refund_cannot_exceed_payment_under_concurrency(app, merchant, db, config, paid):
    pid = paid(10_000)

    def send(_):
        with app.test_client() as c:
            return refund(c, merchant, pid, 3000).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert statuses.count(201) == 3, statuses
    assert statuses.count(400) == 17
    with db.transaction() as session:
        from shared.refunds.models import Refund
        ids = [r.id for r in session.scalars(select(Refund).where(Refund.payment_id == pid))]
    for rid in ids:
        process_refund(db, config, rid)
    p = payment(db, pid)
    assert p.amount_refunded == 9000 <= p.amount
    assert p.status == "partially_refunded"


def test_failed_refund_gives_the_amount_back(client, merchant, db, config, paid):
    pid = paid(token="tok_refund_fail")
    r = refund(client, merchant, pid).get_json()
    assert r["amount"] == 10_000
    assert process_refund(db, config, r["id"]) == "failed"
    got = client.get(f"/api/v1/refunds/{r['id']}", headers=merchant["headers"]).get_json()
    assert (got["status"], got["failure_code"]) == ("failed", "refund_declined")
    p = payment(db, pid)
    assert (p.status, p.amount_refunded, p.amount_refund_reserved) == ("completed", 0, 0)
    # The amount is available again.
    assert refund(client, merchant, pid, 10_000).status_code == 201


def test_only_completed_payments_can_be_refunded(client, merchant):
    pending = create_payment(client, merchant["headers"])
    response = refund(client, merchant, pending["id"])
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "payment_not_refundable"


def test_refund_job_twice_refunds_once(client, merchant, db, config, paid):
    pid = paid()
    r = refund(client, merchant, pid, 500).get_json()
    assert process_refund(db, config, r["id"]) == "completed"
    assert process_refund(db, config, r["id"]) == "already completed"
    assert payment(db, pid).amount_refunded == 500
    with db.transaction() as session:
        rows = session.scalars(select(SandboxCharge).where(
            SandboxCharge.kind == "refund", SandboxCharge.reference == r["id"])).all()
    assert len(rows) == 1


def test_refund_events_are_written(client, merchant, db, config, paid):
    from shared.webhooks.models import Event
    pid = paid()
    r = refund(client, merchant, pid).get_json()
    process_refund(db, config, r["id"])
    with db.transaction() as session:
        types = [e.type for e in session.scalars(select(Event).order_by(Event.id))]
    assert types[-3:] == ["refund.created", "refund.completed", "payment.refunded"]


def test_list_refunds_filters_by_payment(client, merchant, db, config, paid):
    p1, p2 = paid(), paid()
    r1 = refund(client, merchant, p1, 100).get_json()
    refund(client, merchant, p2, 100)
    listed = client.get(f"/api/v1/refunds?payment_id={p1}", headers=merchant["headers"]).get_json()
    assert [r["id"] for r in listed["data"]] == [r1["id"]]
