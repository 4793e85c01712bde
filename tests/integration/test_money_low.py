"""Issue 10, Low items: repeated cancels, redacted provider event payloads, production
configuration, amount mismatches settled once."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shared.config import Config
from shared.errors import ConfigurationError
from shared.webhooks.models import Event
from tests.factories import create_payment


def test_repeated_cancel_writes_one_event(client, merchant, db):
    payment_id = create_payment(client, merchant["headers"])["id"]
    for _ in range(3):
        response = client.patch(f"/api/v1/payments/{payment_id}", headers=merchant["headers"],
                                json={"status": "canceled"})
        assert response.status_code == 200 and response.get_json()["status"] == "canceled"
    with db.transaction() as session:
        types = session.scalars(select(Event.type).where(Event.object_id == payment_id)).all()
    assert types.count("payment.canceled") == 1


PRODUCTION = {"GATEWAY_ENV": "production", "DATABASE_URL": "postgresql://u:p@db/gw",
              "REDIS_URL": "redis://r:6379/0", "SECRET_KEY": "k" * 8 + "Zq3!x9#Lm2@v7$Pw",
              "PUBLIC_BASE_URL": "https://pay.example.com"}


def test_production_configuration_is_accepted_when_sound():
    assert Config.from_env(PRODUCTION).is_production


@pytest.mark.parametrize("change", [
    {"SECRET_KEY": " " * 40}, {"SECRET_KEY": "\t\n" * 20}, {"SECRET_KEY": "a" * 40},
    {"SECRET_KEY": "changeme" * 4},
    {"PUBLIC_BASE_URL": "http://localhost:8000"}, {"PUBLIC_BASE_URL": "https://127.0.0.1"},
    {"PUBLIC_BASE_URL": "http://pay.example.com"}, {"PUBLIC_BASE_URL": ""},
])
def test_production_refuses_blank_secrets_and_local_urls(change):
    with pytest.raises(ConfigurationError):
        Config.from_env({**PRODUCTION, **change})


def test_development_keeps_its_defaults():
    config = Config.from_env({})
    assert config.providers.public_base_url == "http://localhost:8000"


def test_stored_provider_events_have_no_secrets_or_personal_data():
    from shared.provider_events.inbound import stored_payload
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_1", "client_secret": "pi_1_secret_abc", "amount": 100,
        "metadata": {"gateway_payment_id": "pay_1"},
        "receipt_email": "buyer@example.com",
        "billing_details": {"name": "Buyer", "phone": "+14155550123"}}}}).encode()
    stored = stored_payload("stripe", body)
    for secret in ("pi_1_secret_abc", "buyer@example.com", "+14155550123", "Buyer"):
        assert secret not in stored
    kept = json.loads(stored)["data"]["object"]
    assert (kept["id"], kept["amount"], kept["metadata"]) == (
        "pi_1", 100, {"gateway_payment_id": "pay_1"})
    import base64
    inner = {"code": "PAYMENT_SUCCESS", "data": {"merchantTransactionId": "pay_2",
                                                 "amount": 500, "mobileNumber": "9876543210",
                                                 "vpa": "buyer@ybl"}}
    phonepe = json.dumps({"response": base64.b64encode(json.dumps(inner).encode()).decode()})
    stored = stored_payload("phonepe", phonepe.encode())
    decoded = json.loads(base64.b64decode(json.loads(stored)["response"]))
    assert decoded["data"]["merchantTransactionId"] == "pay_2"
    assert "9876543210" not in json.dumps(decoded) and "buyer@ybl" not in json.dumps(decoded)
    assert stored_payload("razorpay", b"not json") == "not json"


def test_amount_mismatch_is_settled_once_not_polled_forever(base_env, db, merchant):
    from api import create_app
    from shared.maintenance import sweep_stuck_work
    from shared.outbox import OutboxMessage
    from shared.payments.models import Payment
    from shared.payments.processing import process_payment
    from tests.providers.conftest import BUILDERS
    rzp = BUILDERS["razorpay"]()
    try:
        config = Config.from_env(base_env).with_overrides(providers=rzp.credentials,
                                                          provider_timeout_s=1)
        client = create_app(config, db=db, publish=lambda *a: None).test_client()
        payment_id = create_payment(client, merchant["headers"], amount=49900,
                                    provider="razorpay",
                                    payment_method={"type": "upi", "vpa": "customer@okaxis"})["id"]
        process_payment(db, config, payment_id)
        with db.transaction() as session:
            row = session.get(Payment, payment_id)
            rzp.sim.customer_pays(row.provider_payment_id)
            row.amount = 50000   # the provider and we now disagree on the amount
        assert process_payment(db, config, payment_id) == "amount_mismatch"
        with db.transaction() as session:
            row = session.get(Payment, payment_id)
            assert (row.status, row.review_reason) == ("processing", "amount_mismatch")
        with db.transaction() as session:
            session.query(OutboxMessage).delete()
        sweep_stuck_work(db, config.with_overrides(reconcile_after_s=-1))
        with db.transaction() as session:
            jobs = session.scalars(select(OutboxMessage.args).where(
                OutboxMessage.task == "gateway.process_payment")).all()
        assert [payment_id] not in jobs
    finally:
        rzp.sim.stop()


@pytest.mark.parametrize("address", [
    "2002:7f00:1::1",          # 6to4 embedding 127.0.0.1
    "2002:a9fe:a9fe::1",       # 6to4 embedding 169.254.169.254 (metadata)
    "2002:c0a8:0101::1",       # 6to4 embedding 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",   # Teredo, client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",   # Teredo, client 192.0.2.45 (documentation)
])
def test_ssrf_filter_refuses_tunnelled_private_addresses(address):
    from shared.webhooks.url_policy import address_is_public
    assert not address_is_public(address)


def test_ssrf_filter_keeps_public_addresses():
    from shared.webhooks.url_policy import address_is_public
    assert address_is_public("2606:4700:4700::1111") and address_is_public("1.1.1.1")


def test_unix_timestamps_filter_lists_like_stripe(client, merchant):
    import time
    payment_id = create_payment(client, merchant["headers"])["id"]
    now = int(time.time())
    listed = client.get(f"/api/v1/payments?created[gte]={now - 60}",
                        headers=merchant["headers"])
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [p["id"] for p in listed.get_json()["data"]] == [payment_id]
    later = client.get(f"/api/v1/payments?created[gte]={now + 60}",
                       headers=merchant["headers"])
    assert later.get_json()["data"] == []
    assert client.get("/api/v1/payments?created[lt]=-5",
                      headers=merchant["headers"]).status_code == 400
    assert client.get("/api/v1/payments?created[gte]=99999999999999999999",
                      headers=merchant["headers"]).status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/payments", "/api/v1/refunds", "/api/v1/events"])
def test_unknown_starting_after_is_404(client, merchant, make_merchant, path):
    mine = create_payment(client, merchant["headers"])
    other = make_merchant("Other")
    for cursor in ("pay_0000nosuchthing", mine["id"]):
        headers = other["headers"] if cursor == mine["id"] else merchant["headers"]
        response = client.get(f"{path}?starting_after={cursor}", headers=headers)
        assert response.status_code == 404, (path, cursor, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert (error["code"], error["param"]) == ("resource_missing", "starting_after")


def test_endpoint_limit_holds_under_concurrent_creates(client, merchant, app):
    import threading
    answers = []

    def create():
        with app.test_client() as own:
            answers.append(own.post("/api/v1/webhook_endpoints", headers=merchant["headers"],
                                    json={"url": "https://hooks.example/in",
                                          "events": ["*"]}).status_code)
    threads = [threading.Thread(target=create) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = client.get("/api/v1/webhook_endpoints?limit=100", headers=merchant["headers"])
    assert len(listed.get_json()["data"]) == 16
    assert answers.count(201) == 16 and answers.count(400) == 8
