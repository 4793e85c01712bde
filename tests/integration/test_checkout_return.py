"""Issue 10 item 6: ``GET /checkout/return/{id}`` (no credentials: the customer's browser)
asks for at most one status poll per payment per interval, never makes the provider create
anything, and says no more than the customer needs."""
from __future__ import annotations

from datetime import timedelta

from shared.payments.models import Payment
from tests.factories import create_payment


def _payment(client, merchant) -> str:
    return create_payment(client, merchant["headers"], amount=1000, currency="EUR")["id"]


def _polls(published, payment_id) -> int:
    return sum(1 for task, args, _ in published
               if task == "gateway.process_payment" and args == [payment_id])


def _in_checkout(db, payment_id, provider_payment_id="prov_123"):
    with db.transaction() as session:
        row = session.get(Payment, payment_id)
        row.status, row.provider_payment_id = "processing", provider_payment_id


def test_many_returns_ask_for_one_poll_per_interval(client, db, published, merchant):
    payment_id = _payment(client, merchant)
    _in_checkout(db, payment_id)
    published.clear()
    with db.transaction() as session:
        updated_before = session.get(Payment, payment_id).updated_at
    for _ in range(20):
        response = client.get(f"/checkout/return/{payment_id}")
        assert response.status_code == 200
    assert _polls(published, payment_id) == 1
    with db.transaction() as session:
        row = session.get(Payment, payment_id)
        assert row.updated_at == updated_before   # the sweeper's clock is not touched
        row.return_polled_at = row.return_polled_at - timedelta(hours=1)
    client.get(f"/checkout/return/{payment_id}")
    assert _polls(published, payment_id) == 2


def test_return_never_starts_a_provider_create(client, db, published, merchant):
    payment_id = _payment(client, merchant)
    _in_checkout(db, payment_id, provider_payment_id=None)  # the provider has nothing yet
    published.clear()
    for _ in range(5):
        assert client.get(f"/checkout/return/{payment_id}").status_code == 200
    assert _polls(published, payment_id) == 0


def test_return_says_only_what_the_customer_needs(client, db, merchant):
    payment_id = _payment(client, merchant)
    _in_checkout(db, payment_id)
    body = client.get(f"/checkout/return/{payment_id}").get_json()
    assert body == {"object": "checkout_return", "payment_id": payment_id, "status": "pending"}
    with db.transaction() as session:
        row = session.get(Payment, payment_id)
        row.status, row.failure_code = "failed", "insufficient_funds"
    body = client.get(f"/checkout/return/{payment_id}").get_json()
    assert body == {"object": "checkout_return", "payment_id": payment_id, "status": "failed"}
    with db.transaction() as session:
        session.get(Payment, payment_id).status = "partially_refunded"
    assert client.get(f"/checkout/return/{payment_id}").get_json()["status"] == "succeeded"


def test_unknown_payment_is_404_in_the_error_shape(client):
    response = client.get("/checkout/return/pay_doesnotexist")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "resource_missing"
