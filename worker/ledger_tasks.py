"""Ledger tasks: releasing settled money, folding balance deltas, daily payouts, paying a
payout, and re-queueing payouts whose job was lost. Thin wrappers over shared.ledger; all safe
to run twice."""
from __future__ import annotations

from shared import jobs
from shared.ledger import balance, deltas, payouts
from shared.metrics import TASK_OUTCOMES
from worker.app import gateway_task


@gateway_task(jobs.RELEASE_AVAILABLE_BALANCE)
def release_available_balance(self) -> int:
    released = balance.release_available(self.runtime.db)
    TASK_OUTCOMES.labels("release_available_balance", "ok").inc()
    return released


@gateway_task(jobs.FOLD_BALANCE_DELTAS)
def fold_balance_deltas(self) -> int:
    with self.runtime.db.transaction() as session:
        return deltas.fold(session)


@gateway_task(jobs.DAILY_PAYOUTS)
def daily_payouts(self) -> int:
    made = payouts.daily_payouts(self.runtime.db)
    TASK_OUTCOMES.labels("daily_payouts", "ok").inc()
    return made


@gateway_task(jobs.PROCESS_PAYOUT)
def process_payout(self, payout_id: str) -> str:
    outcome = payouts.process_payout(self.runtime.db, payout_id)
    TASK_OUTCOMES.labels("process_payout", outcome.split(" ")[0]).inc()
    return outcome


@gateway_task(jobs.SWEEP_PENDING_PAYOUTS)
def sweep_pending_payouts(self) -> int:
    return payouts.requeue_stuck_payouts(self.runtime.db, self.runtime.config.stuck_pending_after_s)


@gateway_task(jobs.REFRESH_PAYMENT_SUMMARY)
def refresh_payment_summary(self) -> int:
    from shared.reporting import summary_rollup
    return summary_rollup.refresh(self.runtime.db)
