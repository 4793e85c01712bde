"""SPEC "Protection": risk rules, evaluated by the worker before any provider call."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from shared.payments.models import Payment
from shared.payments.processing import process_payment
from shared.providers.models import SandboxCharge, TransactionAttempt
from shared.webhooks.models import Event
from tests.factories import create_payment, create_webhook_endpoint

EMAIL = "Buyer@Example.com"


def create(client, merchant, *, token="tok_success", email=None, ip=None, vpa=None,
           amount=1000, currency="INR"):
    method = {"type": "upi", "vpa": vpa} if vpa else {"type": "card", "token": token}
    customer = {k: v for k, v in (("email", email), ("ip", ip)) if v}
    return create_payment(client, merchant["headers"], amount=amount, currency=currency,
                          payment_method=method, customer=customer or None)["id"]


def run(db, config, payment_id):
    outcome = process_payment(db, config, payment_id)
    with db.transaction() as session:
        payment = session.get(Payment, payment_id)
        charges = session.scalars(select(SandboxCharge).where(
            SandboxCharge.reference == payment_id)).all()
        calls = session.scalars(select(TransactionAttempt).where(
            TransactionAttempt.payment_id == payment_id)).all()
        return outcome, payment.status, payment.failure_code, payment.risk, len(charges) + \
            len(calls)


def blocklist(client, merchant, kind, value):
    response = client.post("/api/v1/risk/blocklist", headers=merchant["owner_headers"],
                           json={"type": kind, "value": value})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_an_ordinary_payment_is_allowed_and_says_so(client, merchant, db, config):
    pid = create(client, merchant, email=EMAIL, ip="203.0.113.9")
    outcome, status, code, risk, provider_calls = run(db, config, pid)
    assert (status, code) == ("completed", None)
    assert risk == {"decision": "allow", "rules": []}
    assert provider_calls >= 1
    shown = client.get(f"/api/v1/payments/{pid}", headers=merchant["headers"]).get_json()
    assert shown["risk"] == {"decision": "allow", "rules": []}


@pytest.mark.parametrize("kind,listed,kwargs", [
    ("email", "buyer@example.com", {"email": EMAIL}),
    ("ip", "2001:db8::1", {"ip": "2001:0db8:0000::0001"}),
    ("card_token", "tok_success", {"token": "tok_success"}),
    ("vpa", "Success@Sandbox", {"vpa": "success@sandbox"}),
])
def test_a_blocklisted_value_blocks_without_touching_the_provider(client, merchant, db, config,
                                                                  kind, listed, kwargs):
    blocklist(client, merchant, kind, listed)
    pid = create(client, merchant, **kwargs)
    outcome, status, code, risk, provider_calls = run(db, config, pid)
    assert (outcome, status, code) == ("failed risk_blocked", "failed", "risk_blocked")
    assert risk == {"decision": "block", "rules": [f"blocklist:{kind}"]}
    assert provider_calls == 0
    with db.transaction() as session:
        failed = session.scalars(select(Event).where(Event.type == "payment.failed",
                                                     Event.object_id == pid)).one()
    assert failed.data["object"]["failure_code"] == "risk_blocked"
    assert failed.data["object"]["risk"]["decision"] == "block"


def test_another_merchants_blocklist_does_not_apply(client, make_merchant, db, config):
    acme, other = make_merchant("Acme"), make_merchant("Other")
    blocklist(client, other, "email", EMAIL)
    pid = create(client, acme, email=EMAIL)
    assert run(db, config, pid)[1] == "completed"


def test_amount_limit_allows_exactly_the_limit_and_blocks_one_more(client, merchant, db,
                                                                  config):
    response = client.patch("/api/v1/risk/settings", headers=merchant["owner_headers"],
                            json={"amount_limits": {"INR": 5000}})
    assert response.status_code == 200
    assert response.get_json()["amount_limits"] == {"INR": 5000}
    at_limit = create(client, merchant, amount=5000)
    over = create(client, merchant, amount=5001)
    other_currency = create(client, merchant, amount=999_999, currency="USD")
    assert run(db, config, at_limit)[1] == "completed"
    assert run(db, config, over)[1:4] == ("failed", "risk_blocked",
                                          {"decision": "block", "rules": ["amount_limit"]})
    assert run(db, config, other_currency)[1] == "completed"


@pytest.mark.parametrize("kind,kwargs", [
    ("email", {"email": EMAIL, "token": None}),
    ("ip", {"ip": "198.51.100.7", "token": None}),
    ("card_token", {"token": "tok_success"}),
    ("vpa", {"vpa": "success@sandbox"}),
])
def test_velocity_allows_n_and_blocks_n_plus_one(client, merchant, db, config, kind, kwargs):
    cfg = config.with_overrides(risk_velocity=3)
    outcomes = []
    for i in range(4):
        args = dict(kwargs)
        if args.get("token", "") is None:
            args["token"] = f"tok_success_{i}"  # only the signal under test repeats
        pid = create(client, merchant, **{k: v for k, v in args.items() if v is not None})
        outcomes.append(run(db, cfg, pid))
    assert [o[1] for o in outcomes] == ["completed", "completed", "completed", "failed"]
    assert outcomes[3][3] == {"decision": "block", "rules": [f"velocity:{kind}"]}
    assert outcomes[3][4] == 0


def test_velocity_counts_only_inside_the_window(client, merchant, db, config):
    from datetime import timedelta

    from sqlalchemy import update

    from shared.db import utcnow
    from shared.risk.models import VelocityHit
    cfg = config.with_overrides(risk_velocity=2)
    for _ in range(2):
        assert run(db, cfg, create(client, merchant, email=EMAIL))[1] == "completed"
    with db.transaction() as session:  # those two are now 11 minutes old
        session.execute(update(VelocityHit).values(
            created_at=utcnow() - timedelta(minutes=11)))
    assert run(db, cfg, create(client, merchant, email=EMAIL))[1] == "completed"


def test_a_redelivered_job_keeps_its_decision_and_counts_once(client, merchant, db, config):
    from sqlalchemy import func

    from shared.risk.models import VelocityHit
    cfg = config.with_overrides(risk_velocity=1)
    pid = create(client, merchant, email=EMAIL)
    assert run(db, cfg, pid)[:2] == ("completed", "completed")
    assert run(db, cfg, pid)[0] == "already completed"
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(VelocityHit).where(
            VelocityHit.payment_id == pid)) == 2  # email and card token, once each


def test_concurrent_payments_racing_a_velocity_limit_let_exactly_n_through(
        client, merchant, db, config):
    limit, total = 4, 12
    cfg = config.with_overrides(risk_velocity=limit)
    ids = [create(client, merchant, email=EMAIL, token=f"tok_success_{i}")
           for i in range(total)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda pid: process_payment(db, cfg, pid), ids))
    with db.transaction() as session:
        rows = session.scalars(select(Payment).where(Payment.id.in_(ids))).all()
        charged = session.scalars(select(SandboxCharge.reference).where(
            SandboxCharge.reference.in_(ids))).all()
    statuses = sorted(p.status for p in rows)
    assert statuses.count("completed") == limit
    assert statuses.count("failed") == total - limit
    blocked = {p.id for p in rows if p.failure_code == "risk_blocked"}
    assert len(blocked) == total - limit and not blocked & set(charged)


def test_a_blocked_payment_reaches_the_merchant_as_payment_failed(
        live_client, merchant, start_worker, make_receiver, db):
    from tests.harness.processes import wait_for
    start_worker(queues="payments,maintenance", concurrency=1)
    start_worker(queues="webhooks", pool="threads", concurrency=4)
    receiver = make_receiver()
    create_webhook_endpoint(live_client, merchant["headers"], url=receiver.url,
                            events=["payment.failed"])
    blocklist(live_client, merchant, "email", EMAIL)
    pid = create(live_client, merchant, email=EMAIL)
    delivery = wait_for(lambda: receiver.received() or None, 30,
                        message="payment.failed at the receiver")[0]
    event = delivery.event
    assert event["type"] == "payment.failed"
    payment = event["data"]["object"]
    assert payment["id"] == pid and payment["failure_code"] == "risk_blocked"
    assert payment["risk"] == {"decision": "block", "rules": ["blocklist:email"]}
    assert run(db, None, pid)[4] == 0  # already failed: never charged, never called


def test_defaults_are_ten_payments_in_ten_minutes_and_zero_turns_velocity_off(
        client, merchant, db, config):
    from shared.config import Config
    defaults = Config.from_env({})
    assert (defaults.risk_velocity, defaults.risk_velocity_window_s) == (10, 600)
    off = config.with_overrides(risk_velocity=0)
    for _ in range(3):
        assert run(db, off, create(client, merchant, email=EMAIL))[1] == "completed"


def test_velocity_counts_are_exact_when_workers_race(db, merchant):
    import threading
    import time

    from shared.risk import velocity
    racers = 8
    barrier = threading.Barrier(racers)
    counts: list[int] = []

    def one(i: int) -> None:
        with db.transaction() as session:
            barrier.wait()
            seen = velocity.count_and_record(session, merchant["merchant_id"], f"pay_race{i}",
                                             {"email": "racer@example.com"}, 600)
            time.sleep(0.05)  # hold the transaction open as a slow claim would
            counts.append(seen["email"])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, racers + 1))
