"""Notification and risk housekeeping tasks: thin wrappers over shared.notifications and
shared.risk. Notifications have their own ``notifications`` queue so a slow mail server never
holds up payments: run ``celery -A worker.app worker -Q notifications -P threads -c 8`` (the
Procfile's webhooks worker takes this queue too)."""
from __future__ import annotations

from shared.metrics import TASK_OUTCOMES
from shared.notifications import delivery
from shared.risk import velocity
from worker import context
from worker.app import gateway_task


@gateway_task("gateway.send_notification")
def send_notification(notification_id: str) -> str:
    outcome = delivery.deliver(context.db(), context.config(), notification_id)
    TASK_OUTCOMES.labels("send_notification", outcome).inc()
    return outcome


@gateway_task("gateway.dispatch_due_notifications")
def dispatch_due_notifications() -> int:
    published = delivery.dispatch_due(context.db())
    TASK_OUTCOMES.labels("dispatch_due_notifications", "ok").inc()
    return published


@gateway_task("gateway.purge_risk_velocity_hits")
def purge_risk_velocity_hits() -> int:
    return velocity.purge_expired(context.db(), context.config().risk_velocity_window_s)
