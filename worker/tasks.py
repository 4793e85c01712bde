"""Thin tasks: each takes ids, calls a shared/ service and records the outcome. Every task is
safe to run twice (acks late + redelivery mean it sometimes will)."""
from __future__ import annotations

import logging

from shared import jobs
from shared.idempotency import service as idempotency
from shared.maintenance import purge_published_outbox as purge_published_outbox_rows
from shared.maintenance import sweep_stuck_work
from shared.metrics import TASK_OUTCOMES
from shared.payments.processing import process_payment as process_payment_service
from shared.payments.processing import process_payments as process_payments_service
from shared.refunds.processing import process_refund as process_refund_service
from worker.app import gateway_task

log = logging.getLogger(__name__)


def _outcome(task: str, outcome: str) -> str:
    TASK_OUTCOMES.labels(task, outcome.split(" ")[0]).inc()
    return outcome


def _process_payment(runtime, payment_id: str) -> str:
    return _outcome("process_payment",
                    process_payment_service(runtime.db, runtime.config, payment_id))


@gateway_task(jobs.PROCESS_PAYMENT)
def process_payment(self, payment_id: str) -> str:
    return _process_payment(self.runtime, payment_id)


@gateway_task(jobs.PROCESS_PAYMENTS)
def process_payments(self, payment_ids: list[str]) -> list[str]:
    """Several payments the relay published together: claimed in one transaction and settled
    in one. If that raises (a deadlock, a payment whose data breaks a rule), the payments run
    again one by one, so one bad payment does not hold up the others; the first error of
    that pass is raised at the end, so the message is retried (a database error) or failed
    like a single payment's, and the payments already done answer "already ..." next time."""
    runtime = self.runtime
    try:
        outcomes = process_payments_service(runtime.db, runtime.config, payment_ids)
    except Exception as exc:
        log.warning("process_payments: the batch of %d raised %s; one by one",
                    len(payment_ids), type(exc).__name__)
    else:
        return [_outcome("process_payment", outcome) for outcome in outcomes]
    outcomes, error = [], None
    for payment_id in payment_ids:
        try:
            outcomes.append(_process_payment(runtime, payment_id))
        except Exception as exc:
            log.warning("process_payments: %s raised %s", payment_id, type(exc).__name__)
            error = error or exc
    if error is not None:
        raise error
    return outcomes


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
