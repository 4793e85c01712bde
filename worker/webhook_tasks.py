"""Webhook tasks, all on the ``webhooks`` queue: thin wrappers over shared.webhooks.delivery.
There is no fan-out task: attempt 1 of each delivery is written with its event.
Run them on their own worker with an I/O pool so slow endpoints never hold up payments:
``celery -A worker.app worker -Q webhooks -P threads -c 32``."""
from __future__ import annotations

from celery.worker import state as worker_state

from shared import jobs
from shared.metrics import DELIVERY_OUTCOMES, TASK_OUTCOMES
from shared.webhooks import delivery
from shared.webhooks.states import DeliveryStatus
from worker.app import gateway_task

# Outcomes that are a real HTTP attempt (busy/skipped sent nothing).
_ATTEMPT_OUTCOMES = {DeliveryStatus.SUCCEEDED, DeliveryStatus.RETRYING, DeliveryStatus.FAILED,
                     DeliveryStatus.DEAD}


@gateway_task(jobs.DELIVER_WEBHOOK)
def deliver_webhook(self, log_id: str) -> str:
    # A warm shutdown (SIGTERM) ends a hand-over chain after its request in flight.
    outcome = delivery.deliver(self.runtime.db, self.runtime.config, log_id,
                               keep_going=lambda: not worker_state.should_stop)
    TASK_OUTCOMES.labels("deliver_webhook", outcome).inc()
    if outcome in _ATTEMPT_OUTCOMES:
        DELIVERY_OUTCOMES.labels(outcome).inc()
    return outcome


@gateway_task(jobs.DISPATCH_DUE_WEBHOOKS)
def dispatch_due_webhooks(self) -> dict:
    counts = delivery.dispatch_due(self.runtime.db)
    TASK_OUTCOMES.labels("dispatch_due_webhooks", "ok").inc()
    return counts
