"""Issue 10 item 3: a 401/403 or missing credentials on a provider call never decides a
payment or refund. The object stays processing for the sweeper, the error is logged at ERROR,
counted, and /ready shows it (without secrets) until a call to that provider succeeds."""
from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from shared.config import Config
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.refunds.models import Refund
from shared.refunds.processing import process_refund
from tests.factories import create_payment, create_refund
from tests.providers.conftest import BUILDERS


@pytest.fixture(scope="module")
def rzp():
    built = BUILDERS["razorpay"]()
    yield built
    built.sim.stop()


@pytest.fixture
def good(base_env, rzp) -> Config:
    return Config.from_env(base_env).with_overrides(providers=rzp.credentials,
                                                    provider_timeout_s=1)


@pytest.fixture
def bad(good, rzp) -> Config:
    return good.with_overrides(providers=rzp.bad_credentials)


@pytest.fixture
def api(good, db):
    from api import create_app
    app = create_app(good, db=db, publish=lambda task, args, queue: None)
    app.testing = True
    return app.test_client()


def _config_errors(operation: str) -> float:
    return REGISTRY.get_sample_value("gateway_provider_config_errors_total",
                                     {"provider": "razorpay", "operation": operation}) or 0.0


def _checkout(api, db, config, merchant) -> str:
    created = create_payment(api, merchant["headers"], amount=49900, provider="razorpay",
                             payment_method={"type": "upi", "vpa": "customer@okaxis"})
    process_payment(db, config, created["id"])
    return created["id"]


def test_credentials_refused_on_a_status_check_leave_the_payment_processing(
        api, db, good, bad, rzp, merchant, caplog):
    payment_id = _checkout(api, db, good, merchant)
    before = _config_errors("fetch_payment")
    caplog.set_level(logging.ERROR)
    assert process_payment(db, bad, payment_id) == "provider_configuration"
    with db.transaction() as session:
        row = session.get(Payment, payment_id)
        assert (row.status, row.failure_code) == ("processing", None)
    assert _config_errors("fetch_payment") == before + 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("provider_authentication_failed" in m and payment_id in m for m in errors)
    ready = api.get("/ready").get_json()
    alert = ready["alerts"]["razorpay"]
    assert (alert["code"], alert["operation"]) == ("provider_authentication_failed",
                                                  "fetch_payment")
    assert ready["providers"]["razorpay"].startswith("error")
    text = api.get("/ready").get_data(as_text=True)
    for secret in rzp.secrets + [rzp.bad_credentials.razorpay_key_secret]:
        assert secret not in text
    # Fixed credentials: the next poll completes it and the alert is gone.
    rzp.sim.customer_pays(row.provider_payment_id)
    assert process_payment(db, good, payment_id) == "completed"
    assert "razorpay" not in api.get("/ready").get_json().get("alerts", {})


def test_credentials_refused_on_a_refund_status_check_keep_the_reservation(
        api, db, good, bad, rzp, merchant):
    payment_id = _checkout(api, db, good, merchant)
    with db.transaction() as session:
        order_id = session.get(Payment, payment_id).provider_payment_id
    rzp.sim.customer_pays(order_id)
    process_payment(db, good, payment_id)
    refund = create_refund(api, merchant["headers"], payment_id)
    # The refund reached Razorpay and its id is known; the answer was lost.
    from shared.providers.base import RefundRequest
    made = rzp.provider().refund(RefundRequest(refund_id=refund["id"], payment_id=payment_id,
                                               provider_payment_id=order_id, amount=49900,
                                               currency="INR"))
    with db.transaction() as session:
        row = session.get(Refund, refund["id"])
        row.status, row.provider_refund_id = "processing", made.provider_refund_id
    assert process_refund(db, bad, refund["id"]) == "provider_configuration"
    with db.transaction() as session:
        assert session.get(Refund, refund["id"]).status == "processing"
        payment = session.get(Payment, payment_id)
        assert payment.amount_refund_reserved == 49900
    second = api.post("/api/v1/refunds", headers=merchant["headers"],
                      json={"payment_id": payment_id})
    assert second.status_code == 400
    assert second.get_json()["error"]["code"] == "refund_exceeds_payment"
    assert process_refund(db, good, refund["id"]) == "completed"
    assert rzp.sim.refunds_made(refund["id"]) == 1


def test_missing_credentials_on_a_worker_call_leave_the_payment_processing(
        api, db, good, merchant):
    payment_id = _checkout(api, db, good, merchant)
    from shared.config import ProviderCredentials
    none = good.with_overrides(providers=ProviderCredentials())
    assert process_payment(db, none, payment_id) == "provider_configuration"
    with db.transaction() as session:
        assert session.get(Payment, payment_id).status == "processing"
    assert api.get("/ready").get_json()["alerts"]["razorpay"]["code"] == "provider_unavailable"
