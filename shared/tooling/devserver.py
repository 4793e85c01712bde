"""``gateway dev``: the whole gateway on embedded defaults, for a newcomer's laptop.

Migrates the SQLite database, finds (or, the first time, creates) the demo merchant and issues
it a fresh API key, then runs the web server (gunicorn), the workers and beat under a
supervisor (``shared.tooling.supervisor``): a process that crashes is restarted on its own while the
others keep serving. Once everything is up it prints the key and a curl to paste, last, so
they do not scroll away. Ctrl-C stops everything.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass

from shared.config import Config
from shared.tooling.supervisor import Program, Supervisor

DEMO_MERCHANT = "Demo merchant"
PURGE_BROKER_EVERY_S = 60.0


def programs(port: int, python: str = sys.executable) -> list[Program]:
    """The same processes as the Procfile, sized for a laptop."""
    return [
        Program("web", [python, "-m", "gunicorn", "-c", "python:api.gunicorn_conf",
                        "--bind", f"127.0.0.1:{port}", "--workers", "2",
                        "--worker-class", "gthread", "--threads", "4", "api.wsgi:app"],
                ready_marker="Booting worker"),
        Program("worker", [python, "-m", "celery", "-A", "worker.app", "worker", "--loglevel",
                           "INFO", "--concurrency", "2", "-n", "worker@%h", "-Q",
                           "payments,refunds,maintenance"], ready_marker="ready."),
        # Deliveries wait on the network, so they get their own queue and a thread pool.
        Program("webhooks", [python, "-m", "celery", "-A", "worker.app", "worker", "--loglevel",
                             "INFO", "-P", "threads", "--concurrency", "8", "-n",
                             "webhooks@%h", "-Q", "webhooks,notifications"],
                ready_marker="ready."),
        Program("beat", [python, "-m", "celery", "-A", "worker.app", "beat", "--loglevel",
                         "INFO"], ready_marker="beat: Starting"),
    ]


@dataclass(frozen=True)
class DemoCredentials:
    merchant_id: str
    api_key: str
    created: bool            # the demo merchant was made by this run
    owner_email: str
    owner_password: str


def demo_credentials(config: Config) -> DemoCredentials:
    """Reuses the demo merchant of an earlier run instead of making another. Keys and
    passwords are stored hashed, so each run issues a new API key and a new password for the
    demo owner (the dashboard sign-in), both shown once."""
    from sqlalchemy import select

    import shared.models  # noqa: F401  (the model registry: every mapper before a flush)
    from shared.audit.service import Actor
    from shared.db import Database
    from shared.merchants.credentials import create_merchant, issue_key
    from shared.merchants.models import Merchant
    from shared.users.service import reset_demo_owner

    actor = Actor("operator", "gateway-dev")
    database = Database(config.database_url)
    try:
        with database.transaction() as session:
            merchant = session.scalars(select(Merchant).where(Merchant.name == DEMO_MERCHANT)
                                       .order_by(Merchant.created_at).limit(1)).first()
            created = merchant is None
            if merchant is None:
                merchant, key = create_merchant(session, DEMO_MERCHANT, actor=actor)
            else:
                key = issue_key(session, merchant.id, actor=actor)
            email, password = reset_demo_owner(session, config, merchant.id)
            return DemoCredentials(merchant.id, key.api_key, created, email, password)
    finally:
        database.dispose()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
            return True
    except OSError:
        return False


def banner(config: Config, port: int, demo: DemoCredentials) -> str:
    base = f"http://127.0.0.1:{port}"
    merchant_id, api_key = demo.merchant_id, demo.api_key
    which = "created" if demo.created else "reused from an earlier run"
    return f"""
==> Gateway running on {base}: web, worker, webhooks and beat, supervised
    (a process that crashes is restarted). SQLite database and broker under {config.var_dir}
    Demo merchant {merchant_id} ({which}); a new API key, shown only now:

    {api_key}

    curl -s {base}/api/v1/payments -H 'Authorization: Bearer {api_key}' \\
      -H 'Content-Type: application/json' \\
      -d '{{"amount": 10000, "currency": "INR",
           "payment_method": {{"type": "card", "token": "tok_success"}}}}'

    Dashboard: {base}/dashboard/  sign in as {demo.owner_email}
    with the password {demo.owner_password}  (a new one each run, shown only now)

    Operator CLI in another terminal: .venv/bin/gateway --help
    API docs: {base}/docs/    Stop with Ctrl-C.
"""


def run_dev(config: Config, port: int = 8000) -> int:
    from shared import embedded_broker
    from shared.migrate import upgrade

    os.makedirs(config.var_dir, exist_ok=True)
    # Alembic's plugin and revision lines would push the banner further up.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(config.database_url)
    demo = demo_credentials(config)

    supervisor = Supervisor(programs(port))
    stopping = {"flag": False}

    def stop(*_):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor.start_all()
    late = supervisor.wait_ready(60)
    deadline = time.monotonic() + 30
    while not _healthy(port) and time.monotonic() < deadline and not stopping["flag"]:
        supervisor.poll()
        time.sleep(0.3)
    if not stopping["flag"]:
        if not _healthy(port):
            supervisor.say("gateway dev: the web server did not answer /health; see the log "
                           "above (it is restarted if it exits)")
        if late:
            supervisor.say(f"gateway dev: still starting: {', '.join(late)}")
        time.sleep(1.0)  # let the processes' piped start-up lines (and /health's) print first
        supervisor.say(banner(config, port, demo))

    last_purge = time.monotonic()
    while not stopping["flag"]:
        supervisor.poll()
        if config.embedded_broker and time.monotonic() - last_purge >= PURGE_BROKER_EVERY_S:
            last_purge = time.monotonic()
            try:
                embedded_broker.purge_taken(config.broker_url)
            except Exception as exc:  # a busy broker file: try again next minute
                supervisor.say(f"gateway dev: broker clean-up skipped: {type(exc).__name__}")
        time.sleep(0.5)
    supervisor.say("gateway dev: stopping")
    supervisor.stop_all()
    return 0
