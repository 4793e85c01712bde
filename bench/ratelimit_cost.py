"""``make bench-ratelimit``: what the Redis rate limiter costs ``POST /api/v1/payments``.

The same gunicorn API is run twice against one PostgreSQL and Redis: once with
``RATE_LIMIT=off`` and once with a limit high enough that no request is refused, so every
request pays for the limiter's Redis round trips but none is answered 429. Runs alternate
(off, on, off, on, ...) so drift on a shared machine hits both sides; the figure is the median
of ``--runs`` pairs. Target (issue 15): the limiter costs under 5 % of throughput.

``python -m bench.ratelimit_cost --runs 3 --seconds 10 --connections 32``
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from bench.stack import OUT_DIR, Stack, http_json, run_wrk

BODY = {"amount": 1000, "currency": "INR",
        "payment_method": {"type": "card", "token": "tok_success"}}
# Every request is counted in Redis; none is refused.
MEASURED_LIMIT = {"RATE_LIMIT": "1000000/second", "RATE_LIMIT_BURST": "2000000"}


def _warm(url: str, key: str, requests: int = 20, patience_s: float = 120.0) -> None:
    """Warm imports, pools and the key cache; a loaded machine may take a while at first."""
    deadline = time.monotonic() + patience_s
    done = 0
    while done < requests:
        try:
            http_json("POST", url + "/api/v1/payments", key, BODY, timeout=30)
            done += 1
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def limiter_call_us(redis_url: str, calls: int = 2000) -> dict:
    """The limiter's own cost per request (one Redis round trip), in microseconds: steadier
    than req/s on a shared machine."""
    from shared.ratelimit.limiter import RateLimiter, limit_item
    limiter = RateLimiter(limit_item(MEASURED_LIMIT["RATE_LIMIT"],
                                     int(MEASURED_LIMIT["RATE_LIMIT_BURST"])), redis_url)
    timings = []
    for i in range(calls):
        started = time.perf_counter()
        limiter.hit("credential", f"key_bench{i % 50}")
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    return {"p50_us": round(timings[len(timings) // 2]),
            "p99_us": round(timings[int(len(timings) * 0.99)])}


def measure(stack: Stack, runs: int, seconds: int, connections: int) -> dict:
    servers = {"off": stack.gunicorn(name="web-limiter-off", env={"RATE_LIMIT": "off"}),
               "on": stack.gunicorn(name="web-limiter-on", env=MEASURED_LIMIT)}
    env = {"BENCH_KEY": stack.api_key, "BENCH_PATH": "/api/v1/payments"}
    for server in servers.values():
        _warm(server.url, stack.api_key)
    samples: dict[str, list[dict]] = {"off": [], "on": []}
    for run in range(runs):
        for name in ("off", "on"):
            print(f"ratelimit bench: run {run + 1}/{runs} limiter {name}", file=sys.stderr)
            samples[name].append(run_wrk(servers[name].url, "post_payment.lua", connections,
                                         seconds, env))
    for server in servers.values():
        server.stop()
    off = statistics.median(s["rps"] for s in samples["off"])
    on = statistics.median(s["rps"] for s in samples["on"])
    refused = sum(s["errors"] for s in samples["on"])
    call = limiter_call_us(stack.redis.url)
    return {"limiter_call_p50_us": call["p50_us"], "limiter_call_p99_us": call["p99_us"],
            "connections": connections, "seconds": seconds, "runs": runs,
            "rps_limiter_off": round(off, 1), "rps_limiter_on": round(on, 1),
            "cost_percent": round((off - on) / off * 100, 2) if off else None,
            "errors_with_limiter": refused, "samples": samples}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        result = measure(stack, args.runs, args.seconds, args.connections)
    finally:
        stack.close()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "ratelimit.json").write_text(json.dumps(result, indent=2))
    print(f"POST /api/v1/payments, {args.connections} connections, median of {args.runs}: "
          f"limiter off {result['rps_limiter_off']} req/s, on {result['rps_limiter_on']} "
          f"req/s, cost {result['cost_percent']} % (target < 5 %), "
          f"errors with limiter {result['errors_with_limiter']}; one limiter check "
          f"p50 {result['limiter_call_p50_us']} us, p99 {result['limiter_call_p99_us']} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
