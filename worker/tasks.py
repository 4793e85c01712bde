"""Thin tasks: each takes ids, calls a shared/ service and records the outcome. Every task is
safe to run twice (acks late + redelivery mean it sometimes will)."""
from __future__ import annotations

from shared import jobs
from shared.idempotency import service as idempotency
from shared.maintenance import purge_published_outbox as purge_published_outbox_rows
from shared.maintenance import sweep_stuck_work
from shared.metrics import TASK_OUTCOMES
from shared.payments.processing import process_payment as process_payment_service
from shared.refunds.processing import process_refund as process_refund_service
from worker.app import gateway_task


def _outcome(task: str, outcome: str) -> str:
    TASK_OUTCOMES.labels(task, outcome.split(" ")[0]).inc()
    return outcome


@gateway_task(jobs.PROCESS_PAYMENT)
def process_payment(self, payment_id: str) -> str:
    return _outcome("process_payment",
                    process_payment_service(self.runtime.db, self.runtime.config, payment_id))


@gateway_task(jobs.PROCESS_REFUND)
def process_refund(self, refund_id: str) -> str:
    return _outcome("process_refund",
                    process_refund_service(self.runtime.db, self.runtime.config, refund_id))


@gateway_task(jobs.RELAY_OUTBOX)
def relay_outbox(self) -> int:
    cfg = self.runtime.config
    return self.runtime.relay.relay_pending(older_than_s=cfg.outbox_relay_after_s)


@gateway_task(jobs.SWEEP_STUCK_WORK)
def sweep_stuck(self) -> dict:
    return sweep_stuck_work(self.runtime.db, self.runtime.config)


@gateway_task(jobs.PURGE_IDEMPOTENCY_KEYS)
def purge_idempotency_keys(self) -> int:
    return idempotency.purge_expired(self.runtime.db, self.runtime.config.idempotency_ttl_s)


@gateway_task(jobs.PURGE_PUBLISHED_OUTBOX)
def purge_published_outbox(self) -> int:
    return purge_published_outbox_rows(self.runtime.db, keep_s=24 * 3600)
