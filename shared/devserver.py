"""``gateway dev``: the whole gateway on embedded defaults, for a newcomer's laptop.

Migrates the SQLite database, creates a demo merchant, starts the web server (gunicorn), a
worker and beat as separate processes, prints a curl to paste, and stops them all on Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from shared.config import Config


def _wait_ready(port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def run_dev(config: Config, port: int = 8000) -> int:
    from shared.db import Database
    from shared.merchants.credentials import create_merchant
    from shared.migrate import upgrade
    from shared.users.service import create_demo_owner

    os.makedirs(config.var_dir, exist_ok=True)
    upgrade(config.database_url)
    with Database(config.database_url).transaction() as session:
        merchant, key = create_merchant(session, "Demo merchant")
        owner, owner_password = create_demo_owner(session, config, merchant.id)

    py = sys.executable
    procs = [
        subprocess.Popen([py, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                          "--access-logfile", "-", "api.wsgi:app"]),
        subprocess.Popen([py, "-m", "celery", "-A", "worker.app", "worker", "--loglevel",
                          "INFO", "--concurrency", "2", "-n", "worker@%h", "-Q",
                          "payments,refunds,maintenance"]),
        # Deliveries wait on the network, so they get their own queue and a thread pool.
        subprocess.Popen([py, "-m", "celery", "-A", "worker.app", "worker", "--loglevel",
                          "INFO", "-P", "threads", "--concurrency", "8", "-n", "webhooks@%h",
                          "-Q", "webhooks"]),
        subprocess.Popen([py, "-m", "celery", "-A", "worker.app", "beat", "--loglevel", "INFO"]),
    ]

    def stop(*_):
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if not _wait_ready(port):
        print("gateway dev: the web server did not come up; see the log above", file=sys.stderr)
        stop()
    base = f"http://127.0.0.1:{port}"
    print(f"""
==> Gateway running on {base} (API, worker, beat; SQLite and broker under {config.var_dir})
    Demo merchant {merchant.id}, API key shown once: {key.api_key}
    Demo owner (shown once): {owner.email} / {owner_password}
      POST {base}/api/v1/auth/login {{"email", "password"}} -> access and refresh tokens

    curl -s {base}/api/v1/payments -H 'Authorization: Bearer {key.api_key}' \\
      -H 'Content-Type: application/json' \\
      -d '{{"amount": 10000, "currency": "INR",
           "payment_method": {{"type": "card", "token": "tok_success"}}}}'

    API docs: {base}/docs/    Stop with Ctrl-C.
""", flush=True)
    while all(proc.poll() is None for proc in procs):
        time.sleep(1)
    print("gateway dev: a process exited; stopping the others", file=sys.stderr)
    stop()
    return 1
