"""The gateway stack on loopback for the benchmark and chaos runs: PostgreSQL, Redis, gunicorn
(the API, and the naive floor app), Celery workers and beat. Every process is started in its
own session (process group) and ended in ``Stack.close()``, which callers run in ``finally``."""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.harness import processes
from tests.harness.processes import GatewayProcess, wait_for
from tests.harness.services import PostgresServer, RedisServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "var" / "bench"



def procfile_web_args() -> list[str]:
    """gunicorn options of the Procfile's ``web`` line (defaults filled in), without its bind
    address and app: the bench binds loopback and serves the gateway or the floor with them."""
    try:
        line = next(raw for raw in (ROOT / "Procfile").read_text().splitlines()
                    if raw.startswith("web:"))
    except (OSError, StopIteration):
        return ["-w", "4", "-k", "gthread", "--threads", "2"]
    tokens = shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line[len("web:"):]))
    args, skip = [], False
    for token in tokens[1:-1]:  # drop "gunicorn" and the app
        if skip:
            skip = False
        elif token in ("-b", "--bind"):
            skip = True
        elif not token.startswith("--bind="):
            args.append(token)
    return args


# The web tier's settings, used for the gateway and the floor alike.
GUNICORN_ARGS = procfile_web_args()
# The payments workers as docs/operations.md runs them: a thread pool per process, since a
# payment's time is mostly waiting on PostgreSQL and the provider, and one process per core,
# since one process's threads share one core (measured 2026-12-02 on 2 cores, 10,000-payment
# backlog: 1 x threads -c 32 drained 34-37 payments/s, 2 x threads -c 16 60-66/s).
PAYMENT_WORKER_POOL, PAYMENT_WORKER_CONCURRENCY, PAYMENT_WORKERS = "threads", 16, 2


class WorkerGroup(list):
    """Several worker processes started and ended together."""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        for worker in self:
            worker.kill(sig)


class Gunicorn:
    def __init__(self, app: str, env: dict, name: str) -> None:
        self.app, self.name = app, name
        self.port = free_port()
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.log_path = tempfile.mktemp(prefix=f"gw-{name}-", suffix=".log")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, "-b", f"127.0.0.1:{self.port}",
             self.app], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        wait_for_port(self.port, 60)
        # The port opens before the workers have imported the app; on a loaded machine that
        # takes tens of seconds. Wait for answers (any status) before measuring anything.
        answers, deadline = 0, time.monotonic() + 120
        while answers < 8 and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=120).close()
                answers += 1
            except urllib.error.HTTPError:
                answers += 1  # a worker answered (the floor app has no /health)
            except OSError:   # reset or refused while the workers boot
                time.sleep(0.2)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        processes.kill_process_group(self.proc, sig)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


class Stack:
    """PostgreSQL + Redis + migrations + a merchant and operator key; processes on demand."""

    def __init__(self, extra_env: dict | None = None, pg_settings: tuple[str, ...] = ()
                 ) -> None:
        self.children: list = []
        self.pg = PostgresServer(fast=True, settings=pg_settings).start()
        self.redis = RedisServer().start()
        from shared.migrate import upgrade
        upgrade(self.pg.url)
        self.var_dir = tempfile.mkdtemp(prefix="gw-bench-var-")
        self.env = {
            "DATABASE_URL": self.pg.url, "REDIS_URL": self.redis.url,
            "GATEWAY_VAR_DIR": self.var_dir, "SECRET_KEY": "bench-secret-key-0123456789",
            "LOG_LEVEL": "WARNING", "AUTH_CACHE_TTL_S": "5",
            # 0 unless a diagnostic asks for a provider that takes time to answer.
            "SANDBOX_LATENCY_MS": os.environ.get("BENCH_SANDBOX_LATENCY_MS", "0"),
            "PROVIDER_RETRY_BASE_MS": "10",
            # Every bench payment uses one sandbox token: velocity would block all but 10.
            "RISK_VELOCITY": "0",
            # One API key drives the whole load: the default limit (100/s per credential)
            # would turn most requests into 429s. The limiter still runs (and costs what it
            # costs) but refuses nothing; bench/ratelimit_cost.py measures it against off.
            "RATE_LIMIT": "1000000/second", "RATE_LIMIT_BURST": "2000000",
            **(extra_env or {}),
        }
        import shared.models  # noqa: F401  (the model registry)
        from shared.db import Database
        self.db = Database(self.pg.url, pool_size=4, max_overflow=4)
        self.merchant_id, self.api_key, self.operator_key = self._credentials()

    def _credentials(self) -> tuple[str, str, str]:
        from shared.merchants.credentials import create_merchant, issue_key
        with self.db.transaction() as session:
            merchant, key = create_merchant(session, "bench")
            operator = issue_key(session, None, role="operator")
            return merchant.id, key.api_key, operator.api_key

    # -- processes -------------------------------------------------------------------------
    def track(self, proc):
        self.children.append(proc)
        return proc

    def gunicorn(self, app: str = "api.wsgi:app", name: str = "web", env: dict | None = None
                 ) -> Gunicorn:
        return self.track(Gunicorn(app, {**self.env, **(env or {})}, name)).start()

    def worker(self, queues: str = "payments,refunds,maintenance", concurrency: int = 4,
               pool: str = "prefork", app: str = "worker.app", env: dict | None = None
               ) -> GatewayProcess:
        # INFO: the harness waits for Celery's "ready." line (as production logs would show).
        proc = processes.worker({**self.env, "LOG_LEVEL": "INFO", **(env or {})}, queues,
                                concurrency, pool)
        if app != "worker.app":
            proc.args[proc.args.index("worker.app")] = app
        self.track(proc)  # tracked before start: a failed start is still killed in close()
        return proc.start()

    def payment_workers(self, queues: str = "payments,refunds,maintenance") -> WorkerGroup:
        return WorkerGroup(self.worker(queues, PAYMENT_WORKER_CONCURRENCY,
                                       pool=PAYMENT_WORKER_POOL)
                           for _ in range(PAYMENT_WORKERS))

    def beat(self) -> GatewayProcess:
        return self.track(processes.beat({**self.env, "LOG_LEVEL": "INFO"})).start()

    def close(self) -> None:
        for child in reversed(self.children):
            try:
                child.kill(signal.SIGKILL)
            except Exception:
                pass
        self.children.clear()
        try:
            self.db.dispose()
        except Exception:
            pass
        self.redis.destroy()
        self.pg.destroy()

    # -- helpers ---------------------------------------------------------------------------
    def sql(self, statement: str, **params):
        from sqlalchemy import text
        with self.db.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    def vacuum(self, table: str) -> None:
        from sqlalchemy import text
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {table}"))

    def scalar(self, statement: str, **params):
        return self.sql(statement, **params)[0][0]

    def redis_client(self):
        import redis
        return redis.Redis.from_url(self.redis.url)


def http_json(method: str, url: str, key: str | None = None, body: dict | None = None,
              timeout: float = 10.0) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run_wrk(url: str, script: str, connections: int, seconds: int, env: dict,
            threads: int = 2) -> dict:
    """wrk with one of bench/*.lua; the script's done() prints a BENCH_JSON line."""
    out = subprocess.run(
        ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d",
         f"{seconds}s", "--latency", "--timeout", "5s", "-s", str(ROOT / "bench" / script),
         url], capture_output=True, text=True, env={**os.environ, **env},
        timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line[len("BENCH_JSON "):])
            secs = raw["duration_us"] / 1e6
            return {"rps": round(raw["requests"] / secs, 1) if secs else 0.0,
                    "p50_ms": round(raw["p50_us"] / 1000, 2),
                    "p99_ms": round(raw["p99_us"] / 1000, 2),
                    "errors": raw["errors"] + raw["non2xx"], "requests": raw["requests"]}
    raise RuntimeError(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")


def py_spy(pid: int, seconds: int, out, rate: int = 100, gil: bool = False):
    """py-spy recording ``pid`` for ``seconds`` into ``out`` (collapsed stacks); wait on it."""
    return subprocess.Popen(
        [sys.executable.replace("python", "py-spy"), "record", "-r", str(rate), "-d",
         str(seconds), "--format", "raw", *(["--gil"] if gil else []), "-o", str(out),
         "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Progress:
    """A one-line progress display on stderr for long phases."""

    def __init__(self, label: str, total: float) -> None:
        self.label, self.total, self.started = label, total, time.monotonic()
        self.tty = sys.stderr.isatty()

    def update(self, done: float, note: str = "") -> None:
        frac = min(1.0, done / self.total) if self.total else 1.0
        bar = "#" * int(frac * 30)
        line = (f"  {self.label:<34} [{bar:<30}] {frac * 100:5.1f}% "
                f"{time.monotonic() - self.started:6.1f}s {note}")
        if self.tty:
            sys.stderr.write("\r" + line[:150])
        elif frac >= 1.0 or time.monotonic() - getattr(self, "_last", 0.0) >= 5:
            self._last = time.monotonic()  # not a terminal: a line every 5 s at most
            sys.stderr.write(line[:150] + "\n")
        sys.stderr.flush()

    def finish(self, note: str = "") -> None:
        self.update(self.total, note)
        if self.tty:
            sys.stderr.write("\n")


__all__ = ["Stack", "Gunicorn", "http_json", "run_wrk", "Progress", "wait_for", "OUT_DIR",
           "ROOT", "GUNICORN_ARGS", "PAYMENT_WORKER_POOL", "PAYMENT_WORKER_CONCURRENCY",
           "PAYMENT_WORKERS", "WorkerGroup"]
