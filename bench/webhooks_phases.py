"""Phases 3 (end to end: POST -> signed payment.completed at the receiver) and 4 (webhook
fan-out to slow receivers, with and without an endpoint that never answers)."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bench.loadgen import pct_ms
from bench.receiver import ReceiverProcess, signature_ok
from bench.stack import (
    ROOT,
    Progress,
    Stack,
    http_json,
)

WEBHOOK_THREADS = 32      # docs/operations.md: -Q webhooks -P threads -c 32
WEBHOOK_WORKERS = 2       # two such processes ("scales by more processes")
PER_MERCHANT = 4
WARM_UP_PAYMENTS = 32


def missing() -> str | None:
    if importlib.util.find_spec("worker.webhook_tasks") is None:
        return "merchant webhook delivery (worker/webhook_tasks.py) is not in this tree yet"
    return None




def _create_endpoint(stack: Stack, web, url: str, events: list[str],
                     api_key: str | None = None) -> dict:
    status, body = http_json("POST", web.url + "/api/v1/webhook_endpoints",
                             api_key or stack.api_key,
                             {"url": url, "events": events})
    if status != 201:
        raise RuntimeError(f"creating a webhook endpoint: {status} {body}")
    return body


def _disable_endpoints(stack: Stack) -> None:
    stack.sql("UPDATE webhook_endpoints SET status = 'disabled' WHERE status = 'enabled'")


def _start_webhook_workers(stack: Stack) -> list:
    return [stack.worker("webhooks", WEBHOOK_THREADS, pool="threads")
            for _ in range(WEBHOOK_WORKERS)]


# -- phase 3 ---------------------------------------------------------------------------------
def phase_end_to_end(stack: Stack, rate: int = 100, seconds: int = 60,
                     during=contextlib.nullcontext) -> dict:
    """``during()`` is a context manager entered around the measured load (a diagnostic's
    CPU accounting)."""
    # Phase 2 leaves its backlog's payments behind; the sweeper would re-queue thousands of
    # them ahead of this phase's payments. Start from empty tables.
    stack.sql("TRUNCATE payments, events, webhook_logs, outbox, sandbox_ledger, "
              "transaction_attempts, refunds CASCADE")
    stack.redis_client().flushdb()
    _disable_endpoints(stack)
    receiver = stack.track(ReceiverProcess().start())
    web = stack.gunicorn("api.wsgi:app", "web-e2e")
    procs = [*stack.payment_workers(), *_start_webhook_workers(stack),
             stack.beat()]
    endpoint = _create_endpoint(stack, web, receiver.url("/e2e"), ["payment.completed"])

    def post(_):
        status, _body = http_json("POST", web.url + "/api/v1/payments", stack.api_key,
                                  {"amount": 1000, "currency": "INR",
                                   "payment_method": {"type": "card", "token": "tok_success"}})
        return status == 201

    # Warm-up, not measured: every process has just started (imports, connection pools, the
    # key and subscription caches); a steady rate is about what comes after.
    with ThreadPoolExecutor(8) as pool:
        warm = sum(pool.map(post, range(WARM_UP_PAYMENTS)))
    warm_deadline, warmed = time.monotonic() + 60, 0
    while warmed < warm and time.monotonic() < warm_deadline:
        warmed += sum(1 for rec in receiver.poll() if rec["path"] == "/e2e")
        time.sleep(0.25)

    # The load: an open-loop generator in a process of its own (bench/loadgen.py), on
    # kept-alive connections, each payment's latency counted from when it was due.
    progress = Progress(f"phase 3: {rate}/s for {seconds} s", rate * seconds)
    out = tempfile.mktemp(prefix="gw-loadgen-", suffix=".json")
    with during():
        subprocess.run([sys.executable, "-m", "bench.loadgen", "--url", web.url, "--key",
                        stack.api_key, "--rate", str(rate), "--seconds", str(seconds),
                        "--out", out], cwd=ROOT, check=True, timeout=seconds + 120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    with open(out) as f:
        load = json.load(f)
    os.unlink(out)
    sent, errors, total = load["sent"], load["errors"], load["offered"]
    send_span = load["span_s"]
    arrivals: dict[str, float] = {}
    receiver.records.clear()
    bad_signatures = 0
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        for rec in receiver.poll():
            if not signature_ok(endpoint["secret"], rec):
                bad_signatures += 1
                continue
            event = json.loads(rec["body"])
            if event.get("type") == "payment.completed":
                pid = event["data"]["object"]["id"]
                arrivals.setdefault(pid, rec["at"])
        progress.update(total, f"completed events {len(arrivals)}/{len(sent)}")
        if len(arrivals) >= len(sent):
            break
        time.sleep(0.25)
    progress.finish()
    latencies = [arrivals[p] - sent[p] for p in sent if p in arrivals]
    for proc in [web, receiver, *procs]:
        proc.kill()
    _disable_endpoints(stack)
    return {"title": "End to end: POST -> signed payment.completed at the receiver",
            "rate_target": rate, "seconds": seconds,
            "rate_sent": round(total / send_span, 1),
            "send_lag_p99_ms": load["lag_p99_ms"], "post_p50_ms": load["answer_p50_ms"],
            "post_p99_ms": load["answer_p99_ms"], "connections": load["connections"],
            "accepted": len(sent), "post_errors": len(errors),
            "delivered": len(latencies), "bad_signatures": bad_signatures,
            "p50_ms": pct_ms(latencies, 0.50), "p99_ms": pct_ms(latencies, 0.99),
            "max_ms": pct_ms(latencies, 1.0),
            "mean_ms": round(statistics.mean(latencies) * 1000, 1) if latencies else None}


def phase_rate_sweep(stack: Stack, rates: tuple[int, ...] = (10, 20, 30, 40, 60, 80, 100),
                     seconds: int = 15, p99_limit_ms: float = 1000) -> dict:
    """Phase 3s: the highest steady rate at which every payment's ``payment.completed``
    reaches the receiver with an end-to-end p99 under ``p99_limit_ms``. Rates go up until
    one misses (a payment not delivered within the wait counts as a miss)."""
    steps, best = [], None
    for rate in rates:
        r = phase_end_to_end(stack, rate=rate, seconds=seconds)
        steps.append({k: r[k] for k in ("rate_target", "rate_sent", "accepted", "delivered",
                                        "p50_ms", "p99_ms")})
        if r["delivered"] < r["accepted"] or r["p99_ms"] is None or \
                r["p99_ms"] >= p99_limit_ms:
            break
        best = rate
    return {"title": f"Highest steady rate with end-to-end p99 under {p99_limit_ms:.0f} ms "
                     f"({seconds} s per rate)", "best_rate": best, "steps": steps}


# -- phase 4 ---------------------------------------------------------------------------------
def _fan_out_run(stack: Stack, web, endpoints: int, events_per_endpoint: int,
                 with_dead: bool) -> dict:
    from shared.events.service import record_event
    stack.redis_client().flushdb()
    _disable_endpoints(stack)
    receiver = stack.track(ReceiverProcess(delay_ms=100, hang_prefix="/dead").start())
    # A merchant may have 16 endpoints: each merchant here has PER_MERCHANT of them, and the
    # endpoint that never answers belongs to a merchant of its own.
    from shared.merchants.credentials import create_merchant
    merchants = []
    with stack.db.transaction() as session:
        for m in range(endpoints // PER_MERCHANT + (1 if with_dead else 0)):
            merchant, key = create_merchant(session, f"fanout-{m}")
            merchants.append((merchant.id, key.api_key))
    for i in range(endpoints):
        _create_endpoint(stack, web, receiver.url(f"/slow/{i}"), ["refund.created"],
                         merchants[i // PER_MERCHANT][1])
    if with_dead:
        _create_endpoint(stack, web, receiver.url("/dead/0"), ["refund.created"],
                         merchants[-1][1])
    # The events (and their fan-out jobs) are queued first; the clock starts with the workers.
    import shared.models  # noqa: F401  (the model registry)
    from shared.db import Database
    db = Database(stack.pg.url, pool_size=2, max_overflow=0)
    from shared.broker import make_celery, make_publisher
    from shared.config import Config
    from shared.runtime import build_runtime
    config = Config.from_env(stack.env)
    build_runtime(config, db=db, publish=make_publisher(make_celery(config)))
    for start in range(0, events_per_endpoint, 100):
        with db.transaction() as session:
            for i in range(start, min(events_per_endpoint, start + 100)):
                for merchant_id, _key in merchants:
                    record_event(session, merchant_id, "refund.created",
                                 {"id": f"rfnd_bench{i:08d}", "object": "refund"})
    db.dispose()
    expected = endpoints * events_per_endpoint
    label = "phase 4: fan-out" + (" + dead endpoint" if with_dead else "")
    progress = Progress(label, expected)
    workers = _start_webhook_workers(stack)
    beat = stack.beat()
    t0 = time.monotonic()
    seen: set[tuple[str, str]] = set()
    first = last = None
    deadline = t0 + 45
    while len(seen) < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        for rec in receiver.poll():
            if rec["path"].startswith("/slow/"):
                seen.add((rec["path"], rec["id"]))
                first = rec["at"] if first is None else min(first, rec["at"])
                last = rec["at"] if last is None else max(last, rec["at"])
        progress.update(len(seen), f"{len(seen)}/{expected}")
    progress.finish()
    for proc in [*workers, beat, receiver]:
        proc.kill()
    span = (last - t0) if last else None
    return {"delivered": len(seen), "expected": expected,
            "seconds": round(span, 2) if span else None,
            "per_s": round(len(seen) / span, 1) if span else None}


def phase_fan_out(stack: Stack, endpoints: int = 20, events_per_endpoint: int = 250,
                  pairs: int = 3) -> dict:
    """Deliveries per second with and without an endpoint that never answers. The two kinds of
    run alternate (A B A B ...) so that drift on a shared machine hits both, and the figures
    are their medians: one run of each, ~10 s, moved the drop between -21 % and +25 % from
    one ``make bench`` to the next on the same code (2026-12-07)."""
    web = stack.gunicorn("api.wsgi:app", "web-fanout")
    runs: dict[str, list[dict]] = {"plain": [], "with_dead": []}
    try:
        for _ in range(pairs):
            for kind in runs:
                runs[kind].append(_fan_out_run(stack, web, endpoints, events_per_endpoint,
                                               with_dead=kind == "with_dead"))
    finally:
        web.kill()
        _disable_endpoints(stack)
    plain, dead = (round(statistics.median([r["per_s"] or 0.0 for r in runs[kind]]), 1)
                   for kind in ("plain", "with_dead"))
    drop = (1 - dead / plain) if plain and dead else None
    return {"title": "Webhook fan-out to receivers answering in 100 ms",
            "setup": f"{endpoints} endpoints x {events_per_endpoint} events; "
                     f"{WEBHOOK_WORKERS} webhooks workers -P threads -c {WEBHOOK_THREADS}; "
                     f"{pairs} runs of each kind, alternating; medians",
            "deliveries_per_s": plain, "with_dead_endpoint_per_s": dead,
            "drop_pct": round(drop * 100, 1) if drop is not None else None,
            "runs": runs}


# -- phase 4i: one merchant's hanging endpoints vs another merchant --------------------------
def _isolation_run(stack: Stack, web, merchant_cap: int, seconds: float = 20) -> dict:
    from shared.broker import make_celery, make_publisher
    from shared.config import Config
    from shared.db import Database
    from shared.events.service import record_event
    from shared.merchants.credentials import create_merchant
    from shared.outbox import OutboxRelay
    # Each run starts from empty delivery tables: the run before leaves hundreds of attempts
    # to endpoints that are now disabled, and their re-offers would be measured here.
    stack.sql("TRUNCATE events, webhook_logs, outbox CASCADE")
    stack.redis_client().flushdb()
    _disable_endpoints(stack)
    receiver = stack.track(ReceiverProcess(delay_ms=100, hang_prefix="/dead").start())
    with stack.db.transaction() as session:
        (hung, hung_key), (calm, calm_key) = [
            (m.id, k.api_key) for m, k in (create_merchant(session, f"iso-{name}-{merchant_cap}")
                                           for name in ("hung", "calm"))]
    for i in range(16):
        _create_endpoint(stack, web, receiver.url(f"/dead/{i}"), ["refund.created"], hung_key)
    _create_endpoint(stack, web, receiver.url("/slow/calm"), ["refund.created"], calm_key)
    env = {"WEBHOOK_MAX_IN_FLIGHT_PER_MERCHANT": str(merchant_cap)}
    workers = [stack.worker("webhooks", WEBHOOK_THREADS, pool="threads", env=env)
               for _ in range(WEBHOOK_WORKERS)]
    beat = stack.beat()
    db = Database(stack.pg.url, pool_size=2, max_overflow=0)
    db.outbox_relay = OutboxRelay(db, make_publisher(make_celery(Config.from_env(stack.env))))
    with db.transaction() as session:  # 16 x 20 deliveries that never answer
        for i in range(20):
            record_event(session, hung, "refund.created", {"id": f"rfnd_hung{i:04d}"})
    sent: dict[str, float] = {}
    t_end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < t_end:
        with db.transaction() as session:
            event = record_event(session, calm, "refund.created", {"id": f"rfnd_calm{i:04d}"})
        sent[event.id] = time.monotonic()  # the receiver stamps with the same clock
        i += 1
        time.sleep(0.1)
    arrivals: dict[str, float] = {}
    deadline = time.monotonic() + 15
    while len(arrivals) < len(sent) and time.monotonic() < deadline:
        for rec in receiver.poll():
            if rec["path"] == "/slow/calm":
                arrivals.setdefault(rec["id"], rec["at"])
        time.sleep(0.25)
    db.dispose()
    for proc in [*workers, beat, receiver]:
        proc.kill()
    latencies = [arrivals[e] - sent[e] for e in sent if e in arrivals]
    started = min(sent.values())
    slowest = sorted(((arrivals[e] - sent[e], sent[e] - started) for e in sent if e in arrivals),
                     reverse=True)[:5]
    return {"merchant_cap": merchant_cap, "sent": len(sent), "delivered": len(latencies),
            "p50_ms": pct_ms(latencies, 0.50), "p99_ms": pct_ms(latencies, 0.99),
            # (latency ms, sent at s into the run): when the slow deliveries were offered
            "slowest": [[round(lat * 1000), round(at, 1)] for lat, at in slowest]}


def phase_isolation(stack: Stack) -> dict:
    web = stack.gunicorn("api.wsgi:app", "web-isolation")
    try:
        runs = [_isolation_run(stack, web, cap) for cap in (0, 16, 0, 16)]
    finally:
        web.kill()
        _disable_endpoints(stack)
    return {"title": "Another merchant's deliveries while one merchant has 16 hanging endpoints",
            "setup": f"16 x 20 hanging deliveries queued first, then 10 events/s for 20 s to "
                     f"the other merchant's 100 ms endpoint; {WEBHOOK_WORKERS} webhooks "
                     f"workers -P threads -c {WEBHOOK_THREADS}; paired: merchant cap 0 "
                     "(none) / 16", "runs": runs}
