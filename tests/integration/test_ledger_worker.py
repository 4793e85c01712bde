"""The ledger with real Celery processes: the worker posts as it completes payments, the
periodic tasks release settled money and pay out daily, the payout job pays at the sandbox
bank, and a worker killed mid-way leaves the ledger balanced."""
from __future__ import annotations

import signal

from sqlalchemy import select

from shared.ledger.models import Payout
from shared.payments.models import Payment
from shared.reporting.check import check
from tests.factories import create_payment
from tests.harness.processes import wait_for

FAST = {"STUCK_PENDING_AFTER_S": "1", "RECONCILE_AFTER_S": "2", "SWEEP_INTERVAL_S": "1",
        "OUTBOX_RELAY_AFTER_S": "1", "SETTLEMENT_DELAY_S": "0", "PAYOUT_SCHEDULE": "daily"}


def statuses(db, model) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(model.status)))


def test_workers_post_release_and_pay_out_and_the_ledger_balances(
        live_client, merchant, db, config, start_worker, start_beat):
    from shared.broker import make_celery, make_publisher
    publish = make_publisher(make_celery(config))
    h = merchant["headers"]
    victim = start_worker(concurrency=2, SANDBOX_LATENCY_MS="300", **FAST)
    for amount in (10_000, 20_000, 30_000, 40_000):
        create_payment(live_client, h, amount=amount)
    wait_for(lambda: "processing" in statuses(db, Payment), 20, message="a payment in flight")
    victim.kill(signal.SIGKILL)
    start_worker(concurrency=2, **FAST)
    start_beat(**FAST)
    wait_for(lambda: statuses(db, Payment) == ["completed"] * 4, 60,
             message="every payment completed")
    # SETTLEMENT_DELAY_S=0: available at once. Beat sends these hourly and every minute;
    # here they are sent now, twice (a duplicate delivery), through the real broker.
    for task in ("gateway.release_available_balance", "gateway.daily_payouts") * 2:
        publish(task, [], "maintenance")
    wait_for(lambda: statuses(db, Payout) == ["paid"], 60, message="the daily payout paid")
    body = live_client.get("/api/v1/balance", headers=h).get_json()
    assert body["available"] == [{"currency": "INR", "amount": 0}]
    (payout,) = live_client.get("/api/v1/payouts",
                                headers=merchant["owner_headers"]).get_json()["data"]
    assert (payout["amount"], payout["method"]) == (98_000, "automatic")
    assert check(db) == []
