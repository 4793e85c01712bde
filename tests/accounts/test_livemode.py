"""SPEC "Test and live mode": sk_test_/sk_live_ keys, livemode on every object, a test key
sees only test objects (and a live key only live ones), the sandbox only in test mode."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from shared.config import ProviderCredentials
from shared.payments.processing import process_payment
from shared.webhooks.models import WebhookLog
from tests.accounts.conftest import PASSWORD, bearer
from tests.factories import (
    create_order,
    create_payment,
    create_refund,
    create_webhook_endpoint,
    payment_body,
)

STRIPE = ProviderCredentials(stripe_secret_key="sk_test_simulated",
                             stripe_webhook_secret="whsec_simulated")


@pytest.fixture
def modes(app, client, config, make_merchant):
    """One merchant with a test key and a live key; Stripe configured (never called here)."""
    app.extensions["gateway.config"] = config.with_overrides(providers=STRIPE)
    merchant = make_merchant("Modes")
    live = client.post("/api/v1/api_keys", headers=merchant["headers"],
                       json={"livemode": True}).get_json()
    return {"merchant_id": merchant["merchant_id"], "test": merchant["headers"],
            "live": bearer(live["secret"]), "live_secret": live["secret"],
            "test_secret": merchant["api_key"]}


def test_keys_say_their_mode(modes):
    assert modes["test_secret"].startswith("sk_test_")
    assert modes["live_secret"].startswith("sk_live_")


def test_cli_issues_test_keys_unless_live(base_env, client, db):
    from tests.integration.test_operator_cli import gateway
    test = json.loads(gateway(base_env, "create-merchant", "--name", "T", "--json").stdout)
    assert test["api_key"].startswith("sk_test_")
    live = json.loads(gateway(base_env, "create-api-key", "--merchant", test["merchant_id"],
                              "--live", "--json").stdout)
    assert live["api_key"].startswith("sk_live_")
    first_live = json.loads(gateway(base_env, "create-merchant", "--name", "L", "--live",
                                    "--json").stdout)
    assert first_live["api_key"].startswith("sk_live_")
    keys = client.get("/api/v1/api_keys", headers=bearer(live["api_key"])).get_json()["data"]
    assert sorted(k["livemode"] for k in keys) == [False, True]


def test_sandbox_exists_only_in_test_mode(client, modes):
    body = payment_body(amount=100)
    test = create_payment(client, modes["test"], amount=100)
    assert test["provider"] == "sandbox" and test["livemode"] is False
    for live_body in (body, {**body, "provider": "sandbox"}):
        r = client.post("/api/v1/payments", headers=modes["live"], json=live_body)
        assert r.status_code == 400, r.get_data(as_text=True)
        assert r.get_json()["error"]["code"] == "provider_unavailable"
        assert r.get_json()["error"]["param"] == "provider"
    live = create_payment(client, modes["live"], amount=100, provider="stripe")
    assert live["livemode"] is True


def test_production_never_falls_back_to_the_sandbox(app, client, modes):
    config = app.extensions["gateway.config"]
    app.extensions["gateway.config"] = config.with_overrides(env="production")
    r = client.post("/api/v1/payments", headers=modes["test"], json=payment_body(amount=100))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "provider_unavailable"
    # a test key that names the sandbox still gets it
    create_payment(client, modes["test"], amount=100, provider="sandbox")


def test_each_mode_sees_only_its_own_objects(client, db, config, modes):
    made = {}
    for mode in ("test", "live"):
        h = modes[mode]
        provider = "sandbox" if mode == "test" else "stripe"
        order = create_order(client, h, amount=300)
        payment = create_payment(client, h, amount=300, order_id=order["id"],
                                 provider=provider)
        endpoint = create_webhook_endpoint(client, h, url=f"http://127.0.0.1:9/{mode}",
                                           events=["*"])
        for obj in (order, payment, endpoint):
            assert obj["livemode"] is (mode == "live"), obj
        made[mode] = {"order": order, "payment": payment, "endpoint": endpoint}
    process_payment(db, config, made["test"]["payment"]["id"])
    refund = create_refund(client, modes["test"], made["test"]["payment"]["id"], amount=100)
    assert refund["livemode"] is False
    made["test"]["refund"] = refund

    for mode, other in (("test", "live"), ("live", "test")):
        h = modes[mode]
        theirs = made[other]
        for path in (f"/api/v1/orders/{theirs['order']['id']}",
                     f"/api/v1/payments/{theirs['payment']['id']}",
                     f"/api/v1/webhook_endpoints/{theirs['endpoint']['id']}"):
            assert client.get(path, headers=h).status_code == 404, (mode, path)
        assert client.patch(f"/api/v1/payments/{theirs['payment']['id']}", headers=h,
                            json={"metadata": {"a": "b"}}).status_code == 404
        create_payment(client, h, status=404, amount=300, order_id=theirs["order"]["id"],
                       provider="stripe" if mode == "live" else "sandbox")
        assert client.post(f"/api/v1/webhook_endpoints/{theirs['endpoint']['id']}/test",
                           headers=h).status_code == 404
        assert client.delete(f"/api/v1/webhook_endpoints/{theirs['endpoint']['id']}",
                             headers=h).status_code == 404
        for path in ("/api/v1/orders", "/api/v1/payments", "/api/v1/refunds",
                     "/api/v1/events", "/api/v1/webhook_endpoints"):
            data = client.get(path, headers=h).get_json()["data"]
            assert data or (mode, path) == ("live", "/api/v1/refunds")  # none made live
            assert all(o["livemode"] is (mode == "live") for o in data), (mode, path)
            assert not {o["id"] for o in data} & {o["id"] for o in theirs.values()}
    live = modes["live"]
    assert client.get(f"/api/v1/refunds/{refund['id']}", headers=live).status_code == 404
    create_refund(client, live, made["test"]["payment"]["id"], status=404)
    events = client.get("/api/v1/events", headers=modes["test"]).get_json()["data"]
    test_event = events[0]["id"]
    assert client.get(f"/api/v1/events/{test_event}", headers=live).status_code == 404


def test_test_events_go_only_to_test_endpoints(client, db, modes):
    for mode in ("test", "live"):
        create_webhook_endpoint(client, modes[mode], url=f"http://127.0.0.1:9/{mode}",
                                events=["*"])
    create_order(client, modes["test"], amount=1)
    create_payment(client, modes["test"], amount=100)
    event = client.get("/api/v1/events", headers=modes["test"]).get_json()["data"][0]
    with db.transaction() as s:
        logs = s.scalars(select(WebhookLog).where(WebhookLog.event_id == event["id"])).all()
        assert len(logs) == 1
    endpoints = client.get("/api/v1/webhook_endpoints", headers=modes["test"]).get_json()
    assert logs[0].endpoint_id == endpoints["data"][0]["id"]


def test_a_user_signs_in_to_test_mode_unless_asking_for_live(client, register):
    owner = register()
    assert owner["livemode"] is False
    live = client.post("/api/v1/auth/login", json={
        "email": "owner@example.com", "password": PASSWORD, "livemode": True}).get_json()
    assert live["livemode"] is True
    key = client.post("/api/v1/api_keys", headers=bearer(live["access_token"]),
                      json={}).get_json()
    assert key["livemode"] is True and key["secret"].startswith("sk_live_")
    refreshed = client.post("/api/v1/auth/refresh",
                            json={"refresh_token": live["refresh_token"]}).get_json()
    assert refreshed["livemode"] is True


def test_an_idempotency_key_never_replays_across_modes(client, modes):
    body = {"amount": 100, "currency": "INR"}
    test = client.post("/api/v1/orders", headers={**modes["test"], "Idempotency-Key": "same"},
                       json=body)
    live = client.post("/api/v1/orders", headers={**modes["live"], "Idempotency-Key": "same"},
                       json=body)
    assert test.status_code == 201 and test.get_json()["livemode"] is False
    assert live.status_code == 422, live.get_data(as_text=True)
    assert live.get_json()["error"]["code"] == "idempotency_key_reused"
    again = client.post("/api/v1/orders", headers={**modes["test"], "Idempotency-Key": "same"},
                        json=body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == test.get_json()["id"]


def test_delivery_logs_are_in_the_mode_of_their_endpoint(client, db, modes):
    logs = {}
    for mode in ("test", "live"):
        endpoint = create_webhook_endpoint(client, modes[mode],
                                           url=f"http://127.0.0.1:9/{mode}", events=["*"])
        logs[mode] = client.post(f"/api/v1/webhook_endpoints/{endpoint['id']}/test",
                                 headers=modes[mode]).get_json()
    with db.transaction() as s:  # as if both attempts had been sent and failed
        s.execute(update(WebhookLog).values(status="failed"))
    for mode, other in (("test", "live"), ("live", "test")):
        h = modes[mode]
        listed = client.get("/api/v1/webhook_logs", headers=h).get_json()["data"]
        assert [row["id"] for row in listed] == [logs[mode]["id"]]
        assert client.get(f"/api/v1/webhook_logs/{logs[other]['id']}",
                          headers=h).status_code == 404
        assert client.post(f"/api/v1/webhook_logs/{logs[other]['id']}/retry",
                           headers=h).status_code == 404
        assert client.post(f"/api/v1/webhook_logs/{logs[mode]['id']}/retry",
                           headers=h).status_code == 201
