"""Diagnostic (not part of ``make bench``): payments-worker drain rate by pool shape, paired.

``python -m bench.diag_worker N SHAPE [SHAPE ...]``: for each shape (``PROCESSES x POOL x
CONCURRENCY``, e.g. ``2xthreadsx16`` or ``4xpreforkx1``) drains a backlog of N pending sandbox
payments and prints payments/s and the CPU per payment of the workers and PostgreSQL. Shapes
run in the order given, twice (A B A B), so drift on a shared machine hits both. ``--waits``
samples pg_stat_activity every 0.2 s and prints how many backends were running or waiting
(and on what) per sample; ``--spy`` records the first worker with py-spy ``--gil`` for 8 s
(var/bench/diag_worker_RUN_SHAPE.txt, collapsed stacks).
"""
from __future__ import annotations

import sys
import time
from collections import Counter

from bench.diag_api import _by_name, _children, cpu_seconds
from bench.run import _bulk_pending_payments, _publish_backlog, _reset_queues
from bench.stack import OUT_DIR, Stack, WorkerGroup, py_spy

# What PostgreSQL's busy backends are doing (--waits): "running" or their wait event.
_WAITS = """SELECT coalesce(wait_event_type || ':' || wait_event, 'running'), count(*)
            FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
            GROUP BY 1"""


def main() -> int:
    n = int(sys.argv[1])
    spy = "--spy" in sys.argv
    shapes = [a for a in sys.argv[2:] if not a.startswith("--")]
    stack = Stack()
    try:
        for run, shape in enumerate(shapes * 2):
            procs, pool, conc = shape.split("x")
            _reset_queues(stack)
            prefix = f"pay_diag{run}_"
            _bulk_pending_payments(stack, n, prefix)
            _publish_backlog(stack, "gateway.process_payment",
                             [f"{prefix}{i:012d}" for i in range(1, n + 1)])
            stack.vacuum("payments")
            group = WorkerGroup(stack.worker("payments", int(conc), pool=pool)
                                for _ in range(int(procs)))
            pids = [p for w in group for p in (w.proc.pid, *_children(w.proc.pid))]
            pg0, w0, t0 = cpu_seconds(_by_name("postgres")), cpu_seconds(pids), time.monotonic()
            done = 0
            if spy:  # CPU samples of the first worker process, while it drains
                py_spy(pids[0], 8, OUT_DIR / f"diag_worker_{run}_{shape}.txt", rate=200, gil=True)
            waits: Counter = Counter()
            while done < n and time.monotonic() - t0 < 300:
                time.sleep(0.2)
                if "--waits" in sys.argv:
                    waits.update(dict(stack.sql(_WAITS)))
                done = stack.scalar("SELECT count(*) FROM payments WHERE id LIKE :p AND "
                                    "status = 'completed'", p=prefix + "%")
            span = time.monotonic() - t0
            w1, pg1 = cpu_seconds(pids), cpu_seconds(_by_name("postgres"))
            group.kill()
            print(f"{shape:16} {done}/{n} in {span:.1f} s = {done / span:6.1f}/s; CPU ms per "
                  f"payment: workers {1000 * (w1 - w0) / max(1, done):.2f}, postgres "
                  f"{1000 * (pg1 - pg0) / max(1, done):.2f}", flush=True)
            if waits:
                print("  backends per sample:", ", ".join(
                    f"{what} {count / max(1, span / 0.2):.1f}" for what, count in
                    waits.most_common(8)), flush=True)
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
