"""The Celery application: ``celery -A worker.app worker`` / ``celery -A worker.app beat``."""
from __future__ import annotations

import os

from celery.signals import setup_logging, worker_process_init, worker_process_shutdown
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.broker import make_celery
from shared.config import Config
from shared.logging_setup import configure_logging
from shared.periodic_log import demote_periodic_ticks

config = Config.from_env()
celery = make_celery(config)
celery.conf.update(include=["worker.tasks", "worker.provider_tasks",
                            "worker.webhook_tasks", "worker.notification_tasks",
                            "worker.ledger_tasks"], beat_schedule={
    "relay-outbox": {"task": "gateway.relay_outbox", "schedule": 2.0},
    "sweep-stuck-work": {"task": "gateway.sweep_stuck_work",
                         "schedule": config.sweep_interval_s},
    "purge-idempotency-keys": {"task": "gateway.purge_idempotency_keys", "schedule": 3600.0},
    "purge-published-outbox": {"task": "gateway.purge_published_outbox", "schedule": 3600.0},
    # Ledger: pending money becomes available at available_on; daily payouts (if
    # PAYOUT_SCHEDULE=daily; once per day per merchant and currency); lost payout jobs.
    "release-available-balance": {"task": "gateway.release_available_balance",
                                  "schedule": 60.0},
    "daily-payouts": {"task": "gateway.daily_payouts", "schedule": 3600.0},
    "refresh-payment-summary": {"task": "gateway.refresh_payment_summary", "schedule": 60.0},
    "sweep-pending-payouts": {"task": "gateway.sweep_pending_payouts",
                              "schedule": config.sweep_interval_s},
    # Webhook retries live in the database; this sends whatever is due. A tick that waited
    # in the queue longer than a few seconds is superseded by a newer one, so it expires.
    "dispatch-due-webhooks": {"task": "gateway.dispatch_due_webhooks", "schedule": 1.0,
                              "options": {"queue": "webhooks", "expires": 5}},
    # Notifications (retries with backoff live in the database) and risk velocity upkeep.
    "dispatch-due-notifications": {"task": "gateway.dispatch_due_notifications",
                                   "schedule": 5.0,
                                   "options": {"queue": "notifications", "expires": 10}},
    "purge-risk-velocity-hits": {"task": "gateway.purge_risk_velocity_hits",
                                 "schedule": 3600.0},
})
celery.conf.beat_schedule_filename = f"{config.var_dir}/celerybeat-schedule"
app = celery


def gateway_task(name: str):
    """A task that, when the database is briefly unreachable (a restart, a failover), retries
    itself with backoff instead of failing and being acknowledged. Tasks are idempotent, and
    the sweeper picks up anything that still slips through."""
    return celery.task(name=name, autoretry_for=(OperationalError, InterfaceError),
                       retry_backoff=1, retry_backoff_max=30, retry_jitter=True,
                       max_retries=10)


@setup_logging.connect
def _logging(**kwargs):
    configure_logging(config.log_level)
    demote_periodic_ticks(celery.conf.beat_schedule)


@worker_process_init.connect
def _fresh_connections(**kwargs):
    # Each forked worker process opens its own database connections.
    from worker import context
    context.reset()


@worker_process_shutdown.connect
def _metrics_process_dead(**kwargs):
    # Multiprocess metrics (docs/operations.md, "Metrics"): this child's live samples go.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(os.getpid())
