"""The task that applies a stored provider webhook (see ``shared.provider_events.inbound``)."""
from __future__ import annotations

from shared.metrics import TASK_OUTCOMES
from shared.provider_events.inbound import process_provider_event as process_provider_event_service
from worker import context
from worker.app import gateway_task


@gateway_task("gateway.process_provider_event")
def process_provider_event(provider_event_id: int) -> str:
    outcome = process_provider_event_service(context.db(), context.config(), provider_event_id)
    TASK_OUTCOMES.labels("process_provider_event", outcome.split(" ")[0]).inc()
    return outcome
