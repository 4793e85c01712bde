"""Idempotency-Key on POST: replay, reuse with other parameters, in flight, concurrency."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from shared.payments.models import Payment
from shared.webhooks.models import Event

BODY = {"amount": 2500, "currency": "INR",
        "payment_method": {"type": "card", "token": "tok_success"}}


def post(client, merchant, body=BODY, key="order-42", path="/api/v1/payments"):
    return client.post(path, json=body, headers={**merchant["headers"], "Idempotency-Key": key})


def count(db, model, *where):
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_same_key_same_body_replays_the_first_answer(client, merchant, db):
    first = post(client, merchant)
    second = post(client, merchant)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.get_json() == first.get_json()
    assert count(db, Payment) == 1
    assert count(db, Event, Event.type == "payment.created") == 1


def test_same_key_other_parameters_gets_422(client, merchant, db):
    assert post(client, merchant).status_code == 201
    response = post(client, merchant, {**BODY, "amount": 9999})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert count(db, Payment) == 1


def test_keys_are_scoped_to_the_merchant(client, make_merchant, db):
    a, b = make_merchant("A"), make_merchant("B")
    ra, rb = post(client, a), post(client, b)
    assert ra.status_code == rb.status_code == 201
    assert ra.get_json()["id"] != rb.get_json()["id"]
    assert "Idempotent-Replayed" not in rb.headers


def test_key_in_flight_gets_409(client, merchant, db):
    from shared.idempotency import service as idempotency
    fingerprint = idempotency.request_fingerprint("POST", "/api/v1/payments", BODY)
    idempotency.claim(db, merchant["merchant_id"], "busy-key", fingerprint)
    response = post(client, merchant, key="busy-key")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_key_in_use"
    assert count(db, Payment) == 0


def test_client_errors_are_replayed_and_create_nothing(client, merchant, db):
    bad = {**BODY, "order_id": "ord_doesnotexist"}
    first = post(client, merchant, bad, key="bad-1")
    second = post(client, merchant, bad, key="bad-1")
    assert first.status_code == second.status_code == 404
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(db, Payment) == 0


def test_overlong_key_is_refused(client, merchant):
    response = post(client, merchant, key="k" * 256)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "Idempotency-Key"


def test_fifty_concurrent_identical_posts_make_one_payment(app, merchant, db):
    def send(_):
        with app.test_client() as c:
            r = post(c, merchant, key="concurrent-1")
            return r.status_code, r.get_json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(send, range(50)))
    statuses = [s for s, _ in results]
    assert set(statuses) <= {201, 409}, statuses
    created_ids = {body["id"] for s, body in results if s == 201}
    assert len(created_ids) == 1
    assert count(db, Payment) == 1
    assert count(db, Event, Event.type == "payment.created") == 1
    # Once the first finished, a retry replays it.
    status, body = send(0)
    assert status == 201 and body["id"] in created_ids


def test_idempotency_works_for_orders_and_refunds_too(client, merchant, db):
    order = {"amount": 100, "currency": "INR"}
    a = post(client, merchant, order, key="o-1", path="/api/v1/orders")
    b = post(client, merchant, order, key="o-1", path="/api/v1/orders")
    assert a.get_json()["id"] == b.get_json()["id"] and b.headers["Idempotent-Replayed"]


def test_expired_keys_are_purged(db, merchant):
    from datetime import timedelta

    from sqlalchemy import update

    from shared.db import utcnow
    from shared.idempotency import service as idempotency
    from shared.idempotency.models import IdempotencyKey
    idempotency.claim(db, merchant["merchant_id"], "old", "h1")
    idempotency.claim(db, merchant["merchant_id"], "new", "h2")
    with db.transaction() as session:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                        .values(created_at=utcnow() - timedelta(hours=25)))
    assert idempotency.purge_expired(db, 24 * 3600) == 1
    with db.transaction() as session:
        assert [k.key for k in session.scalars(select(IdempotencyKey))] == ["new"]
