"""Ledger figures: balance, balance transactions and report latency at 10,000 vs 1,000,000
payments, over a year of data (``python -m bench.ledger_bench [--big N] [--runs R]``; also
phase ``6`` of ``make bench``).

Rows are generated in PostgreSQL with one ``INSERT ... SELECT generate_series`` per table and
batch: payments spread evenly over the last 365 days (ids time-ordered like real ones), their
balance transactions, the daily totals the postings keep, and the account balances they add up
to; then the summary rollup is rebuilt by its own periodic job (timed). Journal lines are not
generated: no measured request reads them (``gateway ledger-check`` does, offline).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.stack import OUT_DIR, Progress, Stack, http_json, run_wrk

YEAR_MS = 365 * 24 * 3600 * 1000
_ENC10 = """(SELECT string_agg(substr('0123456789abcdefghjkmnpqrstvwxyz',
                 ((({ms})::bigint >> (5 * (9 - k))) & 31)::int + 1, 1), '' ORDER BY k)
             FROM generate_series(0, 9) AS k)"""


def _load(stack: Stack, start: int, end: int, total: int, t0_ms: int) -> None:
    """Payments start..end of ``total`` (spread over the year from ``t0_ms``), 4 in 5
    completed, and their balance transactions."""
    ms = f"(CAST(:t0 AS bigint) + (i::bigint * {YEAR_MS}) / CAST(:total AS bigint))"
    stack.sql(f"""
        INSERT INTO payments (id, merchant_id, amount, currency, status, amount_refunded,
            amount_refund_reserved, provider, payment_method, metadata, attempts, created_at,
            updated_at)
        SELECT 'pay_' || {_ENC10.format(ms=ms)} || lpad(i::text, 16, '0'), :mid,
            1000 + i % 997, 'INR',
            (ARRAY['completed','completed','completed','failed','completed'])[1 + i % 5],
            0, 0, (ARRAY['sandbox','stripe','razorpay'])[1 + i % 3],
            '{{"type":"card","token":"tok_success"}}'::jsonb, '{{}}'::jsonb, 1,
            to_timestamp({ms} / 1000.0), to_timestamp({ms} / 1000.0)
        FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS i""",
              mid=stack.merchant_id, a=start, b=end, total=total, t0=t0_ms)
    stack.sql(f"""
        INSERT INTO balance_transactions (id, merchant_id, livemode, type, amount, fee, net,
            currency, source_id, status, available_on, created_at)
        SELECT 'txn_' || {_ENC10.format(ms=ms)} || lpad(i::text, 16, '0'), :mid, false,
            'payment', 1000 + i % 997, ((1000 + i % 997) * 200 * 2 + 10000) / 20000,
            (1000 + i % 997) - ((1000 + i % 997) * 200 * 2 + 10000) / 20000, 'INR',
            'pay_' || lpad(i::text, 16, '0'), 'available', to_timestamp({ms} / 1000.0),
            to_timestamp({ms} / 1000.0)
        FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS i WHERE i % 5 <> 3""",
              mid=stack.merchant_id, a=start, b=end, total=total, t0=t0_ms)


def _rollup(stack: Stack) -> None:
    """What the postings would have kept: daily totals and the account balances."""
    stack.sql("DELETE FROM ledger_daily_totals")
    stack.sql("""
        INSERT INTO ledger_daily_totals (merchant_id, livemode, currency, day, gross, refunds,
            fees, payouts, payment_count, refund_count, payout_count)
        SELECT merchant_id, false, currency, (created_at AT TIME ZONE 'UTC')::date,
            sum(amount), 0, sum(fee), 0, count(*), 0, 0
        FROM balance_transactions WHERE type = 'payment' GROUP BY 1, 3, 4""")
    stack.sql("DELETE FROM ledger_accounts")
    stack.sql("""
        INSERT INTO ledger_accounts (merchant_id, currency, livemode, kind, balance, created_at)
        SELECT merchant_id, currency, false, kind, total, now() FROM (
            SELECT merchant_id, currency, 'available' AS kind, sum(net) AS total
              FROM balance_transactions GROUP BY 1, 2
            UNION ALL SELECT merchant_id, currency, 'fees', sum(fee)
              FROM balance_transactions GROUP BY 1, 2
            UNION ALL SELECT merchant_id, currency, 'pending', 0
              FROM balance_transactions GROUP BY 1, 2
            UNION ALL SELECT merchant_id, currency, 'provider:sandbox', -sum(amount)
              FROM balance_transactions GROUP BY 1, 2) t""")
    for table in ("payments", "balance_transactions", "ledger_daily_totals"):
        stack.vacuum(table)


def _summary_rollup(stack: Stack) -> float:
    """The periodic summary rebuild, from scratch (every day dirty); seconds it took."""
    from shared.reporting import summary_rollup
    stack.sql("TRUNCATE payment_daily_summaries, payment_summary_days, ledger_rollup_state")
    started = time.monotonic()
    summary_rollup.refresh(stack.db)
    elapsed = round(time.monotonic() - started, 2)
    stack.vacuum("payment_daily_summaries")
    return elapsed


def _probe(stack: Stack, web, runs: int) -> dict:
    today = datetime.now(UTC).date()
    year_ago = (today - timedelta(days=365)).isoformat()
    month_ago = (today - timedelta(days=30)).isoformat()
    targets = {
        "balance": "/api/v1/balance",
        "balance_transactions_page": "/api/v1/balance_transactions?limit=20",
        "settlement_year_json": f"/api/v1/reports/settlement?from={year_ago}&to={today}",
        "settlement_year_csv": f"/api/v1/reports/settlement?from={year_ago}&to={today}"
                               "&format=csv",
        "summary_30_days": f"/api/v1/reports/summary?from={month_ago}&to={today}",
        "summary_year": f"/api/v1/reports/summary?from={year_ago}&to={today}",
    }
    out = {}
    http_json("GET", web.url + "/api/v1/balance", stack.api_key, timeout=120)  # warm up
    for name, path in targets.items():
        status = _status(web.url + path, stack.api_key)
        if status != 200:
            out[name] = {"p99_ms": None, "note": f"HTTP {status}"}
            continue
        results = [run_wrk(web.url, "get_path.lua", 4, 3, {"BENCH_PATH": path,
                                                            "BENCH_KEY": stack.api_key})
                   for _ in range(runs)]
        p99 = sorted(r["p99_ms"] for r in results)[len(results) // 2]
        p50 = sorted(r["p50_ms"] for r in results)[len(results) // 2]
        out[name] = {"p50_ms": p50, "p99_ms": p99, "errors": sum(r["errors"] for r in results)}
    return out


def _status(url: str, key: str) -> int:
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def phase_ledger(stack: Stack, runs: int = 3, big: int = 1_000_000,
                 small: int = 10_000) -> dict:
    stack.sql("TRUNCATE payments, refunds, events, webhook_logs, outbox, sandbox_ledger, "
              "transaction_attempts, balance_transactions, ledger_daily_totals, "
              "ledger_accounts, payouts CASCADE")
    t0_ms = int(time.time() * 1000) - YEAR_MS
    web = stack.gunicorn("api.wsgi:app", "web-ledger")
    try:
        progress = Progress(f"ledger: load {small:,} payments", small)
        _load(stack, 1, small, small, t0_ms)
        _rollup(stack)
        rebuild = {"small": _summary_rollup(stack)}
        progress.finish()
        at_small = _probe(stack, web, runs)
        stack.sql("TRUNCATE payments, balance_transactions CASCADE")
        progress = Progress(f"ledger: load {big:,} payments", big)
        step = 100_000
        for start in range(1, big + 1, step):
            _load(stack, start, min(big, start + step - 1), big, t0_ms)
            progress.update(min(big, start + step - 1))
        _rollup(stack)
        rebuild["large"] = _summary_rollup(stack)
        progress.finish()
        at_big = _probe(stack, web, runs)
    finally:
        web.stop()
    growth = {}
    for name in at_small:
        a, b = at_small[name].get("p99_ms"), at_big[name].get("p99_ms")
        growth[name] = round(b / a, 2) if a and b else None
    return {"title": f"Ledger: p99 at {small:,} vs {big:,} payments over a year",
            "rows_small": small, "rows_large": big, "small": at_small, "large": at_big,
            "growth_p99": growth, "summary_rebuild_from_scratch_s": rebuild}


def posting_cost(stack: Stack, per_round: int = 150, rounds: int = 4) -> dict:
    """In-process: ms per ``process_payment`` (sandbox, no latency) with the ledger posting
    and with the hook replaced by a no-op, alternating rounds (ratios within one run)."""
    from shared.config import Config
    from shared.ledger import posting
    from shared.payments import service
    from shared.payments.processing import process_payment
    config = Config.from_env(stack.env)
    real = posting.payment_completed

    def one_round() -> float:
        with stack.db.transaction() as session:
            ids = [service.create_payment(session, config, stack.merchant_id, {
                "amount": 1000 + i, "currency": "INR",
                "payment_method": {"type": "card", "token": "tok_success"}}).id
                for i in range(per_round)]
        started = time.perf_counter()
        for payment_id in ids:
            process_payment(stack.db, config, payment_id)
        return (time.perf_counter() - started) * 1000 / per_round

    samples: dict[str, list[float]] = {"with_ledger": [], "without": []}
    try:
        for _ in range(rounds):
            posting.payment_completed = real  # type: ignore[method-assign]
            samples["with_ledger"].append(one_round())
            posting.payment_completed = lambda session, payment: None  # type: ignore
            samples["without"].append(one_round())
    finally:
        posting.payment_completed = real  # type: ignore[method-assign]
    med = {k: round(sorted(v)[len(v) // 2], 2) for k, v in samples.items()}
    return {"ms_per_payment": med,
            "posting_ms": round(med["with_ledger"] - med["without"], 2),
            "rounds": rounds, "per_round": per_round}


def render(result: dict) -> str:
    lines = [f"## {result['title']}", "", "| request | p99 @small ms | p99 @large ms | growth |",
             "|---|---|---|---|"]
    for name in result["small"]:
        lines.append(f"| {name} | {result['small'][name].get('p99_ms')} | "
                     f"{result['large'][name].get('p99_ms')} | {result['growth_p99'][name]} |")
    lines += ["", "Target: growth <= 1.5x. The summary reads the daily rollup for past days "
              "and counts today live; rebuilding the rollup from scratch (every day dirty) "
              f"took {result.get('summary_rebuild_from_scratch_s')} s (the periodic run only "
              "rebuilds days whose payments changed).", ""]
    if "posting" in result:
        cost = result["posting"]
        lines += [f"Posting cost (in-process process_payment, median of {cost['rounds']} "
                  f"rounds of {cost['per_round']}): {cost['ms_per_payment']} ms per payment, "
                  f"the ledger adds {cost['posting_ms']} ms.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--posting-only", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    stack = Stack()
    try:
        posting = posting_cost(stack)
        if args.posting_only:
            print(json.dumps(posting, indent=1))
            return 0
        result = phase_ledger(stack, args.runs, args.big, args.small)
        result["posting"] = posting
    finally:
        stack.close()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "ledger.json").write_text(json.dumps(result, indent=1))
    text = render(result)
    (OUT_DIR / "ledger.md").write_text(text)
    print(text)
    print(f"(took {time.monotonic() - started:.0f} s; written to {OUT_DIR}/ledger.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
