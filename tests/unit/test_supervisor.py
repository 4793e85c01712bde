"""The ``gateway dev`` supervisor restarts a crashed process and leaves the others running."""
from __future__ import annotations

import io
import os
import signal
import sys
import time

from shared.tooling.supervisor import Program, Supervisor

SLEEPER = "import time; print('up', flush=True); time.sleep(60)"


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_process_is_restarted_and_the_others_keep_running():
    out = io.StringIO()
    sup = Supervisor([Program("alpha", [sys.executable, "-c", SLEEPER], ready_marker="up"),
                      Program("beta", [sys.executable, "-c", SLEEPER], ready_marker="up")],
                     out=out)
    sup.start_all()
    try:
        assert sup.wait_ready(15) == []
        alpha, beta = sup.pid("alpha"), sup.pid("beta")
        os.kill(alpha, signal.SIGKILL)
        assert _wait(lambda: sup.poll() == ["alpha"] or sup.restarts["alpha"] == 1)
        assert sup.restarts == {"alpha": 1, "beta": 0}
        assert sup.pid("alpha") != alpha and sup.pid("beta") == beta
        assert sup.running["beta"].proc.poll() is None
        assert sup.wait_ready(15) == []
        text = out.getvalue()
        assert "alpha exited (killed by SIGKILL); restarting it" in text
        assert "alpha | up" in text and "beta  | up" in text
    finally:
        sup.stop_all()
    assert all(run.proc.poll() is not None for run in sup.running.values())


def test_a_process_that_keeps_crashing_is_restarted_with_growing_delays():
    now = [1000.0]
    out = io.StringIO()
    sup = Supervisor([Program("crash", [sys.executable, "-c", "raise SystemExit(3)"])],
                     out=out, clock=lambda: now[0])
    sup.start_all()
    try:
        assert _wait(lambda: sup.running["crash"].proc.poll() is not None)
        assert sup.poll() == ["crash"]  # the first restart is immediate
        assert _wait(lambda: sup.running["crash"].proc.poll() is not None)
        assert sup.poll() == []  # the second waits 2 s
        now[0] += 1.0
        assert sup.poll() == []
        now[0] += 1.5
        assert sup.poll() == ["crash"]
        assert "crash exited (exit code 3); restarting it in 2 s" in out.getvalue()
    finally:
        sup.stop_all()
