"""Soak ``gateway dev`` (what ``make run`` starts) under light load, killing a worker now and
then: ``make soak`` (30 minutes) or ``python scripts/soak.py --minutes 5``.

It starts ``gateway dev`` on a free loopback port with its own var/ folder, sends a few
payments and refunds a second, SIGKILLs the payments worker every ``--kill-every`` seconds,
and at the end waits for every payment to settle. It prints the figures and exits non-zero if
``gateway dev`` stopped, the API failed a request, or a payment never settled. Traffic goes
to 127.0.0.1 only; the run is bounded by ``--minutes``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"completed", "failed", "canceled", "refunded", "partially_refunded"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append((int(entry), cmd.decode(errors="replace")))
        except (OSError, ValueError, IndexError):
            continue
    return found


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.errors: list[str] = []

    def call(self, method: str, path: str, body: dict | None = None) -> dict | None:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or method == "GET":
                self.errors.append(f"{method} {path}: {exc.code}")
            return None
        except OSError as exc:
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2.0, help="payments per second")
    parser.add_argument("--kill-every", type=float, default=120.0, help="seconds")
    args = parser.parse_args(argv)

    var = tempfile.mkdtemp(prefix="gw-soak-")
    port = free_port()
    log_path = Path(var) / "dev.log"
    # The soak polls every payment's status with one key, far above the default rate limit
    # (100/s per credential): it measures durability, so the limiter is off here.
    env = {**os.environ, "GATEWAY_VAR_DIR": var, "RATE_LIMIT": "off"}
    env.pop("DATABASE_URL", None), env.pop("REDIS_URL", None), env.pop("CELERY_BROKER_URL", None)
    gateway = str(Path(sys.executable).parent / "gateway")
    with open(log_path, "ab") as log:
        dev = subprocess.Popen([gateway, "dev", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    print(f"soak: gateway dev pid {dev.pid} on 127.0.0.1:{port}, log {log_path}", flush=True)
    try:
        return _run(args, dev, port, log_path)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGINT)
            try:
                dev.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(dev.pid, signal.SIGKILL)


def _api_key(log_path: Path, dev: subprocess.Popen, timeout: float = 120) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and dev.poll() is None:
        lines = log_path.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if "shown only now" in line:
                for candidate in lines[i + 1:i + 4]:
                    if candidate.strip().startswith("sk_"):
                        return candidate.strip()
        time.sleep(0.5)
    return None


def _run(args, dev: subprocess.Popen, port: int, log_path: Path) -> int:
    key = _api_key(log_path, dev)
    if key is None:
        print("soak: gateway dev never printed its API key", file=sys.stderr)
        return 1
    api = Api(f"http://127.0.0.1:{port}", key)
    started = time.monotonic()
    deadline = started + args.minutes * 60
    next_kill = started + args.kill_every
    payments: list[str] = []
    refunds = kills = 0
    while time.monotonic() < deadline and dev.poll() is None:
        tick = time.monotonic()
        created = api.call("POST", "/api/v1/payments", {
            "amount": 10_000, "currency": "INR",
            "payment_method": {"type": "card", "token": "tok_success"}})
        if created:
            payments.append(created["id"])
        if len(payments) > 5 and len(payments) % 5 == 0:
            # A partial refund of an earlier payment (refused with a 400 if not completed yet).
            if api.call("POST", "/api/v1/refunds",
                        {"payment_id": payments[-5], "amount": 2500}):
                refunds += 1
        api.call("GET", "/ready")
        if tick >= next_kill:
            next_kill = tick + args.kill_every
            workers = [pid for pid, cmd in children(dev.pid) if "worker@%h" in cmd]
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
                kills += 1
                print(f"soak: {time.monotonic() - started:.0f}s killed worker {pid}",
                      flush=True)
        time.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - tick)))

    alive = dev.poll() is None
    # A job lost with a killed worker is redone by the sweeper (RECONCILE_AFTER_S, 120 s).
    settle_deadline = time.monotonic() + 240
    pending = list(payments)
    while pending and alive and time.monotonic() < settle_deadline:
        pending = [pid for pid in pending
                   if (api.call("GET", f"/api/v1/payments/{pid}") or {}).get("status")
                   not in TERMINAL]
        if pending:
            time.sleep(2)
    log_text = log_path.read_text(errors="replace")
    restarts = log_text.count("restarting it")
    figures = {"minutes": round((time.monotonic() - started) / 60, 1),
               "payments": len(payments), "refunds": refunds, "worker_kills": kills,
               "restarts_logged": restarts, "unsettled_payments": len(pending),
               "api_errors": len(api.errors), "gateway_dev_alive": alive,
               "log_lines": log_text.count("\n")}
    print("soak: " + json.dumps(figures), flush=True)
    for problem in api.errors[:10]:
        print(f"soak: api error: {problem}", file=sys.stderr)
    return 0 if alive and not pending and not api.errors else 1


if __name__ == "__main__":
    sys.exit(main())
