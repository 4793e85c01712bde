"""Diagnostic (not part of ``make bench``): how fast a backlog to ONE fast endpoint drains.

``python -m bench.diag_drain [N] [--spy]``: posts N payments with no payments worker (each
writes a payment.created event and its webhook_log), then starts the webhooks worker as
``make chaos`` runs it (-P threads -c 16) and times the drain to a receiver that answers at
once. With ``--spy`` py-spy records the worker (var/bench/drain.txt, collapsed stacks).
``--fine`` prints the drain's progress every 0.5 s (delivered, queue depth).
``--inproc`` times one hand-over chain step by step in this process instead (``--log-statements``
keeps PostgreSQL's statement log and auto_explain plans); ``--explain`` prints the hand-over
statement's plan half way through a backlog. A backlog to one endpoint is the tail of every
``make chaos`` recovery: the events written while a fault lasted.
"""
from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.receiver import ReceiverProcess
from bench.stack import OUT_DIR, Stack, http_json, py_spy


def main() -> int:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "2000"))
    spy = "--spy" in sys.argv
    stack = Stack({"SWEEP_INTERVAL_S": "1", "OUTBOX_RELAY_AFTER_S": "1"})
    try:
        receiver = stack.track(ReceiverProcess().start())
        web = stack.gunicorn("api.wsgi:app", "web")
        status, _ = http_json("POST", web.url + "/api/v1/webhook_endpoints", stack.api_key,
                              {"url": receiver.url("/drain"), "events": ["*"]})
        assert status == 201

        def post(_):
            http_json("POST", web.url + "/api/v1/payments", stack.api_key,
                      {"amount": 1000, "currency": "INR",
                       "payment_method": {"type": "card", "token": "tok_success"}})
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(post, range(n)))
        time.sleep(2)  # the outbox relay publishes the last of them
        logs = stack.scalar("SELECT count(*) FROM webhook_logs")
        if "--explain" in sys.argv:
            return _explain(stack)
        if "--busy" in sys.argv:
            return _busy_claims(stack)
        if "--inproc" in sys.argv:
            return _in_process(stack)
        beat = stack.beat()
        worker = stack.worker("webhooks", 16, pool="threads")
        t0 = time.monotonic()
        recorder = None
        if spy:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            recorder = py_spy(worker.proc.pid, 15, OUT_DIR / "drain.txt", rate=50)
        seen: set[str] = set()
        marks = []
        broker = stack.redis_client()
        while len(seen) < logs and time.monotonic() - t0 < 120:
            for rec in receiver.poll():
                seen.add(rec["id"])
            marks.append((round(time.monotonic() - t0, 1), len(seen), broker.llen("webhooks")))
            time.sleep(0.5)
        span = time.monotonic() - t0
        if recorder:
            recorder.wait(60)
        outcomes = stack.sql("SELECT status, count(*) FROM webhook_logs GROUP BY status")
        print(f"drain: {len(seen)}/{logs} delivered in {span:.1f} s = {len(seen) / span:.1f}/s;"
              f" logs by status {dict(outcomes)}")
        print("progress:", marks[::1 if "--fine" in sys.argv else 4])
        beat.kill()
        return 0
    finally:
        stack.close()


def _explain(stack: Stack) -> int:
    from datetime import timedelta

    from shared.db import utcnow
    from shared.webhooks import delivery
    now = utcnow()
    lease = now + timedelta(seconds=30)
    # Mid-drain: the older half already answered (one UPDATE each, as the drain does them).
    for (done,) in stack.sql("SELECT id FROM webhook_logs ORDER BY id LIMIT 1000"):
        stack.sql("UPDATE webhook_logs SET status = 'succeeded' WHERE id = :id", id=done)
    first = stack.scalar("SELECT min(id) FROM webhook_logs WHERE status = 'pending'")
    stack.sql("UPDATE webhook_logs SET claimed_until = :lease WHERE id = :id",
              lease=lease, id=first)
    if "--vacuum" in sys.argv:
        stack.vacuum("webhook_logs")
    params = {"log_id": first, "lease": lease, "now": now, "next_lease": lease,
              "v_response_status": 200, "v_response_ms": 1, "v_response_body": "ok"}
    with stack.db.engine.connect() as conn:
        compiled = delivery._SUCCEED_AND_TAKE_NEXT.compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        sql = str(compiled)
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql,
                                    compiled.construct_params(params)).all()
        conn.rollback()
    print("\n".join(row[0] for row in plan))
    return 0


def _log_statements(stack: Stack) -> None:
    """--log-statements: every statement's duration, and plans of the slow ones, logged."""
    if "--log-statements" not in sys.argv:
        return
    stack.sql("ALTER DATABASE gateway SET log_min_duration_statement = 0")
    stack.sql("ALTER DATABASE gateway SET session_preload_libraries = 'auto_explain'")
    stack.sql("ALTER DATABASE gateway SET auto_explain.log_min_duration = '4ms'")
    stack.sql("ALTER DATABASE gateway SET auto_explain.log_analyze = on")
    stack.sql("ALTER DATABASE gateway SET auto_explain.log_buffers = on")
    stack.db.dispose()
    print("statements logged to", stack.pg.log)


def _keep_statement_log(stack: Stack) -> None:
    if "--log-statements" in sys.argv:
        import shutil
        shutil.copy(stack.pg.log, OUT_DIR / "pg-statements.log")


def _busy_claims(stack: Stack) -> int:
    """Claims turned away at the endpoint's cap, timed one after another in this process."""
    from datetime import timedelta

    from shared.config import Config
    from shared.db import utcnow
    from shared.webhooks import delivery
    config = Config.from_env(stack.env)
    ids = [i for (i,) in stack.sql("SELECT id FROM webhook_logs ORDER BY id")]
    stack.sql("UPDATE webhook_logs SET claimed_until = :lease WHERE id = ANY(:ids)",
              lease=utcnow() + timedelta(seconds=60), ids=ids[:4])
    _log_statements(stack)
    took, outcomes = [], set()
    for log_id in ids[4:304]:
        t = time.perf_counter()
        outcomes.add(delivery._claim(stack.db, config, log_id))
        took.append(time.perf_counter() - t)
    took.sort()
    print(f"busy claims: {outcomes}; median {took[len(took) // 2] * 1000:.2f} ms, "
          f"p90 {took[int(len(took) * 0.9)] * 1000:.2f} ms")
    _keep_statement_log(stack)
    return 0


def _in_process(stack: Stack) -> int:
    """One hand-over chain in this process, timed step by step (no Celery, no other thread)."""
    from shared.config import Config
    from shared.webhooks import delivery, http_sender
    config = Config.from_env(stack.env)
    _log_statements(stack)
    timings: dict[str, list[float]] = {"post": [], "record_and_take_next": []}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[name].append(time.perf_counter() - t)
        return wrapper
    delivery.http_sender.post = timed("post", http_sender.post)
    delivery._record_and_take_next = timed("record_and_take_next",
                                           delivery._record_and_take_next)
    delivery.HAND_OVER_S = 10
    first = stack.scalar("SELECT min(id) FROM webhook_logs")
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    delivery.deliver(stack.db, config, first)
    span, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    n = len(timings["post"])
    print(f"in process: {n} sent in {span:.2f} s ({n / span:.0f}/s), {cpu / n * 1000:.2f} ms "
          "CPU each")
    for name, values in timings.items():
        tenth = max(1, len(values) // 10)
        print(f"  {name}: median of each tenth of the chain (ms):",
              [round(sorted(values[i:i + tenth])[tenth // 2] * 1000, 2)
               for i in range(0, len(values) - tenth + 1, tenth)])
        values.sort()
        print(f"  {name}: median {values[len(values) // 2] * 1000:.2f} ms, "
              f"p90 {values[int(len(values) * 0.9)] * 1000:.2f} ms")
    _keep_statement_log(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
