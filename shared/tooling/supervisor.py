"""A small process supervisor for ``gateway dev``: starts named commands, prefixes their output
(``web      | ...``), restarts any that exits with a growing delay, and stops them all together.

A crashed worker is restarted on its own; the API and the other workers keep running. Its
unfinished jobs come back through the outbox relay and the stuck-work sweeper, as in
production.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

# Restart delays grow 1, 2, 4 ... seconds up to this cap; a process that ran this long
# without exiting counts as healthy again and its next restart is immediate.
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 60.0


@dataclass
class Program:
    name: str
    argv: list[str]
    # A line in the output that shows the program is up (None: up once started).
    ready_marker: str | None = None
    env: dict[str, str] | None = None


@dataclass
class _Running:
    program: Program
    proc: subprocess.Popen
    started: float
    ready: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None


class Supervisor:
    def __init__(self, programs: list[Program], out: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.programs = programs
        self.out = out or sys.stdout
        self.clock = clock
        self.running: dict[str, _Running] = {}
        self.restarts: dict[str, int] = {p.name: 0 for p in programs}
        self._failures: dict[str, int] = {p.name: 0 for p in programs}
        self._due: dict[str, float] = {}
        self._write_lock = threading.Lock()
        self._width = max((len(p.name) for p in programs), default=4)
        self.stopping = False

    # -- output ---------------------------------------------------------------------------
    def say(self, text: str) -> None:
        with self._write_lock:
            self.out.write(text if text.endswith("\n") else text + "\n")
            self.out.flush()

    def _pump(self, run: _Running) -> None:
        prefix = f"{run.program.name:<{self._width}} | "
        stream = run.proc.stdout
        assert stream is not None
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if run.program.ready_marker and run.program.ready_marker in line:
                run.ready.set()
            self.say(prefix + line)
        stream.close()

    # -- life cycle -----------------------------------------------------------------------
    def _start(self, program: Program) -> None:
        env = {**os.environ, **(program.env or {})}
        proc = subprocess.Popen(program.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        run = _Running(program, proc, self.clock())
        if program.ready_marker is None:
            run.ready.set()
        run.reader = threading.Thread(target=self._pump, args=(run,), daemon=True,
                                      name=f"supervise-{program.name}")
        run.reader.start()
        self.running[program.name] = run

    def start_all(self) -> None:
        for program in self.programs:
            self._start(program)

    def wait_ready(self, timeout: float) -> list[str]:
        """Wait until every program showed its ready line; return the names still not ready."""
        deadline = self.clock() + timeout
        for run in list(self.running.values()):
            run.ready.wait(max(0.0, deadline - self.clock()))
        return [name for name, run in self.running.items() if not run.ready.is_set()]

    def pid(self, name: str) -> int | None:
        run = self.running.get(name)
        return run.proc.pid if run else None

    def poll(self) -> list[str]:
        """Restart whatever exited (after its back-off); return the names restarted now."""
        if self.stopping:
            return []
        now = self.clock()
        restarted = []
        for name, run in list(self.running.items()):
            code = run.proc.poll()
            if code is None or name in self._due:
                continue
            # Whatever the dead leader forked (a prefork pool) goes with it.
            try:
                os.killpg(run.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if now - run.started >= HEALTHY_AFTER_S:
                self._failures[name] = 0
            delay = min(MAX_BACKOFF_S, float(2 ** self._failures[name])) \
                if self._failures[name] else 0.0
            self._failures[name] += 1
            self._due[name] = now + delay
            self.say(f"gateway dev: {name} exited ({_describe(code)}); restarting it"
                     + (f" in {delay:.0f} s" if delay else "")
                     + "; the other processes keep running")
        for name, due in list(self._due.items()):
            if now >= due:
                del self._due[name]
                self._start(self.running[name].program)
                self.restarts[name] += 1
                restarted.append(name)
        return restarted

    def stop_all(self, timeout: float = 10.0) -> None:
        self.stopping = True
        for run in self.running.values():
            _signal_group(run.proc, signal.SIGTERM)
        deadline = self.clock() + timeout
        for run in self.running.values():
            try:
                run.proc.wait(max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                _signal_group(run.proc, signal.SIGKILL)
                run.proc.wait(5)
        for run in self.running.values():
            if run.reader is not None:
                run.reader.join(2)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
