"""Notification and risk housekeeping tasks: thin wrappers over shared.notifications and
shared.risk. Notifications have their own ``notifications`` queue so a slow mail server never
holds up payments: run ``celery -A worker.app worker -Q notifications -P threads -c 8`` (the
Procfile's webhooks worker takes this queue too)."""
from __future__ import annotations

from shared import jobs
from shared.metrics import TASK_OUTCOMES
from shared.notifications import delivery
from shared.risk import velocity
from worker.app import gateway_task


@gateway_task(jobs.SEND_NOTIFICATION)
def send_notification(self, notification_id: str) -> str:
    outcome = delivery.deliver(self.runtime.db, self.runtime.config, notification_id)
    TASK_OUTCOMES.labels("send_notification", outcome).inc()
    return outcome


@gateway_task(jobs.DISPATCH_DUE_NOTIFICATIONS)
def dispatch_due_notifications(self) -> int:
    published = delivery.dispatch_due(self.runtime.db)
    TASK_OUTCOMES.labels("dispatch_due_notifications", "ok").inc()
    return published


@gateway_task(jobs.PURGE_RISK_VELOCITY_HITS)
def purge_risk_velocity_hits(self) -> int:
    return velocity.purge_expired(self.runtime.db, self.runtime.config.risk_velocity_window_s)
