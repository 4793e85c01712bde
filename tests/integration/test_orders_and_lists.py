"""Orders, cancellation, and newest-first keyset lists with filters."""
from __future__ import annotations

from shared.payments.processing import process_payment
from tests.factories import create_order, payment_body


def pay(client, merchant, **extra):
    return client.post("/api/v1/payments", headers=merchant["headers"],
                       json=payment_body(**{"amount": 1000, **extra}))


def test_order_becomes_paid_when_its_payment_completes(client, merchant, db, config):
    order = create_order(client, merchant["headers"], amount=1000, receipt="rcpt-1",
                         notes={"sku": "A1"})
    assert (order["status"], order["amount_paid"], order["object"]) == ("created", 0, "order")
    payment = pay(client, merchant, order_id=order["id"]).get_json()
    after_attempt = client.get(f"/api/v1/orders/{order['id']}", headers=merchant["headers"])
    assert after_attempt.get_json()["status"] == "attempted"
    process_payment(db, config, payment["id"])
    paid = client.get(f"/api/v1/orders/{order['id']}", headers=merchant["headers"]).get_json()
    assert (paid["status"], paid["amount_paid"], paid["metadata"]) == ("paid", 1000, {"sku": "A1"})
    again = pay(client, merchant, order_id=order["id"])
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "order_already_paid"


def test_payment_must_match_its_order(client, merchant):
    order = create_order(client, merchant["headers"], amount=1000)
    wrong_amount = pay(client, merchant, order_id=order["id"], amount=999)
    assert wrong_amount.get_json()["error"]["param"] == "amount"
    wrong_currency = pay(client, merchant, order_id=order["id"], currency="USD")
    assert wrong_currency.get_json()["error"]["param"] == "currency"


def test_pending_payment_can_be_canceled_once(client, merchant, db, config):
    pid = pay(client, merchant).get_json()["id"]
    response = client.patch(f"/api/v1/payments/{pid}", headers=merchant["headers"],
                            json={"status": "canceled", "metadata": {"why": "customer"}})
    assert response.status_code == 200
    assert response.get_json()["status"] == "canceled"
    assert response.get_json()["metadata"] == {"why": "customer"}
    # The worker finds it canceled and leaves it alone.
    assert process_payment(db, config, pid) == "already canceled"


def test_completed_payment_cannot_be_canceled_but_metadata_can_change(client, merchant, db,
                                                                      config):
    pid = pay(client, merchant).get_json()["id"]
    process_payment(db, config, pid)
    conflict = client.patch(f"/api/v1/payments/{pid}", headers=merchant["headers"],
                            json={"status": "canceled"})
    assert conflict.status_code == 409
    ok = client.patch(f"/api/v1/payments/{pid}", headers=merchant["headers"],
                      json={"description": "new", "metadata": {"a": "b"}})
    assert ok.status_code == 200 and ok.get_json()["description"] == "new"


def test_lists_are_newest_first_with_a_cursor(client, merchant):
    ids = [pay(client, merchant).get_json()["id"] for _ in range(5)]
    first = client.get("/api/v1/payments?limit=2", headers=merchant["headers"]).get_json()
    assert [p["id"] for p in first["data"]] == ids[::-1][:2] and first["has_more"]
    cursor = first["data"][-1]["id"]
    second = client.get(f"/api/v1/payments?limit=2&starting_after={cursor}",
                        headers=merchant["headers"]).get_json()
    assert [p["id"] for p in second["data"]] == ids[::-1][2:4] and second["has_more"]
    last = client.get(f"/api/v1/payments?limit=2&starting_after={second['data'][-1]['id']}",
                      headers=merchant["headers"]).get_json()
    assert [p["id"] for p in last["data"]] == ids[:1] and not last["has_more"]


def test_list_filters(client, merchant, db, config):
    done = pay(client, merchant).get_json()["id"]
    process_payment(db, config, done)
    waiting = pay(client, merchant).get_json()["id"]
    by_status = client.get("/api/v1/payments?status=completed",
                           headers=merchant["headers"]).get_json()
    assert [p["id"] for p in by_status["data"]] == [done]
    future = client.get("/api/v1/payments?created[gte]=2999-01-01T00:00:00Z",
                        headers=merchant["headers"]).get_json()
    assert future["data"] == []
    past = client.get("/api/v1/payments?created[lt]=2999-01-01T00:00:00Z",
                      headers=merchant["headers"]).get_json()
    assert {p["id"] for p in past["data"]} == {done, waiting}
    since = client.get("/api/v1/payments?created[gte]=2000-01-01T00:00:00Z&limit=1",
                       headers=merchant["headers"]).get_json()
    assert [p["id"] for p in since["data"]] == [waiting]


def test_unknown_ids_are_404(client, merchant):
    for path in ("/api/v1/payments/pay_nope", "/api/v1/orders/ord_nope",
                 "/api/v1/refunds/rfnd_nope"):
        response = client.get(path, headers=merchant["headers"])
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "resource_missing"


def test_customer_return_asks_for_a_status_check_without_an_api_key(client, merchant, db,
                                                                   published):
    from sqlalchemy import update

    from shared.payments.models import Payment
    pid = pay(client, merchant).get_json()["id"]
    published.clear()
    pending = client.get(f"/checkout/return/{pid}")
    assert pending.status_code == 200 and pending.get_json()["status"] == "pending"
    assert published == []  # the first job is still on its way; nothing to poll yet
    with db.transaction() as session:
        session.execute(update(Payment).where(Payment.id == pid).values(
            status="processing", provider_payment_id="sbx_waiting_for_the_customer"))
    body = client.get(f"/checkout/return/{pid}").get_json()
    # The customer sees pending/succeeded/failed only (tests/integration/test_checkout_return.py)
    assert body == {"object": "checkout_return", "payment_id": pid, "status": "pending"}
    assert published == [("gateway.process_payment", [pid], "payments")]
    assert client.get("/checkout/return/pay_unknown").status_code == 404
