"""The task that applies a stored provider webhook (see ``shared.provider_events.inbound``)."""
from __future__ import annotations

from shared import jobs
from shared.metrics import TASK_OUTCOMES
from shared.provider_events.inbound import process_provider_event as process_provider_event_service
from worker.app import gateway_task


@gateway_task(jobs.PROCESS_PROVIDER_EVENT)
def process_provider_event(self, provider_event_id: int) -> str:
    runtime = self.runtime
    outcome = process_provider_event_service(runtime.db, runtime.config, provider_event_id)
    TASK_OUTCOMES.labels("process_provider_event", outcome.split(" ")[0]).inc()
    return outcome
