"""Razorpay Standard Checkout end to end: API, a real worker process, the customer paying in
Checkout, the merchant's page posting the signature to /verify, and the merchant's webhook
endpoint hearing ``payment.completed``."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from shared.config import Config
from shared.payments.processing import process_payment
from shared.providers.models import TransactionAttempt
from shared.webhooks.models import Event
from tests.factories import create_payment, create_webhook_endpoint
from tests.harness.processes import wait_for
from tests.providers.conftest import BUILDERS


@pytest.fixture(scope="module")
def rzp():
    built = BUILDERS["razorpay"]()
    yield built
    built.sim.stop()


@pytest.fixture(scope="module")
def razorpay_env(rzp) -> dict:
    creds = rzp.credentials
    return {"RAZORPAY_KEY_ID": creds.razorpay_key_id,
            "RAZORPAY_KEY_SECRET": creds.razorpay_key_secret,
            "RAZORPAY_WEBHOOK_SECRET": creds.razorpay_webhook_secret,
            "RAZORPAY_BASE_URL": creds.razorpay_base_url, "PROVIDER_TIMEOUT_S": "1"}


@pytest.fixture
def razorpay_config(base_env, razorpay_env) -> Config:
    return Config.from_env({**base_env, **razorpay_env})


def _create(client, merchant, provider="razorpay", method=None) -> dict:
    return create_payment(client, merchant["headers"], amount=49900, provider=provider,
                          payment_method=method or {"type": "upi", "vpa": "customer@okaxis"})


def _verify(client, merchant, payment_id, handoff):
    return client.post(f"/api/v1/payments/{payment_id}/verify", headers=merchant["headers"],
                       json=handoff)


def test_checkout_end_to_end_through_a_worker(rzp, razorpay_env, razorpay_config, db, merchant,
                                              start_worker, make_receiver):
    from api import create_app
    client = create_app(razorpay_config, db=db).test_client()  # publishes to real Redis
    receiver = make_receiver()
    endpoint = create_webhook_endpoint(client, merchant["headers"], url=receiver.url)
    start_worker(queues="payments,refunds,webhooks,maintenance", **razorpay_env)

    payment_id = _create(client, merchant)["id"]

    def in_checkout():
        body = client.get(f"/api/v1/payments/{payment_id}", headers=merchant["headers"]).get_json()
        return body if body["status"] == "processing" and body["next_action"] else None
    payment = wait_for(in_checkout, 30, message="the worker to open a Razorpay order")
    action = payment["next_action"]
    assert action["type"] == "razorpay_checkout"
    assert action["order_id"] == payment["provider_payment_id"]
    assert action["key_id"] == razorpay_env["RAZORPAY_KEY_ID"]
    assert (action["amount"], action["currency"]) == (49900, "INR")
    assert rzp.sim.charges_made(payment_id) == 0

    handoff = rzp.sim.customer_pays(action["order_id"])
    forged = dict(handoff, razorpay_signature=handoff["razorpay_signature"][:-4] + "0000")
    refused = _verify(client, merchant, payment_id, forged)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "signature_invalid"
    assert client.get(f"/api/v1/payments/{payment_id}",
                      headers=merchant["headers"]).get_json()["status"] == "processing"

    verified = _verify(client, merchant, payment_id, handoff)
    assert verified.status_code == 200, verified.get_data(as_text=True)
    body = verified.get_json()
    assert (body["id"], body["status"], body["next_action"]) == (payment_id, "completed", None)
    assert rzp.sim.charges_made(payment_id) == 1
    with db.transaction() as session:
        completed = session.scalars(select(Event).where(
            Event.object_id == payment_id, Event.type == "payment.completed")).all()
    assert len(completed) == 1

    def delivered():
        return [r for r in receiver.received() if r.event["type"] == "payment.completed"]
    received = wait_for(delivered, 30, message="payment.completed at the merchant's endpoint")
    assert len(received) == 1
    event = Webhook(endpoint["secret"]).verify(received[0].body, received[0].headers)
    assert event["id"] == completed[0].id
    assert event["data"]["object"]["id"] == payment_id
    assert event["data"]["object"]["status"] == "completed"

    # Verifying again (the customer's page reloaded) answers the same and asks nobody.
    again = _verify(client, merchant, payment_id, handoff)
    assert again.status_code == 200 and again.get_json()["status"] == "completed"
    with db.transaction() as session:
        fetches = session.scalars(select(TransactionAttempt).where(
            TransactionAttempt.payment_id == payment_id,
            TransactionAttempt.operation == "fetch_payment")).all()
    assert len(fetches) == 1


@pytest.fixture
def checkout_app(razorpay_config, db):
    from api import create_app
    app = create_app(razorpay_config, db=db, publish=lambda task, args, queue: None)
    app.testing = True
    return app


def test_verify_refuses_another_merchants_payment(checkout_app, razorpay_config, db, rzp,
                                                 merchant, make_merchant):
    client = checkout_app.test_client()
    payment_id = _create(client, merchant)["id"]
    process_payment(db, razorpay_config, payment_id)
    order_id = client.get(f"/api/v1/payments/{payment_id}",
                          headers=merchant["headers"]).get_json()["provider_payment_id"]
    handoff = rzp.sim.customer_pays(order_id)
    other = make_merchant("Other")
    response = _verify(client, other, payment_id, handoff)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "resource_missing"
    assert client.get(f"/api/v1/payments/{payment_id}",
                      headers=merchant["headers"]).get_json()["status"] == "processing"


def test_verify_refuses_a_signature_issued_for_another_order(checkout_app, razorpay_config, db,
                                                             rzp, merchant):
    client = checkout_app.test_client()
    mine, cheaper = _create(client, merchant)["id"], _create(client, merchant)["id"]
    for payment_id in (mine, cheaper):
        process_payment(db, razorpay_config, payment_id)
    cheaper_order = client.get(f"/api/v1/payments/{cheaper}",
                               headers=merchant["headers"]).get_json()["provider_payment_id"]
    handoff = rzp.sim.customer_pays(cheaper_order)  # a real signature, for the other order
    response = _verify(client, merchant, mine, handoff)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "signature_invalid"
    assert client.get(f"/api/v1/payments/{mine}",
                      headers=merchant["headers"]).get_json()["status"] == "processing"


def test_verify_is_only_for_razorpay_payments(checkout_app, merchant):
    client = checkout_app.test_client()
    payment_id = _create(client, merchant, provider="sandbox",
                         method={"type": "card", "token": "tok_success"})["id"]
    response = _verify(client, merchant, payment_id, {
        "razorpay_order_id": "order_x", "razorpay_payment_id": "pay_x",
        "razorpay_signature": "0" * 64})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "verification_not_supported"


def test_verify_validates_its_body(checkout_app, merchant):
    client = checkout_app.test_client()
    payment_id = _create(client, merchant)["id"]
    response = _verify(client, merchant, payment_id, {"razorpay_order_id": "order_x"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("parameter_missing", "razorpay_payment_id")
