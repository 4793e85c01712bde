"""``make bench``: measured speed of the gateway on this machine, on loopback.

Phases (``python -m bench.run --phases 1,2,3,3s,4,5,6 --runs 3``):
1. POST /api/v1/payments under wrk at 32 and 64 connections, against a naive floor app.
2. Worker throughput draining a 10,000-payment backlog, against a no-op task.
3. End to end: POST -> signed payment.completed at a local receiver, at a steady rate.
   3s: the highest steady rate at which that p99 stays under 1 s (rates 10 ... 100/s).
4. Webhook fan-out to slow receivers, then with one endpoint that never answers.
   4i (only when asked: ``--phases 4i``): another merchant's delivery latency while one merchant
   has 16 endpoints that never answer, paired with and without the per-merchant cap.
5. List and queue-status latency at 10,000 and 1,000,000 rows.
6. Ledger: balance, balance transactions and reports at 10,000 and 1,000,000 payments
   (bench/ledger_bench.py).

Figures are medians of ``--runs`` runs. Results go to var/bench/latest.{json,md} (and a
timestamped copy).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime

from bench import ratelimit_cost
from bench.stack import (
    GUNICORN_ARGS,
    OUT_DIR,
    PAYMENT_WORKER_CONCURRENCY,
    PAYMENT_WORKER_POOL,
    PAYMENT_WORKERS,
    Progress,
    Stack,
    http_json,
    run_wrk,
)

PHASE1_SECONDS = int(os.environ.get("BENCH_PHASE1_S", "10"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "10000"))
WORKER_CONCURRENCY = 4
WORKER_CAP_S = 60


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def med_dict(results: list[dict]) -> dict:
    keys = results[0].keys()
    return {k: median([r[k] for r in results]) for k in keys}


# -- phase 1 ---------------------------------------------------------------------------------
def phase_post(stack: Stack, runs: int) -> dict:
    ours = stack.gunicorn("api.wsgi:app", "web")
    floor = stack.gunicorn("bench.floor_app:app", "floor")
    from bench.floor_app import SCHEMA
    stack.sql(SCHEMA)
    key_env = {"BENCH_KEY": stack.api_key, "BENCH_PATH": "/api/v1/payments"}
    floor_env = {"BENCH_KEY": "", "BENCH_PATH": "/floor/payments"}
    # Warm both (imports, pools, key cache).
    for _ in range(20):
        http_json("POST", ours.url + "/api/v1/payments", stack.api_key, _payment_body(),
                  timeout=60)
        http_json("POST", floor.url + "/floor/payments", None, _payment_body(), timeout=60)
    samples: dict = {}
    # c=32 also with a unique Idempotency-Key per request (the target's main figure).
    variants = [(32, "ours_keyed", ours, key_env, "post_payment_keyed.lua")]
    for conns in (32, 64):
        variants += [(conns, "ours", ours, key_env, "post_payment.lua"),
                     (conns, "floor", floor, floor_env, "post_payment.lua")]
    total = runs * len(variants)
    progress = Progress("phase 1: POST /payments", total * PHASE1_SECONDS)
    step = 0
    for run in range(runs):
        for conns, name, server, env, script in variants:
            progress.update(step * PHASE1_SECONDS, f"run {run + 1} {name} c={conns}")
            result = run_wrk(server.url, script, conns, PHASE1_SECONDS, env)
            samples.setdefault((name, conns), []).append(result)
            step += 1
    progress.finish()
    ours.stop()
    floor.stop()
    table = {}
    for conns in (32, 64):
        o, f = med_dict(samples[("ours", conns)]), med_dict(samples[("floor", conns)])
        table[str(conns)] = {"ours": o, "floor": f,
                             "ratio": round(o["rps"] / f["rps"], 2) if f["rps"] else None,
                             "runs": {"ours": samples[("ours", conns)],
                                      "floor": samples[("floor", conns)]}}
    k = med_dict(samples[("ours_keyed", 32)])
    table["32"]["ours_keyed"] = k
    table["32"]["ratio_keyed"] = (round(k["rps"] / table["32"]["floor"]["rps"], 2)
                                  if table["32"]["floor"]["rps"] else None)
    table["32"]["runs"]["ours_keyed"] = samples[("ours_keyed", 32)]
    return table


def _payment_body() -> dict:
    return {"amount": 1000, "currency": "INR",
            "payment_method": {"type": "card", "token": "tok_success"}}


# -- phase 2 ---------------------------------------------------------------------------------
def _reset_queues(stack: Stack) -> None:
    stack.redis_client().flushdb()


def _bulk_pending_payments(stack: Stack, count: int, prefix: str) -> None:
    stack.sql(
        """INSERT INTO payments (id, merchant_id, amount, currency, status, amount_refunded,
             amount_refund_reserved, provider, payment_method, metadata, attempts, created_at,
             updated_at)
           SELECT :prefix || lpad(i::text, 12, '0'), :mid, 1000, 'INR', 'pending', 0, 0,
             'sandbox', '{"type":"card","token":"tok_success"}'::jsonb, '{}'::jsonb, 0,
             now(), now()
           FROM generate_series(1, CAST(:n AS int)) AS i""",
        prefix=prefix, mid=stack.merchant_id, n=count)


def _publish_backlog(stack: Stack, task: str, ids: list[str]) -> None:
    """One job per id on the payments queue, published as the outbox relay publishes rows
    ready at once (``shared.broker.make_batch_publisher``: payments go up to 8 to a message;
    the no-op task is not merged)."""
    from shared.broker import make_batch_publisher
    from shared.config import Config
    publish_many = make_batch_publisher(Config.from_env(stack.env))
    assert publish_many is not None, "the bench's broker is Redis"
    for start in range(0, len(ids), 1000):  # pipelines of a bounded size
        publish_many([(task, [pid], "payments") for pid in ids[start:start + 1000]])


def _drain_rate(stack: Stack, total: int, done_count, label: str, start_worker,
                timeout: float = 240) -> dict:
    progress = Progress(label, total)
    worker = start_worker()
    t0, n0 = time.monotonic(), done_count()
    deadline = t0 + timeout
    done = n0
    while done < total and time.monotonic() < deadline:
        time.sleep(0.25)
        done = done_count()
        progress.update(done, f"{done}/{total}")
    elapsed = time.monotonic() - t0
    progress.finish(f"{done}/{total}")
    worker.kill()
    return {"processed": done, "seconds": round(elapsed, 2),
            "per_s": round((done - n0) / elapsed, 1) if elapsed else None,
            "complete": done >= total}


def phase_worker(stack: Stack, runs: int) -> dict:
    # A 10,000 backlog drains in minutes on 2 cores: one run, the drain capped at
    # WORKER_CAP_S (the rate is measured over what was processed by then).
    runs = 1
    samples = []
    r = stack.redis_client()
    for run in range(runs):
        _reset_queues(stack)
        prefix = f"pay_bench{run}_"
        _bulk_pending_payments(stack, BACKLOG, prefix)
        ids = [f"{prefix}{i:012d}" for i in range(1, BACKLOG + 1)]
        _publish_backlog(stack, "gateway.process_payment", ids)

        def completed(prefix=prefix):
            return stack.scalar("SELECT count(*) FROM payments WHERE id LIKE :p AND "
                                "status = 'completed'", p=prefix + "%")

        real = _drain_rate(stack, BACKLOG, completed, f"phase 2: payments run {run + 1}",
                           lambda: stack.payment_workers("payments"),
                           timeout=WORKER_CAP_S)
        _reset_queues(stack)
        _publish_backlog(stack, "bench.noop", ids)

        def drained():
            left = r.llen("payments") + r.hlen("unacked")
            return BACKLOG - left

        noop = _drain_rate(stack, BACKLOG, drained, f"phase 2: no-op run {run + 1}",
                           lambda: stack.worker("payments", WORKER_CONCURRENCY,
                                                app="bench.noop_worker"))
        samples.append({"payments_per_s": real["per_s"], "noop_per_s": noop["per_s"],
                        "complete": real["complete"] and noop["complete"]})
    _reset_queues(stack)
    p, n = median([s["payments_per_s"] for s in samples]), median([s["noop_per_s"]
                                                                   for s in samples])
    return {"payments_per_s": p, "noop_per_s": n,
            "ratio": round(p / n, 2) if p and n else None,
            "worker": f"{PAYMENT_WORKERS} x {PAYMENT_WORKER_POOL} -c {PAYMENT_WORKER_CONCURRENCY} "
                      f"(no-op: prefork "
                      f"-c {WORKER_CONCURRENCY})", "backlog": BACKLOG, "runs": samples}


# -- phase 5 ---------------------------------------------------------------------------------
def _load_rows(stack: Stack, start: int, end: int) -> None:
    """Payments and webhook_logs rows start..end (ids ascending with i, so older than any
    payment made through the API)."""
    stack.sql(
        """INSERT INTO payments (id, merchant_id, amount, currency, status, amount_refunded,
             amount_refund_reserved, provider, payment_method, metadata, attempts, created_at,
             updated_at)
           SELECT 'pay_0' || lpad(i::text, 12, '0'), :mid, 1000 + i % 997, 'INR',
             (ARRAY['completed','completed','completed','failed','refunded'])[1 + i % 5],
             0, 0, 'sandbox', '{"type":"card","token":"tok_success"}'::jsonb,
             '{"order":"x"}'::jsonb, 1, now() - interval '1 day', now() - interval '1 day'
           FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS i""",
        mid=stack.merchant_id, a=start, b=end)
    stack.sql(
        """INSERT INTO webhook_logs (id, merchant_id, event_id, endpoint_id, attempt, status,
             response_status, response_ms, next_retry_at, created_at, updated_at)
           SELECT 'whl_0' || lpad(i::text, 12, '0'), :mid, 'evt_0scale' || (i % 1000),
             'we_0scale',
             1, CASE WHEN i % 200 = 0 THEN 'dead' WHEN i % 100 = 0 THEN 'retrying'
                     ELSE 'succeeded' END,
             200, 12, CASE WHEN i % 100 = 0 AND i % 200 <> 0
                           THEN now() + interval '1 hour' END,
             now() - interval '1 day', now() - interval '1 day'
           FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS i""",
        mid=stack.merchant_id, a=start, b=end)
    stack.sql("ANALYZE payments")
    stack.sql("ANALYZE webhook_logs")


def _scale_probe(stack: Stack, web, runs: int, total: int) -> dict:
    deep = f"pay_0{max(1, total // 10):012d}"
    targets = {
        "list_first_page": ("/api/v1/payments?limit=20", stack.api_key),
        "list_deep_cursor": (f"/api/v1/payments?limit=20&starting_after={deep}",
                             stack.api_key),
        "queue_status": ("/api/v1/queue/status", stack.operator_key),
    }
    out = {}
    for name, (path, key) in targets.items():
        status, _ = http_json("GET", web.url + path, key)
        if status != 200:
            out[name] = {"p99_ms": None, "note": f"HTTP {status}"}
            continue
        results = [run_wrk(web.url, "get_path.lua", 4, 3, {"BENCH_PATH": path,
                                                            "BENCH_KEY": key})
                   for _ in range(runs)]
        out[name] = med_dict(results)
    return out


def phase_scale(stack: Stack, runs: int, big: int = 1_000_000) -> dict:
    stack.sql("TRUNCATE payments, events, webhook_logs, outbox, sandbox_ledger, "
              "transaction_attempts, refunds CASCADE")
    stack.sql("""INSERT INTO webhook_endpoints (id, merchant_id, url, events, status, secret,
                   metadata, created_at, updated_at)
                 VALUES ('we_0scale', :mid, 'http://127.0.0.1:9/', '["*"]'::jsonb, 'enabled',
                   'whsec_c2NhbGVzY2FsZXNjYWxlc2NhbGVzY2FsZQ==', '{}'::jsonb, now(), now())""",
              mid=stack.merchant_id)
    stack.sql("""INSERT INTO events (id, merchant_id, type, object_id, data, created_at)
                 SELECT 'evt_0scale' || i, :mid, 'payment.completed', 'pay_x',
                   '{"object":{}}'::jsonb, now() FROM generate_series(0, 999) AS i""",
              mid=stack.merchant_id)
    web = stack.gunicorn("api.wsgi:app", "web-scale")
    progress = Progress("phase 5: load 10,000 rows", 1)
    _load_rows(stack, 1, 10_000)
    progress.finish()
    small = _scale_probe(stack, web, runs, 10_000)
    progress = Progress(f"phase 5: load {big:,} rows", big)
    step = 100_000
    for start in range(10_001, big + 1, step):
        _load_rows(stack, start, min(big, start + step - 1))
        progress.update(min(big, start + step - 1))
    progress.finish()
    stack.vacuum("payments")
    stack.vacuum("webhook_logs")
    large = _scale_probe(stack, web, runs, big)
    web.stop()
    growth = {}
    for name in small:
        a, b = small[name].get("p99_ms"), large[name].get("p99_ms")
        growth[name] = round(b / a, 2) if a and b else None
    return {"rows_small": 10_000, "rows_large": big, "small": small, "large": large,
            "growth_p99": growth}


# -- report ----------------------------------------------------------------------------------
def render_markdown(report: dict) -> str:
    lines = [f"# Benchmark — {report['date']}", "",
             f"Machine: {report['machine']['cores']} cores, "
             f"{report['machine']['memory_gib']} GiB, shared; loopback only. "
             f"gunicorn `{' '.join(GUNICORN_ARGS)}`; LOG_LEVEL=WARNING; PostgreSQL with "
             "fsync off (both apps). Figures are medians of "
             f"{report['runs']} runs unless a phase says otherwise.", ""]
    p = report["phases"]
    if "1" in p:
        lines += ["## 1. POST /api/v1/payments (wrk, 10 s)", "",
                  "| conns | ours req/s | p50 ms | p99 ms | errors | floor req/s | floor p50 "
                  "| floor p99 | ours/floor |", "|---|---|---|---|---|---|---|---|---|"]
        for conns, row in p["1"].items():
            o, f = row["ours"], row["floor"]
            lines.append(f"| {conns} | {o['rps']} | {o['p50_ms']} | {o['p99_ms']} | "
                         f"{o['errors']} | {f['rps']} | {f['p50_ms']} | {f['p99_ms']} | "
                         f"{row['ratio']} |")
            k = row.get("ours_keyed")
            if k:
                lines.append(f"| {conns}, unique Idempotency-Key | {k['rps']} | {k['p50_ms']} "
                             f"| {k['p99_ms']} | {k['errors']} | {f['rps']} | {f['p50_ms']} | "
                             f"{f['p99_ms']} | {row['ratio_keyed']} |")
        lines += ["", "Targets: ours/floor >= 1.0; p99 <= 60 ms at 32 connections.", ""]
    if "2" in p:
        w = p["2"]
        lines += ["## 2. Worker throughput (backlog of 10,000, sandbox zero latency)", "",
                  "| worker | payments/s | no-op tasks/s | ratio |", "|---|---|---|---|",
                  f"| {w['worker']} | {w['payments_per_s']} | {w['noop_per_s']} | "
                  f"{w['ratio']} |", "", "Target: ratio >= 0.5. One run; the payments drain "
                  f"is capped at {WORKER_CAP_S} s (rate over what was processed by then).", ""]
    for key in ("3", "3s", "4", "4i"):
        if key in p:
            lines += [f"## {key}. {p[key].get('title', '')}", "", "```",
                      json.dumps({k: v for k, v in p[key].items() if k != 'title'}, indent=1),
                      "```", ""]
    if "5" in p:
        s = p["5"]
        lines += ["## 5. Scale: p99 at 10,000 vs 1,000,000 payments and webhook_logs rows", "",
                  "| request | p99 @10k ms | p99 @1M ms | growth |", "|---|---|---|---|"]
        for name in s["small"]:
            lines.append(f"| {name} | {s['small'][name].get('p99_ms')} | "
                         f"{s['large'][name].get('p99_ms')} | {s['growth_p99'][name]} |"
                         + (f" {s['small'][name]['note']}" if 'note' in s['small'][name]
                            else ""))
        lines += ["", "Target: growth <= 1.5x.", ""]
    if "6" in p:
        from bench import ledger_bench
        lines += [ledger_bench.render(p["6"])]
    for note in report.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="1,2,3,3s,4,5,6")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    started = time.monotonic()
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": {"cores": os.cpu_count(),
                          "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                              * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
              "runs": args.runs, "phases": {}, "notes": []}
    report["notes"].append(
        f"Phase 1 is the median of {args.runs} runs; phases 2 and 3 are one run each, phase 4 "
        "the medians of three runs with and three without the dead endpoint, alternating, and "
        f"phase 5 is the median of {args.runs} short (3 s) wrk runs per request, to fit "
        "10 minutes. Workers and beat are not running during phase 1 (API alone).")
    print(f"bench: {report['date']}, {report['machine']['cores']} cores", file=sys.stderr)
    stack = Stack()

    def attempt(key: str, fn) -> None:
        # A failing phase is reported and the others still run (and are still written).
        try:
            report["phases"][key] = fn()
        except Exception as exc:
            import traceback
            traceback.print_exc()
            report["notes"].append(f"phase {key} failed: {type(exc).__name__}: {exc}"[:300])

    try:
        if "1" in phases:
            attempt("1", lambda: phase_post(stack, args.runs))
            attempt("1-ratelimit", lambda: ratelimit_cost.measure(stack, args.runs, 5, 32))
        if "2" in phases:
            attempt("2", lambda: phase_worker(stack, args.runs))
        if {"3", "3s", "4", "4i"} & set(phases):
            from bench import webhooks_phases
            missing = webhooks_phases.missing()
            if missing:
                report["notes"].append(f"phases 3 and 4 not run: {missing}")
            else:
                if "3" in phases:
                    attempt("3", lambda: webhooks_phases.phase_end_to_end(stack))
                if "3s" in phases:
                    attempt("3s", lambda: webhooks_phases.phase_rate_sweep(stack))
                if "4" in phases:
                    attempt("4", lambda: webhooks_phases.phase_fan_out(stack))
                if "4i" in phases:
                    attempt("4i", lambda: webhooks_phases.phase_isolation(stack))
        if "5" in phases:
            attempt("5", lambda: phase_scale(stack, args.runs, args.big))
        if "6" in phases:
            from bench import ledger_bench
            attempt("6", lambda: ledger_bench.phase_ledger(stack, args.runs, args.big))
    finally:
        stack.close()
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = render_markdown(report)
    for name in ("latest", stamp):
        (OUT_DIR / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
        (OUT_DIR / f"{name}.md").write_text(text)
    print(text)
    print(f"(took {report['elapsed_s']} s; written to {OUT_DIR}/latest.json and latest.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
