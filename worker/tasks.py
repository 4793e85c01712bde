"""Thin tasks: each takes ids, calls a shared/ service and records the outcome. Every task is
safe to run twice (acks late + redelivery mean it sometimes will)."""
from __future__ import annotations

from shared.idempotency import service as idempotency
from shared.maintenance import purge_published_outbox as purge_published_outbox_rows
from shared.maintenance import sweep_stuck_work
from shared.metrics import TASK_OUTCOMES
from shared.payments.processing import process_payment as process_payment_service
from shared.refunds.processing import process_refund as process_refund_service
from worker import context
from worker.app import gateway_task


def _outcome(task: str, outcome: str) -> str:
    TASK_OUTCOMES.labels(task, outcome.split(" ")[0]).inc()
    return outcome


@gateway_task("gateway.process_payment")
def process_payment(payment_id: str) -> str:
    return _outcome("process_payment",
                    process_payment_service(context.db(), context.config(), payment_id))


@gateway_task("gateway.process_refund")
def process_refund(refund_id: str) -> str:
    return _outcome("process_refund",
                    process_refund_service(context.db(), context.config(), refund_id))


@gateway_task("gateway.relay_outbox")
def relay_outbox() -> int:
    cfg = context.config()
    return context.db().outbox_relay.relay_pending(older_than_s=cfg.outbox_relay_after_s)


@gateway_task("gateway.sweep_stuck_work")
def sweep_stuck() -> dict:
    return sweep_stuck_work(context.db(), context.config())


@gateway_task("gateway.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired(context.db(), context.config().idempotency_ttl_s)


@gateway_task("gateway.purge_published_outbox")
def purge_published_outbox() -> int:
    return purge_published_outbox_rows(context.db(), keep_s=24 * 3600)
