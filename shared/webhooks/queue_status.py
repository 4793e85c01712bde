"""What an operator sees at ``GET /api/v1/queue/status`` (SPEC "Operations").

Every figure is cheap whatever the size of the tables: queue depths are one Redis round trip
(LLEN, and LINDEX -1 for the oldest message, whose ``enqueued_at`` header the publisher sets);
pending and retrying deliveries are small sets read through the (status, next_retry_at)
index; ``dead`` only grows, so it comes from a maintained counter; the outbox backlog uses
its partial index. Workers online come from a Celery ping that a background thread refreshes,
so a request never waits for workers to answer.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.broker import QUEUES, make_celery
from shared.db import utcnow
from shared.outbox import OutboxMessage
from shared.representation import iso
from shared.webhooks.delivery import counter_total
from shared.webhooks.models import WebhookLog
from shared.webhooks.states import DeliveryStatus

log = logging.getLogger(__name__)

# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue under suffixed keys.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)
PING_INTERVAL_S = 5.0
PING_TIMEOUT_S = 1.0


def _queue_keys(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{_PRIORITY_SEPARATOR}{step}"
            for step in _PRIORITY_STEPS]


def _message_age(raw, now: float) -> float | None:
    if raw is None:
        return None
    try:
        enqueued_at = json.loads(raw).get("headers", {}).get("enqueued_at")
    except (ValueError, AttributeError):
        return None
    if not isinstance(enqueued_at, (int, float)):
        return None
    return round(max(0.0, now - enqueued_at), 3)


def redis_queue_depths(client) -> dict:
    """Depth and age of the oldest waiting message of every queue, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        for key in _queue_keys(queue):
            pipe.llen(key)
            pipe.lindex(key, -1)  # kombu LPUSHes and BRPOPs: the oldest is on the right
    replies = iter(pipe.execute())
    now = time.time()
    result = {}
    for queue in QUEUES:
        depth, ages = 0, []
        for _key in _queue_keys(queue):
            length, oldest = next(replies), next(replies)
            depth += length or 0
            age = _message_age(oldest, now)
            if age is not None:
                ages.append(age)
        result[queue] = {"depth": depth, "oldest_age_s": max(ages) if ages else None}
    return result


class WorkerPresence:
    """Celery workers answering a ping, refreshed by a daemon thread every few seconds."""

    def __init__(self, config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_pid: int | None = None
        self._answer: dict = {"online": None, "names": [], "checked_at": None}

    def snapshot(self) -> dict:
        self._ensure_running()
        with self._lock:
            return dict(self._answer)

    def _ensure_running(self) -> None:
        if self.config.embedded_broker:
            return  # the embedded SQL transport cannot broadcast a ping
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and \
                    self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="worker-presence",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        app = make_celery(self.config, name="gateway-presence")
        while True:
            try:
                replies = app.control.ping(timeout=PING_TIMEOUT_S) or []
                names = sorted(name for reply in replies for name in reply)
                answer = {"online": len(names), "names": names, "checked_at": iso(utcnow())}
            # Whatever goes wrong (broker down, a malformed reply), this thread must keep
            # running and say "unknown" rather than report a stale count.
            except Exception as exc:  # noqa: BLE001
                log.warning("worker ping failed: %s", type(exc).__name__)
                answer = {"online": None, "names": [], "checked_at": iso(utcnow())}
            with self._lock:
                self._answer = answer
            time.sleep(PING_INTERVAL_S)


_presence: dict[str, WorkerPresence] = {}
_redis_clients: dict[str, object] = {}


def worker_presence(config) -> WorkerPresence:
    # One pinging thread per broker and process, however many apps the process builds.
    if config.broker_url not in _presence:
        _presence[config.broker_url] = WorkerPresence(config)
    return _presence[config.broker_url]


def _redis(url: str):
    client = _redis_clients.get(url)
    if client is None:
        import redis
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        _redis_clients[url] = client
    return client


def queue_depths(config) -> tuple[dict, str | None]:
    if config.embedded_broker:
        from shared import embedded_broker
        return embedded_broker.queue_depths(config.broker_url, QUEUES), None
    import redis
    try:
        return redis_queue_depths(_redis(config.broker_url)), None
    except (redis.RedisError, OSError) as exc:
        return {q: {"depth": None, "oldest_age_s": None} for q in QUEUES}, \
            f"broker unreachable: {type(exc).__name__}"


def delivery_counts(session: Session) -> dict:
    def count(status: str) -> int:
        return session.execute(select(func.count()).select_from(WebhookLog)
                               .where(WebhookLog.status == status)).scalar_one()

    oldest_due = session.scalar(select(func.min(WebhookLog.next_retry_at))
                                .where(WebhookLog.status == DeliveryStatus.RETRYING))
    lag = (utcnow() - oldest_due).total_seconds() if oldest_due is not None else None
    return {"pending": count(DeliveryStatus.PENDING),
            "retrying": count(DeliveryStatus.RETRYING),
            "dead": counter_total(session, "dead"),
            # How late the most overdue retry is; above a few seconds the dispatcher
            # (beat + a webhooks worker) is not keeping up.
            "retry_lag_s": round(lag, 3) if lag is not None and lag > 0 else 0.0}


def queue_status(db, config) -> dict:
    queues, broker_error = queue_depths(config)
    with db.transaction() as session:
        deliveries = delivery_counts(session)
        backlog = session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.published_at.is_(None)))
    body = {"object": "queue_status", "generated_at": iso(utcnow()), "queues": queues,
            "workers": worker_presence(config).snapshot(),
            "outbox": {"backlog": backlog}, "webhook_deliveries": deliveries}
    if broker_error:
        body["broker_error"] = broker_error
    return body
