"""``make chaos``: faults injected while payments flow at a steady rate, on loopback.

For each fault (kill -9 a worker, repeatedly; stop Redis for 20 s; restart PostgreSQL; kill -9
the web process) payments are posted at a steady rate with an Idempotency-Key each (a client
retries a failed request with the same key, as a merchant integration would), every fifth
completed payment is refunded, and afterwards the run waits until everything settled:
every accepted payment final, each charged and each refund made at most once in the
sandbox's ledger, every event at the subscribed receiver (deduplicated by webhook-id), no
webhook_log pending past its schedule. Bounded in time; every process it starts is ended.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

from bench.ledger_chaos import ledger_problems
from bench.receiver import ReceiverProcess
from bench.stack import (
    OUT_DIR,
    PAYMENT_WORKER_CONCURRENCY,
    PAYMENT_WORKER_POOL,
    PAYMENT_WORKERS,
    Gunicorn,
    Stack,
    http_json,
)

RATE = 20                 # payments per second
FLOW_BEFORE_S = 4
FLOW_AFTER_S = 8
SETTLE_TIMEOUT_S = 75
FAST = {"STUCK_PENDING_AFTER_S": "3", "RECONCILE_AFTER_S": "3", "SWEEP_INTERVAL_S": "1",
        "OUTBOX_RELAY_AFTER_S": "1", "WEBHOOK_RETRY_SCHEDULE": "1,2,4,8,8,8,8",
        "WEBHOOK_TIMEOUT_S": "5", "SANDBOX_LATENCY_MS": "20"}


class Flow:
    """Posts payments at RATE/s from a few threads; retries with the same Idempotency-Key."""

    def __init__(self, stack: Stack, web_url) -> None:
        self.stack, self.web_url = stack, web_url
        self.accepted: set[str] = set()
        self.refunds: set[str] = set()
        self.given_up = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _post_one(self) -> None:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            status, body = _post(self.web_url(), "/api/v1/payments", self.stack.api_key, key,
                                 {"amount": 1000, "currency": "INR",
                                  "payment_method": {"type": "card", "token": "tok_success"}})
            if status == 201:
                with self.lock:
                    self.accepted.add(body["id"])
                return
            time.sleep(0.5)  # down, 5xx or 409 (key in flight): retry with the same key
        with self.lock:
            self.given_up += 1

    def _posting(self, share: float) -> None:
        interval = 1.0 / share
        nxt = time.monotonic()
        while not self.stop.is_set():
            self._post_one()
            nxt += interval
            time.sleep(max(0.0, nxt - time.monotonic()))

    def _refunding(self) -> None:
        seen: set[str] = set()
        while not self.stop.is_set():
            time.sleep(1)
            try:
                rows = self.stack.sql("SELECT id FROM payments WHERE status = 'completed' "
                                      "ORDER BY id DESC LIMIT 50")
            except Exception:
                continue
            for (pid,) in rows:
                if pid in seen or hash(pid) % 5:
                    continue
                seen.add(pid)
                status, body = _post(self.web_url(), "/api/v1/refunds", self.stack.api_key,
                                     "rf-" + pid, {"payment_id": pid})
                if status == 201:
                    with self.lock:
                        self.refunds.add(body["id"])

    def start(self) -> Flow:
        senders = 4
        self.threads = [threading.Thread(target=self._posting, args=(RATE / senders,),
                                         daemon=True) for _ in range(senders)]
        self.threads.append(threading.Thread(target=self._refunding, daemon=True))
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(45)


def _post(base: str, path: str, key: str, idem: str, body: dict) -> tuple[int, dict]:
    import urllib.request
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {key}",
                                          "Idempotency-Key": idem})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except Exception:
        return 0, {}


def _check(stack: Stack, receiver: ReceiverProcess, flow: Flow, since: str) -> dict:
    receiver.poll()
    received = {r["id"] for r in receiver.records}
    accepted = sorted(flow.accepted)
    rows = dict(stack.sql("SELECT id, status FROM payments WHERE id = ANY(:ids)", ids=accepted)
                ) if accepted else {}
    final = {"completed", "failed", "canceled", "refunded", "partially_refunded"}
    lost = sum(1 for p in accepted if rows.get(p) not in final)
    double = stack.scalar("SELECT count(*) FROM (SELECT reference FROM sandbox_ledger "
                          "GROUP BY kind, reference HAVING count(*) > 1) t")
    refunds_open = stack.scalar("SELECT count(*) FROM refunds WHERE status NOT IN "
                                "('completed', 'failed')")
    events = [e for (e,) in stack.sql("SELECT id FROM events WHERE merchant_id = :m AND "
                                      "type <> 'ping' AND id >= :since",
                                      m=stack.merchant_id, since=since)]
    undelivered = [e for e in events if e not in received]
    no_log = stack.scalar("SELECT count(*) FROM events e WHERE e.id = ANY(:ids) AND NOT EXISTS "
                          "(SELECT 1 FROM webhook_logs w WHERE w.event_id = e.id)",
                          ids=undelivered) if undelivered else 0
    overdue = stack.scalar("SELECT count(*) FROM webhook_logs WHERE status IN "
                           "('pending', 'retrying') AND next_retry_at < now() - "
                           "interval '20 seconds'")
    return {"accepted": len(accepted), "lost": lost, "double_charged": double,
            "refunds": len(flow.refunds), "refunds_open": refunds_open,
            "events": len(events), "undelivered": len(undelivered),
            "undelivered_without_log": no_log, "overdue_logs": overdue,
            "gave_up": flow.given_up, "ledger_problems": len(ledger_problems(stack))}


def _settled(c: dict) -> bool:
    return not (c["lost"] or c["double_charged"] or c["undelivered"] or c["overdue_logs"]
                or c["refunds_open"] or c["ledger_problems"])


def main() -> int:
    started = time.monotonic()
    date = datetime.now(UTC).isoformat(timespec="seconds")
    import os
    print(f"chaos: {date}, {os.cpu_count()} cores; {RATE} payments/s; loopback only",
          file=sys.stderr)
    stack = Stack(FAST)
    rows = []
    try:
        receiver = stack.track(ReceiverProcess().start())
        web = stack.gunicorn("api.wsgi:app", "web")
        state = {"web": web}
        status, endpoint = http_json("POST", web.url + "/api/v1/webhook_endpoints",
                                     stack.api_key, {"url": receiver.url("/chaos"),
                                                     "events": ["*"]})
        assert status == 201, endpoint
        def payments_worker():
            return stack.worker("payments,refunds,maintenance", PAYMENT_WORKER_CONCURRENCY,
                                pool=PAYMENT_WORKER_POOL)
        payment_roles = [f"payments-{i + 1}" for i in range(PAYMENT_WORKERS)]
        starters = {**{role: payments_worker for role in payment_roles},
                    "webhooks": lambda: stack.worker("webhooks", 16, pool="threads"),
                    "beat": stack.beat}
        workers = {role: start() for role, start in starters.items()}
        restarts: dict[str, int] = {}
        lock = threading.Lock()
        done = threading.Event()

        def supervise():
            # What systemd's Restart=always or a Procfile runner does: a Celery worker exits
            # ("Unrecoverable error") when Redis goes away under it, and is started again.
            while not done.wait(1):
                with lock:
                    for role, proc in list(workers.items()):
                        if proc.proc is not None and proc.proc.poll() is not None:
                            restarts[role] = restarts.get(role, 0) + 1
                            try:
                                workers[role] = starters[role]()
                            except Exception as exc:
                                print(f"  supervisor: {role} failed to start: {exc}",
                                      file=sys.stderr)

        threading.Thread(target=supervise, daemon=True).start()

        def kill_workers():
            for role in (*payment_roles, payment_roles[0], "webhooks"):
                with lock:
                    workers[role].kill(signal.SIGKILL)
                    time.sleep(1)
                    workers[role] = starters[role]()
                time.sleep(2)

        def stop_redis():
            stack.redis.stop()
            time.sleep(20)
            stack.redis.start_on_same_port()

        def restart_postgres():
            stack.pg.restart()

        def kill_web():
            old = state["web"]
            old.kill(signal.SIGKILL)
            fresh = Gunicorn(old.app, {k: v for k, v in stack.env.items()}, "web")
            fresh.port = old.port
            state["web"] = stack.track(fresh).start()

        faults = [("kill -9 each payments worker, one again, the webhooks one",
                   kill_workers),
                  ("stop Redis 20 s", stop_redis), ("restart PostgreSQL", restart_postgres),
                  ("kill -9 web", kill_web)]
        for name, inject in faults:
            since = "evt_" + _ulid_floor()
            flow = Flow(stack, lambda: state["web"].url).start()
            time.sleep(FLOW_BEFORE_S)
            print(f"  fault: {name} ...", file=sys.stderr, flush=True)
            inject()
            restored = time.monotonic()
            time.sleep(FLOW_AFTER_S)
            flow.finish()
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while True:
                try:
                    check = _check(stack, receiver, flow, since)
                except Exception as exc:
                    check = {"error": type(exc).__name__}
                if "error" not in check and _settled(check):
                    recover = round(time.monotonic() - restored, 1)
                    break
                if time.monotonic() > deadline:
                    recover = None
                    break
                waited = time.monotonic() - restored
                if int(waited) % 5 == 0:
                    print(f"    settling {waited:5.1f}s {check}"[:200], file=sys.stderr)
                time.sleep(1)
            with lock:
                check["supervisor_restarts"] = dict(restarts)
                restarts.clear()
            rows.append({"fault": name, **check, "recover_s": recover})
        done.set()
    finally:
        stack.close()
    lines = [f"# Chaos — {date}", "",
             f"Machine: {os.cpu_count()} cores, shared; loopback. {RATE} payments/s with "
             "Idempotency-Key, every fifth completed payment refunded. Recovery = from the "
             f"service being back until every check passed (limit {SETTLE_TIMEOUT_S} s).", "",
             "| fault | payments accepted | lost | double-charged | refunds | events | "
             "events undelivered (no log) | logs overdue | time to recover s | "
             "processes restarted | requests given up |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['fault']} | {r.get('accepted')} | {r.get('lost')} | "
                     f"{r.get('double_charged')} | {r.get('refunds')} | {r.get('events')} | "
                     f"{r.get('undelivered')} ({r.get('undelivered_without_log')}) | "
                     f"{r.get('overdue_logs')} | "
                     f"{r['recover_s'] if r['recover_s'] is not None else 'NOT RECOVERED'} | "
                     f"{r.get('supervisor_restarts') or '-'} | {r.get('gave_up')} |")
    text = "\n".join(lines) + "\n"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "chaos.json").write_text(json.dumps({"date": date, "rows": rows}, indent=1))
    (OUT_DIR / "chaos.md").write_text(text)
    print(text)
    print(f"(took {time.monotonic() - started:.0f} s; written to {OUT_DIR}/chaos.md)")
    ok = all(r["recover_s"] is not None and _settled(r) for r in rows)
    return 0 if ok else 1


def _ulid_floor() -> str:
    from shared.ids import _encode
    return _encode(int(time.time() * 1000) - 1000, 10)


if __name__ == "__main__":
    sys.exit(main())
