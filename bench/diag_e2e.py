"""Diagnostic (not part of ``make bench``): where an end-to-end payment's time goes.

``python -m bench.diag_e2e [RATE] [SECONDS] [--spy payments,webhooks,web] [--statements]
[--timeline]`` runs phase 3
(POST -> signed ``payment.completed`` at a receiver) at RATE/s, then prints the CPU each
stage's processes used per payment while the load ran, and the median and p99 of each
stage's time from the database: POST to the processing event, to the completed event, to
the completed event's delivery row being claimed and answered. ``--spy`` records where the
named groups' processes hold the GIL (py-spy pauses a process to sample it, so the stage
times of a spied run are longer); ``--statements`` prints PostgreSQL's busiest statements
(pg_stat_statements) of the loaded time; ``--timeline`` prints, per second of the load, the
payments posted, their p99 from POST to the completed event, and the CPU each group used in
that second (PostgreSQL's autovacuum workers apart), to tell a stall from queueing.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

from bench.diag_api import cpu_seconds
from bench.stack import OUT_DIR, Stack, py_spy
from bench.webhooks_phases import phase_end_to_end

_STAGES = """
WITH c AS (
  SELECT p.id, p.created_at AS posted,
         (SELECT min(created_at) FROM events e WHERE e.object_id = p.id
            AND e.type = 'payment.processing') AS processing,
         (SELECT min(created_at) FROM events e WHERE e.object_id = p.id
            AND e.type = 'payment.completed') AS completed,
         (SELECT min(l.updated_at) FROM webhook_logs l JOIN events e ON e.id = l.event_id
          WHERE e.object_id = p.id AND e.type = 'payment.completed'
            AND l.status = 'succeeded') AS delivered
  FROM payments p)
SELECT stage, round(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS numeric), 1),
       round(CAST(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS numeric), 1)
FROM (SELECT '1 POST -> processing' AS stage,
             1000 * extract(epoch FROM processing - posted) AS ms FROM c
      UNION ALL SELECT '2 processing -> completed',
             1000 * extract(epoch FROM completed - processing) FROM c
      UNION ALL SELECT '3 completed -> delivered',
             1000 * extract(epoch FROM delivered - completed) FROM c) s
WHERE ms IS NOT NULL GROUP BY stage ORDER BY stage"""


# Which stage a process belongs to, by its command line (first match wins).
_GROUPS = (("loadgen", "bench.loadgen"), ("receiver", "bench.receiver"),
           ("web", "gunicorn"), ("webhooks", "-Q webhooks"), ("beat", " beat"),
           ("payments", "worker.app worker"), ("postgres", "postgres"),
           ("redis", "redis-server"))


def _processes(groups: tuple[tuple[str, str], ...] = _GROUPS) -> list[tuple[str, int, float]]:
    """(group, pid, CPU seconds used so far) of every process of a group."""
    found = []
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name = next((n for n, marker in groups if marker in cmd), None)
        if name is not None:
            found.append((name, pid, cpu_seconds([pid])))
    return found


def _cpu_by_group() -> dict[str, float]:
    """CPU seconds used so far by each group; the load generator, a child of this process
    that has exited by the end, is counted from this process's children's times."""
    totals = dict.fromkeys([name for name, _ in _GROUPS], 0.0)
    for name, _pid, cpu in _processes():
        totals[name] += cpu
    times = os.times()
    totals["loadgen"] = times.children_user + times.children_system
    return totals


_TOP_STATEMENTS = """
SELECT round(CAST(total_exec_time AS numeric), 0), calls,
       round(CAST(total_exec_time / greatest(calls, 1) AS numeric), 3),
       round(CAST(total_plan_time / greatest(calls, 1) AS numeric), 3),
       left(regexp_replace(query, '\\s+', ' ', 'g'), 100)
FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 25"""


@contextlib.contextmanager
def _statements_report(stack: Stack):
    """PostgreSQL's time per statement while the load runs (pg_stat_statements)."""
    stack.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    stack.sql("SELECT pg_stat_statements_reset()")
    yield
    print("PostgreSQL statements while loaded (total ms executing, calls, ms per call "
          "executing, planning, statement):")
    for total, calls, each, plan, query in stack.sql(_TOP_STATEMENTS):
        print(f"  {total:>8} {calls:>7} {each:>7} {plan:>7}  {query}")


@contextlib.contextmanager
def _cpu_report(rate: int, seconds: int, spy: tuple[str, ...] = ()):
    """CPU per payment of each group while the load runs; with ``spy``, py-spy records
    those groups' Python processes holding the GIL (var/bench/e2e-<group>-<pid>.txt,
    collapsed stacks)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    recorders = [py_spy(pid, seconds, OUT_DIR / f"e2e-{name}-{pid}.txt", gil=True)
                 for name, pid, _cpu in _processes() if name in spy]
    before, t0 = _cpu_by_group(), time.monotonic()
    yield
    after, wall = _cpu_by_group(), time.monotonic() - t0
    for rec in recorders:
        rec.wait(60)
    used = {k: after[k] - before[k] for k in before}
    per_payment = " ".join(f"{k} {v * 1000 / (rate * seconds):.2f}" for k, v in used.items())
    print(f"CPU ms per payment while loaded: {per_payment}; all "
          f"{sum(used.values()) * 1000 / (rate * seconds):.2f}; cores busy "
          f"{sum(used.values()) / wall:.2f} of {os.cpu_count()}")


_PER_SECOND = """
SELECT extract(epoch FROM date_trunc('second', p.created_at)) AS at, count(*),
       round(CAST(percentile_cont(0.99) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM
             e.created_at - p.created_at)) AS numeric), 0)
FROM payments p JOIN events e ON e.object_id = p.id AND e.type = 'payment.completed'
GROUP BY 1 ORDER BY 1"""


# The timeline counts PostgreSQL's autovacuum workers apart from its other processes.
_TIMELINE_GROUPS = (("autovacuum", "postgres: autovacuum"), *_GROUPS)


@contextlib.contextmanager
def _timeline(stack: Stack):
    """Samples each group's CPU once a second while the load runs; prints it beside the
    payments posted in that second and their p99 from POST to the completed event."""
    samples: list[tuple[float, dict[str, float]]] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            totals: dict[str, float] = {}
            for name, _pid, cpu in _processes(_TIMELINE_GROUPS):
                totals[name] = totals.get(name, 0.0) + cpu
            totals["sessions"] = float(stack.scalar(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
            samples.append((time.time(), totals))
            stop.wait(1.0)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()
    per_second = {int(at): (n, p99) for at, n, p99 in stack.sql(_PER_SECOND)}
    groups = sorted({g for _, t in samples for g in t})
    print("second  posted  p99 ms  | CPU s per group: " + " ".join(groups))
    for (t0, a), (t1, b) in zip(samples, samples[1:], strict=False):
        n, p99 = per_second.get(int(t0), (0, "-"))
        used = " ".join(f"{(b.get(g, 0) - a.get(g, 0)) / (t1 - t0):.2f}" for g in groups)
        print(f"{int(t0) % 1000:>6} {n:>7} {p99:>7}  | {used}")


def main() -> int:
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    rate, seconds = (numbers + [50, 20][len(numbers):])[:2]
    statements = "--statements" in sys.argv
    stack = Stack(pg_settings=("shared_preload_libraries = 'pg_stat_statements'",
                               "pg_stat_statements.track_planning = on") if statements else ())
    try:
        spy = tuple(sys.argv[sys.argv.index("--spy") + 1].split(",")) \
            if "--spy" in sys.argv else ()

        @contextlib.contextmanager
        def during():
            with _cpu_report(rate, seconds, spy), \
                    (_statements_report(stack) if statements else contextlib.nullcontext()), \
                    (_timeline(stack) if "--timeline" in sys.argv
                     else contextlib.nullcontext()):
                yield

        result = phase_end_to_end(stack, rate=rate, seconds=seconds, during=during)
        print(json.dumps({k: result[k] for k in (
            "rate_sent", "accepted", "delivered", "p50_ms", "p99_ms", "post_p50_ms",
            "post_p99_ms", "send_lag_p99_ms", "connections")}))
        for stage, p50, p99 in stack.sql(_STAGES):
            print(f"{stage:28} p50 {p50:8} ms  p99 {p99:8} ms")
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
