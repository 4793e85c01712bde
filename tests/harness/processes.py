"""Real gateway processes for integration tests: Celery workers and beat started as separate
OS processes with the test's environment, so tests can kill them (SIGKILL) like production
would lose them."""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count(1)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


def kill_process_group(proc: subprocess.Popen | None, sig: int = signal.SIGKILL,
                       timeout: float = 20) -> None:
    """Signal a process started with ``start_new_session=True`` and everything it forked
    (a Celery parent and its pool, gunicorn and its workers); SIGKILL if it outstays
    ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


class GatewayProcess:
    def __init__(self, args: list[str], env: dict, ready_marker: str | None) -> None:
        self.args = args
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.ready_marker = ready_marker
        self.log_path = tempfile.mktemp(prefix="gw-proc-", suffix=".log")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "GatewayProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if self.ready_marker:
            wait_for(lambda: self.ready_marker in self.log() or self.proc.poll() is not None,
                     timeout, message=f"{self.args[3:6]} to start")
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited early:\n{self.log()[-3000:]}")
        return self

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        kill_process_group(self.proc, sig, timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM) if self.proc and self.proc.poll() is None else None
        if hasattr(self, "_log"):
            self._log.close()


def worker(env: dict, queues: str = "payments,refunds,maintenance", concurrency: int = 2,
           pool: str = "prefork") -> GatewayProcess:
    name = f"w{next(_names)}-{os.getpid()}@%h"
    args = [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "-Q", queues,
            "-c", str(concurrency), "-P", pool, "-n", name, "--loglevel", "INFO",
            "--without-gossip", "--without-mingle"]
    return GatewayProcess(args, env, ready_marker="ready.")


def beat(env: dict) -> GatewayProcess:
    schedule = tempfile.mktemp(prefix="gw-beat-")
    args = [sys.executable, "-m", "celery", "-A", "worker.app", "beat", "--loglevel", "INFO",
            "-s", schedule]
    return GatewayProcess(args, env, ready_marker="beat: Starting")
