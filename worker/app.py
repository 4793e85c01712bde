"""The Celery application: ``celery -A worker.app worker`` / ``celery -A worker.app beat``.

Importing this module builds no configuration: the settings (broker, routes, beat schedule)
are computed from the environment when Celery first reads them, and each task reaches the
database through its base, ``GatewayTask``, which owns the process's runtime (in the style of
flask's ``celery_init_app``: the app is created with its task class).
"""
from __future__ import annotations

import functools
import os
import threading
from typing import ClassVar

from celery import Celery, Task
from celery.signals import (
    setup_logging,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)
from sqlalchemy.exc import InterfaceError, OperationalError

import shared.models  # noqa: F401  (the model registry: every mapper before a flush)
from shared import jobs
from shared.broker import GatewayAMQP, celery_settings
from shared.config import Config
from shared.logging_setup import configure_logging
from shared.periodic_log import demote_periodic_ticks, skip_received_records
from shared.runtime import Runtime, build_runtime, freeze_startup_objects

TASK_MODULES = ["worker.tasks", "worker.provider_tasks", "worker.webhook_tasks",
                "worker.notification_tasks", "worker.ledger_tasks"]
# Connections kept per worker process: one per thread of the Procfile's -c 32 pools, a few
# more on overflow. Idle ones are only opened when that many threads used them at once.
WORKER_DB_POOL_SIZE, WORKER_DB_MAX_OVERFLOW = 34, 8


@functools.cache
def worker_config() -> Config:
    """This process's configuration, read from the environment on first use."""
    return Config.from_env()


class GatewayTask(Task):
    """The base of every task. When the database is briefly unreachable (a restart, a
    failover) a task retries itself with backoff instead of failing and being acknowledged;
    tasks are idempotent, and the sweeper picks up anything that still slips through.

    ``self.runtime`` is this process's runtime (config, database, outbox relay publishing with
    this worker's broker connection), built on first use in each (forked) process so every
    process gets its own pool."""

    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 1
    retry_backoff_max = 30
    retry_jitter = True
    max_retries = 10

    # One per process, shared by every task class (each task is its own subclass). The lock
    # makes the first tasks of a thread pool build one runtime between them, not one each.
    _process: ClassVar[dict] = {}
    _building: ClassVar[threading.Lock] = threading.Lock()

    @property
    def runtime(self) -> Runtime:
        process = GatewayTask._process
        if process.get("pid") != os.getpid():
            with GatewayTask._building:
                if process.get("pid") != os.getpid():
                    reset_runtime()
                    # Pings only connections that sat idle (shared.db.ping_idle_connections):
                    # one that died in use with a PostgreSQL restart fails its task with an
                    # OperationalError, the pool is invalidated, and the task retries. The
                    # pool keeps a connection per thread of the largest pool we run (-c 32):
                    # a smaller pool closes every overflow connection it gets back and opens
                    # a new one (a PostgreSQL backend) a moment later.
                    process["runtime"] = build_runtime(worker_config(), celery_app=self.app,
                                                       pool_size=WORKER_DB_POOL_SIZE,
                                                       max_overflow=WORKER_DB_MAX_OVERFLOW)
                    process["pid"] = os.getpid()
        return process["runtime"]


def reset_runtime() -> None:
    """Forget this process's runtime; a forked child must not use its parent's connections."""
    runtime = GatewayTask._process.pop("runtime", None)
    GatewayTask._process.clear()
    if runtime is not None:
        runtime.db.engine.dispose(close=False)


def _settings() -> dict:
    config = worker_config()
    beat_schedule = {
        "relay-outbox": {"task": jobs.RELAY_OUTBOX.name, "schedule": 2.0},
        "sweep-stuck-work": {"task": jobs.SWEEP_STUCK_WORK.name,
                             "schedule": config.sweep_interval_s},
        "purge-idempotency-keys": {"task": jobs.PURGE_IDEMPOTENCY_KEYS.name, "schedule": 3600.0},
        "purge-published-outbox": {"task": jobs.PURGE_PUBLISHED_OUTBOX.name, "schedule": 3600.0},
        # Ledger: pending money becomes available at available_on; daily payouts (if
        # PAYOUT_SCHEDULE=daily; once per day per merchant and currency); lost payout jobs.
        "release-available-balance": {"task": jobs.RELEASE_AVAILABLE_BALANCE.name,
                                      "schedule": 60.0},
        # Payments' balance changes (shared.ledger.deltas) into their accounts' balances.
        "fold-balance-deltas": {"task": jobs.FOLD_BALANCE_DELTAS.name, "schedule": 5.0,
                                "options": {"expires": 10}},
        "daily-payouts": {"task": jobs.DAILY_PAYOUTS.name, "schedule": 3600.0},
        "refresh-payment-summary": {"task": jobs.REFRESH_PAYMENT_SUMMARY.name,
                                    "schedule": 60.0},
        "sweep-pending-payouts": {"task": jobs.SWEEP_PENDING_PAYOUTS.name,
                                  "schedule": config.sweep_interval_s},
        # Webhook retries live in the database; this sends whatever is due. A tick that waited
        # in the queue longer than a few seconds is superseded by a newer one, so it expires.
        "dispatch-due-webhooks": {"task": jobs.DISPATCH_DUE_WEBHOOKS.name, "schedule": 1.0,
                                  "options": {"queue": jobs.DISPATCH_DUE_WEBHOOKS.queue,
                                              "expires": 5}},
        # Notifications (retries with backoff live in the database) and risk velocity upkeep.
        "dispatch-due-notifications": {"task": jobs.DISPATCH_DUE_NOTIFICATIONS.name,
                                       "schedule": 5.0,
                                       "options": {"queue": jobs.DISPATCH_DUE_NOTIFICATIONS.queue,
                                                   "expires": 10}},
        "purge-risk-velocity-hits": {"task": jobs.PURGE_RISK_VELOCITY_HITS.name,
                                     "schedule": 3600.0},
    }
    return {**celery_settings(config), "include": TASK_MODULES, "beat_schedule": beat_schedule,
            "beat_schedule_filename": f"{config.var_dir}/celerybeat-schedule"}


celery = Celery("gateway", task_cls=GatewayTask, amqp=GatewayAMQP)  # see RECONNECT_WAITS
celery.add_defaults(_settings)  # evaluated when Celery first reads its configuration
app = celery


def gateway_task(job: jobs.Job):
    """Register the decorated function as the task for ``job`` (a job of ``shared.jobs``),
    bound: it receives the task (``self.runtime``) before the message's arguments."""
    if jobs.BY_NAME.get(job.name) != job:
        raise ValueError(f"{job} is not in the job catalogue (shared.jobs)")
    return celery.task(name=job.name, bind=True)


@setup_logging.connect
def _logging(**kwargs):
    configure_logging(worker_config().log_level)
    demote_periodic_ticks(celery.conf.beat_schedule)
    skip_received_records()


@worker_process_init.connect
def _fresh_connections(**kwargs):
    # Each forked worker process opens its own database connections.
    reset_runtime()
    freeze_startup_objects()


@worker_ready.connect
def _freeze_when_ready(**kwargs):
    # The process that runs the tasks of a threads (or solo) pool: started, about to consume.
    freeze_startup_objects()


@worker_process_shutdown.connect
def _metrics_process_dead(**kwargs):
    # Multiprocess metrics (docs/operations.md, "Metrics"): this child's live samples go.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(os.getpid())
