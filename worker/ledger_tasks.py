"""Ledger tasks: releasing settled money, daily payouts, paying a payout, and re-queueing
payouts whose job was lost. Thin wrappers over shared.ledger; all safe to run twice."""
from __future__ import annotations

from shared.ledger import balance, payouts
from shared.metrics import TASK_OUTCOMES
from worker import context
from worker.app import gateway_task


@gateway_task("gateway.release_available_balance")
def release_available_balance() -> int:
    released = balance.release_available(context.db())
    TASK_OUTCOMES.labels("release_available_balance", "ok").inc()
    return released


@gateway_task("gateway.daily_payouts")
def daily_payouts() -> int:
    made = payouts.daily_payouts(context.db())
    TASK_OUTCOMES.labels("daily_payouts", "ok").inc()
    return made


@gateway_task(payouts.PROCESS_TASK)
def process_payout(payout_id: str) -> str:
    outcome = payouts.process_payout(context.db(), payout_id)
    TASK_OUTCOMES.labels("process_payout", outcome.split(" ")[0]).inc()
    return outcome


@gateway_task("gateway.sweep_pending_payouts")
def sweep_pending_payouts() -> int:
    return payouts.requeue_stuck_payouts(context.db(), context.config().stuck_pending_after_s)


@gateway_task("gateway.refresh_payment_summary")
def refresh_payment_summary() -> int:
    from shared.reporting import summary_rollup
    return summary_rollup.refresh(context.db())
