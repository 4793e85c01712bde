"""The faults test_survival.py does not cover, small and fast (the long version is `make chaos`):
PostgreSQL restarting and the web process killed with SIGKILL while payments are created and
processed. After each: every payment reaches a final status, the sandbox charged each at most
once, and each payment.completed reached the merchant's endpoint at least once."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from sqlalchemy import func, select

from shared.payments.models import Payment
from shared.providers.models import SandboxCharge
from tests.factories import create_payment, create_webhook_endpoint, payment_body
from tests.harness.processes import ROOT, wait_for
from tests.harness.services import free_port, wait_for_port

FAST_RECOVERY = {"STUCK_PENDING_AFTER_S": "1", "RECONCILE_AFTER_S": "2",
                 "SWEEP_INTERVAL_S": "1", "OUTBOX_RELAY_AFTER_S": "1"}
FINAL = {"completed", "failed", "canceled"}


def all_payments(db) -> dict[str, str]:
    with db.transaction() as session:
        return dict(session.execute(select(Payment.id, Payment.status)).all())


def charges(db) -> dict[str, int]:
    with db.transaction() as session:
        return dict(session.execute(select(SandboxCharge.reference, func.count())
                                    .where(SandboxCharge.kind == "charge")
                                    .group_by(SandboxCharge.reference)).all())


def completed_ids_received(receiver) -> set[str]:
    ids = set()
    for request in list(receiver.requests):
        event = request.event
        if event.get("type") == "payment.completed":
            ids.add(event["data"]["object"]["id"])
    return ids


def subscribe(client, merchant, receiver) -> None:
    create_webhook_endpoint(client, merchant["headers"], url=receiver.url)


def assert_everything_settles(db, receiver, accepted: set[str]) -> None:
    wait_for(lambda: set(all_payments(db).values()) <= FINAL, 45,
             message="every payment to reach a final status")
    statuses = all_payments(db)
    assert accepted <= set(statuses), "an accepted payment is missing"
    assert max(charges(db).values()) == 1
    completed = {pid for pid, status in statuses.items() if status == "completed"}
    wait_for(lambda: completed <= completed_ids_received(receiver), 45,
             message="every payment.completed to reach the receiver")


def test_postgres_restart_while_payments_flow(live_client, merchant, db, postgres,
                                              start_worker, start_beat, make_receiver):
    receiver = make_receiver()
    subscribe(live_client, merchant, receiver)
    start_worker(concurrency=2, SANDBOX_LATENCY_MS="100", **FAST_RECOVERY)
    start_worker("webhooks", 8, "threads", **FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)
    accepted = set()
    for _ in range(10):
        accepted.add(create_payment(live_client, merchant["headers"], amount=1000)["id"])

    postgres.restart()

    # The API's pooled connections died with the server; new requests must still work.
    for _ in range(10):
        accepted.add(create_payment(live_client, merchant["headers"], amount=1000)["id"])
    assert_everything_settles(db, receiver, accepted)


class Web:
    """gunicorn serving the API as its own process group, so it can be killed like production
    loses a host."""

    def __init__(self, env: dict) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.proc = None

    def start(self) -> Web:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
             "-b", f"127.0.0.1:{self.port}", "api.wsgi:app"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port, 30)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def post_payment(port: int, api_key: str) -> str | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/payments",
        data=json.dumps(payment_body(amount=1000)).encode(),
        method="POST", headers={"Content-Type": "application/json",
                                "Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())["id"] if response.status == 201 else None
    except (OSError, http.client.HTTPException):
        return None  # killed mid-request: not accepted (the client would retry)


def test_web_killed_mid_request_loses_and_doubles_nothing(
        live_client, merchant, db, base_env, start_worker, start_beat, make_receiver):
    receiver = make_receiver()
    subscribe(live_client, merchant, receiver)
    start_worker(concurrency=2, **FAST_RECOVERY)
    start_worker("webhooks", 8, "threads", **FAST_RECOVERY)
    start_beat(**FAST_RECOVERY)
    web = Web({**base_env, **FAST_RECOVERY}).start()
    accepted: set[str] = set()
    stop = threading.Event()
    lock = threading.Lock()
    ports = [web.port]

    def client_loop():
        # The clients stop when the test says so; the deadline is only a guard against a
        # test that never does (a restart on a loaded machine can take many seconds).
        deadline = time.monotonic() + 90
        while not stop.is_set() and time.monotonic() < deadline:
            pid = post_payment(ports[0], merchant["api_key"])
            if pid:
                with lock:
                    accepted.add(pid)

    clients = [threading.Thread(target=client_loop) for _ in range(4)]
    try:
        for thread in clients:
            thread.start()
        wait_for(lambda: len(accepted) >= 10, 20, message="payments to flow")
        web.kill()  # SIGKILL to master and workers, requests in flight included
        web = Web({**base_env, **FAST_RECOVERY}).start()
        ports[0] = web.port
        before = len(accepted)
        wait_for(lambda: len(accepted) >= before + 10, 45, message="payments after restart")
    finally:
        stop.set()
        for thread in clients:
            thread.join(10)
        web.kill()
    assert_everything_settles(db, receiver, accepted)
