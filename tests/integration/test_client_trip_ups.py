"""Small things a client trips over: UPI outside INR, schema errors under Idempotency-Key."""
from __future__ import annotations

from sqlalchemy import func, select

from shared.idempotency.models import IdempotencyKey
from shared.payments.models import Payment

UPI = {"type": "upi", "vpa": "asha@okbank"}


def _count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_upi_in_usd_is_refused(client, merchant, db):
    response = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 1000, "currency": "USD", "payment_method": UPI})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == ("currency", "parameter_invalid")
    assert "INR" in error["message"]
    assert _count(db, Payment) == 0


def test_upi_in_inr_is_accepted(client, merchant):
    response = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": 1000, "currency": "INR", "payment_method": UPI})
    assert response.status_code == 201


def test_a_schema_error_under_a_key_is_replayed_and_uses_the_key(client, merchant, db):
    headers = {**merchant["headers"], "Idempotency-Key": "bad-body-1"}
    bad = {"amount": "12.50", "currency": "INR",
           "payment_method": {"type": "card", "token": "tok_success"}}
    first = client.post("/api/v1/payments", headers=headers, json=bad)
    assert first.status_code == 400 and "Idempotent-Replayed" not in first.headers
    again = client.post("/api/v1/payments", headers=headers, json=bad)
    assert again.status_code == 400
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    fixed = client.post("/api/v1/payments", headers=headers, json={**bad, "amount": 1250})
    assert fixed.status_code == 422
    assert fixed.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(db, Payment) == 0


def test_a_schema_error_without_a_key_stores_nothing(client, merchant, db):
    response = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": -1, "currency": "INR"})
    assert response.status_code == 400
    assert _count(db, IdempotencyKey) == 0


def test_an_action_that_is_not_a_create_does_not_take_the_key(client, merchant, db):
    response = client.patch("/api/v1/payments/pay_doesnotexist0", json={"status": 7},
                            headers={**merchant["headers"], "Idempotency-Key": "patch-1"})
    assert response.status_code == 400
    assert _count(db, IdempotencyKey) == 0
