"""The gateway-level contract every real provider keeps: a payment created through the API with
``provider`` set, processed by the worker's own function, and moved by the customer's step, the
provider's signed webhook or the status poll, against that provider's simulator.

Worker jobs run in-process here (``process_payment`` and friends are exactly what the Celery
tasks call); ``test_razorpay_checkout_flow.py`` runs the whole thing through a real worker.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from shared.config import Config
from shared.maintenance import sweep_stuck_work
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.provider_events.inbound import process_provider_event
from shared.provider_events.models import ProviderEvent
from shared.providers.base import PaymentRequest
from shared.providers.models import TransactionAttempt
from shared.providers.registry import get_provider
from shared.refunds.processing import process_refund
from shared.webhooks.models import Event
from tests.factories import create_payment, create_refund
from tests.providers.conftest import BUILDERS, CLIENT_TIMEOUT_S, Harness

# Payment methods the API accepts that each provider turns into its customer-facing flow.
METHODS = {
    "stripe": {"type": "card", "token": "pm_card_visa"},
    "razorpay": {"type": "upi", "vpa": "customer@okaxis"},
    "phonepe": {"type": "netbanking", "bank": "HDFC"},
    "cashfree": {"type": "upi", "vpa": "customer@okaxis"},
}
AMOUNT = 1050


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def harness(request):
    built = BUILDERS[request.param]()
    yield built
    built.sim.stop()


@pytest.fixture(scope="module")
def provider_config(harness, base_env) -> Config:
    return Config.from_env(base_env).with_overrides(providers=harness.credentials,
                                                    provider_timeout_s=CLIENT_TIMEOUT_S)


@dataclass
class Gateway:
    """The API with this provider configured, and the worker's jobs run on demand."""
    harness: Harness
    config: Config
    db: object
    client: object
    merchant: dict
    published: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.harness.name

    @property
    def sim(self):
        return self.harness.sim

    def create(self) -> dict:
        body = create_payment(self.client, self.merchant["headers"], amount=AMOUNT,
                              currency=self.harness.currency, provider=self.name,
                              payment_method=METHODS[self.name],
                              customer={"email": "a@b.example", "phone": "9876543210"})
        assert body["status"] == "pending" and body["provider"] == self.name
        return body

    def get(self, payment_id: str) -> dict:
        return self.client.get(f"/api/v1/payments/{payment_id}",
                               headers=self.merchant["headers"]).get_json()

    def process(self, payment_id: str) -> dict:
        process_payment(self.db, self.config, payment_id)
        return self.get(payment_id)

    def start_checkout(self) -> dict:
        """A payment waiting for its customer: Stripe through a 3-D Secure redirect, the
        others through their own checkout."""
        if self.name == "stripe":
            self.sim.require_action_next()
        payment = self.process(self.create()["id"])
        assert payment["status"] == "processing", payment
        assert payment["next_action"]["type"] == (self.harness.next_action_type or "redirect")
        assert self.sim.charges_made(payment["id"]) == 0
        return payment

    def payment_webhook(self, payment: dict, succeeded: bool = True, **kw):
        return self.harness.payment_webhook(
            SimpleNamespace(payment_id=payment["id"]),
            SimpleNamespace(provider_payment_id=payment["provider_payment_id"]), succeeded, **kw)

    def post_webhook(self, delivery, provider: str | None = None):
        return self.client.post(f"/api/v1/webhooks/{provider or self.name}",
                                headers=delivery.headers, data=delivery.body)

    def run_provider_event_jobs(self) -> list[str]:
        jobs = [args[0] for task, args, _ in self.published
                if task == "gateway.process_provider_event"]
        self.published[:] = [m for m in self.published
                             if m[0] != "gateway.process_provider_event"]
        return [process_provider_event(self.db, self.config, job) for job in jobs]

    def deliver(self, delivery) -> list[str]:
        response = self.post_webhook(delivery)
        assert response.status_code == 200, response.get_data(as_text=True)
        return self.run_provider_event_jobs()

    def refund(self, payment_id: str, amount: int | None = None) -> dict:
        created = create_refund(self.client, self.merchant["headers"], payment_id,
                                amount=amount or None)
        process_refund(self.db, self.config, created["id"])
        return self.client.get(f"/api/v1/refunds/{created['id']}",
                               headers=self.merchant["headers"]).get_json()

    def paid(self) -> dict:
        payment = self.start_checkout()
        self.sim.customer_pays(payment["provider_payment_id"])
        payment = self.process(payment["id"])
        assert payment["status"] == "completed", payment
        return payment

    def count(self, model, *where) -> int:
        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    def events(self, payment_id: str) -> list[str]:
        with self.db.transaction() as session:
            return list(session.scalars(select(Event.type).where(Event.object_id == payment_id)
                                        .order_by(Event.created_at, Event.id)))


@pytest.fixture
def gw(harness, provider_config, db, merchant) -> Gateway:
    from api import create_app
    published: list = []
    app = create_app(provider_config, db=db,
                     publish=lambda task, args, queue: published.append((task, args, queue)))
    app.testing = True
    return Gateway(harness, provider_config, db, app.test_client(), merchant, published)


# --- payments ------------------------------------------------------------------------------

def test_payment_completes_through_the_signed_webhook(gw):
    payment = gw.start_checkout()
    gw.sim.customer_pays(payment["provider_payment_id"])
    assert gw.deliver(gw.payment_webhook(payment)) == ["processed"]
    final = gw.get(payment["id"])
    assert final["status"] == "completed" and final["next_action"] is None
    assert gw.sim.charges_made(payment["id"]) == 1
    assert gw.events(payment["id"]).count("payment.completed") == 1
    with gw.db.transaction() as session:
        row = session.scalars(select(ProviderEvent)).one()
        assert (row.provider, row.status) == (gw.name, "processed")
        assert row.processed_at is not None


def test_payment_completes_through_the_status_poll(gw):
    payment = gw.start_checkout()
    gw.sim.customer_pays(payment["provider_payment_id"])
    # The sweep is the periodic reconciliation: it republishes the job for a payment stuck in
    # processing, and the job asks the provider for the status instead of creating again.
    sweep_stuck_work(gw.db, gw.config.with_overrides(reconcile_after_s=-1))
    with gw.db.transaction() as session:
        jobs = session.scalars(select(OutboxMessage.args).where(
            OutboxMessage.task == "gateway.process_payment")).all()
    assert [payment["id"]] in jobs
    final = gw.process(payment["id"])
    assert final["status"] == "completed"
    assert gw.sim.charges_made(payment["id"]) == 1
    with gw.db.transaction() as session:
        operations = session.scalars(select(TransactionAttempt.operation).where(
            TransactionAttempt.payment_id == payment["id"])
            .order_by(TransactionAttempt.id)).all()
    assert operations == ["create_payment", "fetch_payment"]


def test_decline_fails_the_payment_with_the_providers_code(gw):
    gw.sim.decline_next(gw.harness.decline_code)
    payment = gw.process(gw.create()["id"])
    if gw.harness.checkout:
        gw.sim.customer_pays(payment["provider_payment_id"])  # the queued decline applies
        payment = gw.process(payment["id"])
    if gw.harness.retryable_checkout:
        # The customer may still retry inside the checkout: open until it expires.
        assert payment["status"] == "processing"
        with gw.db.transaction() as session:
            row = session.get(Payment, payment["id"])
            row.created_at = row.created_at - timedelta(seconds=gw.config.checkout_expiry_s + 1)
        payment = gw.process(payment["id"])
        assert (payment["status"], payment["failure_code"]) == ("failed", "checkout_expired")
        assert gw.events(payment["id"])[-1] == "payment.failed"
        return
    assert payment["status"] == "failed"
    assert payment["failure_code"] == gw.harness.decline_code
    assert gw.sim.charges_made(payment["id"]) == 0
    assert gw.events(payment["id"])[-1] == "payment.failed"


def test_transient_failure_then_success_charges_once(gw):
    gw.sim.fail_next(503)
    payment = gw.process(gw.create()["id"])
    if gw.harness.checkout:
        gw.sim.customer_pays(payment["provider_payment_id"])
        payment = gw.process(payment["id"])
    assert payment["status"] == "completed"
    assert gw.sim.charges_made(payment["id"]) == 1
    with gw.db.transaction() as session:
        outcomes = session.scalars(select(TransactionAttempt.outcome).where(
            TransactionAttempt.payment_id == payment["id"])
            .order_by(TransactionAttempt.id)).all()
    assert outcomes[0] == "transient_error" and outcomes[-1] == "succeeded"


# --- refunds -------------------------------------------------------------------------------

def test_refund_completes(gw):
    payment = gw.paid()
    refund = gw.refund(payment["id"])
    assert refund["status"] == "completed"
    assert gw.sim.refunds_made(refund["id"]) == 1
    final = gw.get(payment["id"])
    assert (final["status"], final["amount_refunded"]) == ("refunded", AMOUNT)


def test_failed_refund_fails_and_releases_the_amount(gw):
    payment = gw.paid()
    gw.sim.decline_refund_next(gw.harness.refund_decline_code)
    refund = gw.refund(payment["id"])
    assert (refund["status"], refund["failure_code"]) == ("failed",
                                                          gw.harness.refund_decline_code)
    with gw.db.transaction() as session:
        row = session.get(Payment, payment["id"])
        assert (row.status, row.amount_refunded, row.amount_refund_reserved) == (
            "completed", 0, 0)
    # The whole amount can be refunded again, so the failed refund holds nothing back.
    assert gw.refund(payment["id"], AMOUNT)["status"] == "completed"


def test_refund_webhook_completes_a_refund_the_worker_did_not_hear_back_from(gw):
    payment = gw.paid()
    refund_id = create_refund(gw.client, gw.merchant["headers"], payment["id"])["id"]
    # The worker reached the provider and died before recording the answer.
    with gw.db.transaction() as session:
        from shared.refunds.models import Refund
        session.get(Refund, refund_id).status = "processing"
    provider = get_provider(gw.name, gw.config)
    request = gw.harness.refund_request(
        SimpleNamespace(payment_id=payment["id"], amount=AMOUNT, currency=payment["currency"]),
        SimpleNamespace(provider_payment_id=payment["provider_payment_id"]))
    request = type(request)(**{**request.__dict__, "refund_id": refund_id})
    result = provider.refund(request)
    assert gw.deliver(gw.harness.refund_webhook(request, result)) == ["processed"]
    refund = gw.client.get(f"/api/v1/refunds/{refund_id}",
                           headers=gw.merchant["headers"]).get_json()
    assert refund["status"] == "completed"
    assert gw.get(payment["id"])["status"] == "refunded"
    assert gw.sim.refunds_made(refund_id) == 1


# --- inbound webhooks ----------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["tampered_signature", "altered_body"])
def test_bad_signature_is_refused_and_changes_nothing(gw, damage):
    payment = gw.start_checkout()
    gw.sim.customer_pays(payment["provider_payment_id"])
    delivery = gw.payment_webhook(payment, tamper=damage == "tampered_signature")
    body = delivery.body
    if damage == "altered_body":
        # One letter or digit in the middle changed: same shape, other content.
        i = next(i for i in range(len(body) // 2, len(body)) if chr(body[i]).isalnum())
        body = body[:i] + (b"A" if body[i:i + 1] != b"A" else b"B") + body[i + 1:]
    response = gw.post_webhook(SimpleNamespace(headers=delivery.headers, body=body))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"].startswith("webhook_") and error["request_id"]
    assert gw.get(payment["id"])["status"] == "processing"
    assert gw.count(ProviderEvent) == 0
    assert gw.run_provider_event_jobs() == []


def test_stale_signature_is_refused_and_changes_nothing(gw):
    if not gw.harness.signs_timestamp:
        pytest.skip(f"{gw.name} signs no timestamp; a replay is harmless because the event id "
                    "dedupes it and statuses only move forward")
    payment = gw.start_checkout()
    gw.sim.customer_pays(payment["provider_payment_id"])
    response = gw.post_webhook(gw.payment_webhook(payment, age_s=600))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("webhook_signature_invalid", "webhook_stale")
    assert gw.get(payment["id"])["status"] == "processing"
    assert gw.count(ProviderEvent) == 0


def test_duplicate_webhook_is_acknowledged_and_changes_nothing(gw):
    payment = gw.start_checkout()
    gw.sim.customer_pays(payment["provider_payment_id"])
    delivery = gw.payment_webhook(payment)
    first = gw.post_webhook(delivery)
    assert first.status_code == 200 and first.get_json()["duplicate"] is False
    assert gw.run_provider_event_jobs() == ["processed"]
    events_before = gw.count(Event)
    again = gw.post_webhook(delivery)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert gw.run_provider_event_jobs() == []  # nothing enqueued for a duplicate
    assert gw.count(ProviderEvent) == 1
    assert gw.count(Event) == events_before
    with gw.db.transaction() as session:
        row_id = session.scalars(select(ProviderEvent.id)).one()
    assert process_provider_event(gw.db, gw.config, row_id) == "already processed"


def test_late_failure_after_completion_changes_nothing(gw):
    payment = gw.start_checkout()
    if gw.harness.checkout:
        # The customer's first attempt in checkout fails, the second succeeds; the news of
        # the failure arrives last.
        gw.sim.customer_fails(payment["provider_payment_id"], gw.harness.decline_code)
        late_failure = gw.payment_webhook(payment, succeeded=False)
        gw.sim.customer_pays(payment["provider_payment_id"])
        assert gw.deliver(gw.payment_webhook(payment)) == ["processed"]
    else:
        gw.sim.customer_pays(payment["provider_payment_id"])
        assert gw.deliver(gw.payment_webhook(payment)) == ["processed"]
        late_failure = gw.payment_webhook(payment, succeeded=False)
    events_before = gw.events(payment["id"])
    assert gw.deliver(late_failure) == ["ignored"]
    final = gw.get(payment["id"])
    assert (final["status"], final["failure_code"]) == ("completed", None)
    assert gw.events(payment["id"]) == events_before
    with gw.db.transaction() as session:
        row = session.scalars(select(ProviderEvent).where(ProviderEvent.status == "ignored")
                              ).one()
        # A retryable checkout ignores a failed attempt whatever the status; others say why.
        assert ("checkout stays open" if gw.harness.retryable_checkout
                else "completed") in row.result


def test_event_about_a_payment_we_do_not_know_is_stored_and_acknowledged(gw):
    provider = get_provider(gw.name, gw.config)
    request: PaymentRequest = gw.harness.payment_request()  # made at the provider, not by us
    paid = gw.harness.complete(provider, request, provider.create_payment(request))
    assert gw.deliver(gw.harness.payment_webhook(request, paid, succeeded=True)) == ["ignored"]
    with gw.db.transaction() as session:
        row = session.scalars(select(ProviderEvent)).one()
        assert "no payment" in row.result
    assert gw.count(Payment) == 0 and gw.count(Event) == 0


def test_webhook_for_a_provider_we_do_not_have_is_404(gw):
    for name in ("paypal", "sandbox"):
        response = gw.client.post(f"/api/v1/webhooks/{name}", data=b"{}",
                                  headers={"Content-Type": "application/json"})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "resource_missing"


# --- configuration and secrecy -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_provider_without_credentials_is_refused_and_listed_unavailable(client, merchant,
                                                                        name):
    response = client.post("/api/v1/payments", headers=merchant["headers"], json={
        "amount": AMOUNT, "currency": "INR", "provider": name,
        "payment_method": METHODS[name]})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "provider_unavailable"
    ready = client.get("/ready").get_json()
    assert ready["providers"][name].startswith("unavailable")
    assert ready["providers"]["sandbox"] == "available"


def test_no_secret_or_signature_reaches_logs_or_attempts(gw, caplog):
    caplog.set_level(logging.DEBUG)
    for noisy in ("stripe", "urllib3", "razorpay"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    payment = gw.start_checkout()
    gw.sim.customer_pays(payment["provider_payment_id"])
    good = gw.payment_webhook(payment)
    bad = gw.payment_webhook(payment, tamper=True)
    assert gw.post_webhook(bad).status_code == 400
    gw.deliver(good)
    gw.refund(payment["id"])
    gw.sim.fail_next(500)
    gw.process(gw.create()["id"])

    signatures = [value for delivery in (good, bad) for key, value in delivery.headers.items()
                  if "signature" in key.lower() or "verify" in key.lower()
                  or key.lower() == "authorization"]
    assert signatures
    with gw.db.transaction() as session:
        attempts = [json.dumps([a.request, a.response])
                    for a in session.scalars(select(TransactionAttempt))]
    assert len(attempts) >= 4
    texts = [caplog.text, *attempts]
    assert any(payment["id"] in text for text in attempts)
    for secret in gw.harness.secrets + signatures:
        for text in texts:
            assert secret not in text
