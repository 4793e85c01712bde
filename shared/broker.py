"""The Celery application as both sides see it: broker settings, queues and routes.

The API only publishes (by task name, through the outbox relay); ``worker.app`` adds the task
modules. Development uses kombu's SQLAlchemy transport on a SQLite file under ``var/`` (see
``shared.embedded_broker``) so no server is needed; production uses Redis.
"""
from __future__ import annotations

import time

from celery import Celery
from kombu import Queue

from shared.config import Config

QUEUES = ("payments", "refunds", "webhooks", "maintenance")

ROUTES = {
    "gateway.process_payment": {"queue": "payments"},
    "gateway.poll_payment": {"queue": "payments"},
    "gateway.process_refund": {"queue": "refunds"},
    "gateway.process_provider_event": {"queue": "payments"},
    "gateway.deliver_webhook": {"queue": "webhooks"},
    "gateway.fan_out_event": {"queue": "webhooks"},
}


def make_celery(config: Config, name: str = "gateway") -> Celery:
    app = Celery(name)
    settings = dict(
        broker_url=config.broker_url,
        task_default_queue="maintenance",
        task_queues=[Queue(q) for q in QUEUES],
        task_routes=ROUTES,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only once it finished, and re-queued if its worker dies:
        # tasks are idempotent, so running twice is harmless; vanishing is not.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        enable_utc=True,
    )
    if config.embedded_broker:
        from shared import embedded_broker
        settings["broker_transport_options"] = embedded_broker.prepare(config.broker_url)
        # The SQL transport cannot broadcast (no fanout): no remote control, gossip or mingle.
        settings["worker_enable_remote_control"] = False
    else:
        settings["broker_transport_options"] = {
            # Longer than any task runs; retries that wait longer live in the database.
            "visibility_timeout": 3600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        }
    app.conf.update(settings)
    return app


def make_publisher(celery_app: Celery):
    """A publish function for the outbox relay: fails fast when the broker is down so an API
    request never waits on it (the periodic relay publishes later)."""

    def publish(task: str, args: list, queue: str) -> None:
        celery_app.send_task(task, args=args, queue=queue, retry=False,
                             headers={"enqueued_at": time.time()})

    return publish
