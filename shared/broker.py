"""The Celery application as both sides see it: broker settings, queues and routes.

The API only publishes (by task name, through the outbox relay); ``worker.app`` adds the task
modules. Development uses kombu's SQLAlchemy transport on a SQLite file under ``var/`` (see
``shared.embedded_broker``) so no server is needed; production uses Redis.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from collections.abc import Callable

from celery import Celery
from celery.app.amqp import AMQP
from kombu import Connection, Queue

from shared.config import Config
from shared.jobs import MAINTENANCE, QUEUES, ROUTES, coalesce

__all__ = ["QUEUES", "ROUTES", "GatewayAMQP", "celery_settings", "make_batch_publisher",
           "make_celery", "make_publisher"]


# How long a worker waits between tries to reach a broker it lost: 0.5 s, then 1, 1.5 and 2 s
# between every later try. kombu's own waits (2, 4, 6 ... up to 30 s), which Celery's consumer
# uses and does not let a setting change, left workers idle for up to 8 s after Redis came
# back from a 20 s outage (make chaos: 16.9-18.4 s to recover, the other faults 8-10 s). A
# try is one TCP connect to the broker: cheap for Redis even from many workers at once.
RECONNECT_WAITS = {"interval_start": 0.5, "interval_step": 0.5, "interval_max": 2.0}


class BrokerConnection(Connection):
    """kombu's Connection, retrying a lost broker on ``RECONNECT_WAITS`` unless the caller
    passes waits of its own."""

    def ensure_connection(self, *args, **kwargs):
        if len(args) <= 2:  # (errback, max_retries): the waits are not given positionally
            kwargs = {**RECONNECT_WAITS, **kwargs}
        return super().ensure_connection(*args, **kwargs)


class GatewayAMQP(AMQP):
    Connection = BrokerConnection


def make_celery(config: Config, name: str = "gateway") -> Celery:
    app = Celery(name, amqp=GatewayAMQP)
    app.conf.update(celery_settings(config))
    return app


def celery_settings(config: Config) -> dict:
    """Broker, queues, routes (from ``shared.jobs``) and delivery guarantees for ``config``."""
    settings = dict(
        broker_url=config.broker_url,
        task_default_queue=MAINTENANCE,
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
        if config.broker_url.startswith("redis://"):
            settings["broker_transport"] = "shared.redis_transport:Transport"
        settings["broker_transport_options"] = {
            # kombu's ack emulation keeps every message delivered to a worker in an unacked
            # hash until its task ends (two MULTI/EXEC round trips per message, ~20 % of a
            # payments worker's and ~28 % of a webhooks worker's CPU at 100 payments/s) and
            # puts it back only after ``visibility_timeout``. The database, not the broker,
            # is the record of every job (the outbox, the sweeper, the webhook and
            # notification schedules, docs/operations.md "What the broker holds"): a message
            # lost with a killed worker is sent again from there within minutes, where the
            # emulation would have taken the hour below. A worker that stops cleanly still
            # returns the messages it held (kombu's in-memory QoS restores them on close).
            "ack_emulation": False,
            # Longer than any task runs; retries that wait longer live in the database.
            "visibility_timeout": 3600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        }
    return settings


def make_publisher(celery_app: Celery):
    """A publish function for the outbox relay: fails fast when the broker is down so an API
    request never waits on it (the periodic relay publishes later)."""

    def publish(task: str, args: list, queue: str) -> None:
        celery_app.send_task(task, args=args, queue=queue, retry=False,
                             headers={"enqueued_at": time.time()})

    return publish


# publish_many([(task_name, args, queue), ...]) -> None; raises when the broker cannot take them.
PublishManyFn = Callable[[list[tuple[str, list, str]]], None]

_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def celery_message(task: str, args: list, queue: str, origin: str, now: float) -> str:
    """The Redis transport's envelope of a Celery (protocol 2) task message, exactly as
    ``send_task`` writes it for a queue given by name (anonymous exchange)."""
    task_id = str(uuid.uuid4())
    body = base64.b64encode(json.dumps([args, {}, _EMBED]).encode()).decode()
    return json.dumps({
        "body": body, "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0,
            "timelimit": [None, None], "root_id": task_id, "parent_id": None,
            "argsrepr": repr(args), "kwargsrepr": "{}", "origin": origin,
            "ignore_result": None, "replaced_task_nesting": 0, "stamped_headers": None,
            "stamps": {}, "enqueued_at": now},
        "properties": {
            "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())},
    }, separators=(",", ":"))


def make_batch_publisher(config: Config) -> PublishManyFn | None:
    """Publish many task messages with ONE pipelined round trip to Redis (LPUSH each onto its
    queue), without kombu's per-message machinery; jobs that travel in batches
    (``shared.jobs.BATCHED``) are merged first. None for brokers other than Redis."""
    if config.embedded_broker or not config.broker_url.startswith(("redis://", "rediss://")):
        return None
    import redis
    state: dict = {}

    def client():
        if state.get("pid") != os.getpid():  # one connection pool per (forked) process
            state.update(pid=os.getpid(), client=redis.Redis.from_url(
                config.broker_url, socket_connect_timeout=2, socket_timeout=5),
                origin=f"gen{os.getpid()}@{socket.gethostname()}")
        return state["client"], state["origin"]

    def publish_many(messages: list[tuple[str, list, str]]) -> None:
        redis_client, origin = client()
        now = time.time()
        pipe = redis_client.pipeline(transaction=False)
        for task, args, queue in coalesce(messages):
            pipe.lpush(queue, celery_message(task, args, queue, origin, now))
        pipe.execute()

    return publish_many
