"""Diagnostic (not part of ``make bench``): POST /payments against the floor, paired.

``python -m bench.diag_api [ROUNDS] [--spy] [--nokey] [--seconds S]``: starts PostgreSQL,
Redis, the gateway's gunicorn (the Procfile's ``web`` options) and the floor, then alternates
wrk runs (c=32, a unique Idempotency-Key per request unless ``--nokey``) ROUNDS times and
prints each run and the medians. With ``--spy`` py-spy records every gunicorn worker of the
gateway during one extra run (var/bench/api-<pid>.txt, collapsed stacks; ``--gil`` samples
only the thread holding the GIL).
"""
from __future__ import annotations

import os
import subprocess
import sys

from bench.run import _payment_body, median
from bench.stack import OUT_DIR, Stack, http_json, py_spy, run_wrk


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])   # utime + stime
    except (OSError, IndexError):
        return 0


def _by_name(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def cpu_seconds(pids: list[int]) -> float:
    """CPU (user + system) used so far by these processes."""
    return sum(_ticks(p) for p in pids) / os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server's processes, PostgreSQL, Redis and wrk."""
    groups = {"server": [server_pid, *_children(server_pid)], "postgres": _by_name("postgres"),
              "redis": _by_name("redis-server"), "wrk": _by_name("wrk")}
    return {k: cpu_seconds(pids) for k, pids in groups.items()}


def _cpu_ms_per_request(before: dict, after: dict, requests: int) -> str:
    return " ".join(f"{k} {(after[k] - before[k]) * 1000 / max(1, requests):.2f}"
                    for k in before)


def main() -> int:
    rounds = int(next((a for a in sys.argv[1:] if a.isdigit()), "3"))
    seconds = int(_arg("--seconds", "10"))
    script = "post_payment.lua" if "--nokey" in sys.argv else "post_payment_keyed.lua"
    stack = Stack()
    try:
        ours = stack.gunicorn("api.wsgi:app", "web")
        floor = stack.gunicorn("bench.floor_app:app", "floor")
        from bench.floor_app import SCHEMA
        stack.sql(SCHEMA)
        for _ in range(20):
            http_json("POST", ours.url + "/api/v1/payments", stack.api_key, _payment_body(),
                      timeout=60)
            http_json("POST", floor.url + "/floor/payments", None, _payment_body(), timeout=60)
        key_env = {"BENCH_KEY": stack.api_key, "BENCH_PATH": "/api/v1/payments"}
        floor_env = {"BENCH_KEY": "", "BENCH_PATH": "/floor/payments"}
        got: dict[str, list[dict]] = {"ours": [], "floor": []}
        for r in range(rounds):
            for name, server, env, lua in (("ours", ours, key_env, script),
                                           ("floor", floor, floor_env, "post_payment.lua")):
                before = _cpu_snapshot(server.proc.pid)
                res = run_wrk(server.url, lua, 32, seconds, env)
                cpu = _cpu_ms_per_request(before, _cpu_snapshot(server.proc.pid),
                                          res["requests"])
                got[name].append(res)
                print(f"round {r + 1} {name:5}: {res['rps']:7.1f} req/s p50 {res['p50_ms']} ms "
                      f"p99 {res['p99_ms']} ms errors {res['errors']}; CPU ms/request: {cpu}",
                      flush=True)
        o = median([x["rps"] for x in got["ours"]])
        f = median([x["rps"] for x in got["floor"]])
        print(f"median: ours {o:.1f} req/s, floor {f:.1f} req/s, ratio {o / f:.2f}; p99 ours "
              f"{median([x['p99_ms'] for x in got['ours']])} ms")
        if "--spy" in sys.argv:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            pids = _children(ours.proc.pid)
            recorders = [py_spy(pid, seconds, OUT_DIR / f"api-{pid}.txt",
                                gil="--gil" in sys.argv) for pid in pids]
            res = run_wrk(ours.url, script, 32, seconds, key_env)
            for rec in recorders:
                rec.wait(60)
            print(f"spied run: {res['rps']} req/s; stacks in {OUT_DIR}/api-*.txt")
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
