"""The catalogue of jobs: the contract between the services that enqueue work and the worker
tasks that do it. Each job is its task name on the wire and the queue it runs on; services
enqueue by job (``outbox.enqueue(session, jobs.PROCESS_PAYMENT, [payment.id])``), the broker's
routes are derived from it, worker tasks register with it (``@gateway_task(jobs.X)``) and the
beat schedule names it. ``tests/unit/test_jobs.py`` proves every job has a task and every task
a job. Names never change: messages already queued under a name must still run.
"""
from __future__ import annotations

from dataclasses import dataclass

# The queues a worker can consume (Procfile: the worker takes payments, refunds and
# maintenance; the webhooks worker takes webhooks and notifications).
PAYMENTS, REFUNDS, WEBHOOKS, MAINTENANCE, NOTIFICATIONS = (
    "payments", "refunds", "webhooks", "maintenance", "notifications")
QUEUES = (PAYMENTS, REFUNDS, WEBHOOKS, MAINTENANCE, NOTIFICATIONS)


@dataclass(frozen=True)
class Job:
    name: str   # the Celery task name, as written in queued messages
    queue: str

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"job {self.name}: unknown queue {self.queue!r}")


# Work that services enqueue through the outbox.
PROCESS_PAYMENT = Job("gateway.process_payment", PAYMENTS)
# Several PROCESS_PAYMENT jobs published together, run one after another by one task.
PROCESS_PAYMENTS = Job("gateway.process_payments", PAYMENTS)
PROCESS_PROVIDER_EVENT = Job("gateway.process_provider_event", PAYMENTS)
PROCESS_REFUND = Job("gateway.process_refund", REFUNDS)
DELIVER_WEBHOOK = Job("gateway.deliver_webhook", WEBHOOKS)
SEND_NOTIFICATION = Job("gateway.send_notification", NOTIFICATIONS)
PROCESS_PAYOUT = Job("gateway.process_payout", MAINTENANCE)

# Periodic work (beat schedule in worker/app.py).
RELAY_OUTBOX = Job("gateway.relay_outbox", MAINTENANCE)
SWEEP_STUCK_WORK = Job("gateway.sweep_stuck_work", MAINTENANCE)
PURGE_IDEMPOTENCY_KEYS = Job("gateway.purge_idempotency_keys", MAINTENANCE)
PURGE_PUBLISHED_OUTBOX = Job("gateway.purge_published_outbox", MAINTENANCE)
RELEASE_AVAILABLE_BALANCE = Job("gateway.release_available_balance", MAINTENANCE)
DAILY_PAYOUTS = Job("gateway.daily_payouts", MAINTENANCE)
REFRESH_PAYMENT_SUMMARY = Job("gateway.refresh_payment_summary", MAINTENANCE)
SWEEP_PENDING_PAYOUTS = Job("gateway.sweep_pending_payouts", MAINTENANCE)
DISPATCH_DUE_WEBHOOKS = Job("gateway.dispatch_due_webhooks", WEBHOOKS)
DISPATCH_DUE_NOTIFICATIONS = Job("gateway.dispatch_due_notifications", NOTIFICATIONS)
PURGE_RISK_VELOCITY_HITS = Job("gateway.purge_risk_velocity_hits", MAINTENANCE)
FOLD_BALANCE_DELTAS = Job("gateway.fold_balance_deltas", MAINTENANCE)

# Jobs that travel several to a message when the relay publishes them together: the job ->
# the job of a batch of them (its one argument is the list of their ids) and the most per
# message. A Celery message costs a worker about as much CPU as the payment it carries
# (receive, unacked bookkeeping, ack, log lines); an id published alone keeps its own message.
BATCHED: dict[str, tuple[Job, int]] = {PROCESS_PAYMENT.name: (PROCESS_PAYMENTS, 8)}


def coalesce(messages: list[tuple[str, list, str]]) -> list[tuple[str, list, str]]:
    """``(task, args, queue)`` messages with the batchable ones (``BATCHED``) merged, in
    order of their first member, into messages of at most the batch's size."""
    merged: list[tuple[str, list, str, bool]] = []   # the flag: args is an open batch's ids
    open_ids: dict[tuple[str, str], list] = {}       # (task, queue) -> its last batch's ids
    for task, args, queue in messages:
        if task not in BATCHED or len(args) != 1:
            merged.append((task, args, queue, False))
            continue
        ids = open_ids.get((task, queue))
        if ids is None or len(ids) >= BATCHED[task][1]:
            ids = open_ids[(task, queue)] = []
            merged.append((task, ids, queue, True))
        ids.append(args[0])
    return [(BATCHED[task][0].name, [args], queue) if batch and len(args) > 1
            else (task, args, queue) for task, args, queue, batch in merged]


ALL: tuple[Job, ...] = tuple(value for value in globals().values() if isinstance(value, Job))
BY_NAME: dict[str, Job] = {job.name: job for job in ALL}
# Celery's task_routes: every job to its queue, also when sent without an explicit queue.
ROUTES: dict[str, dict[str, str]] = {job.name: {"queue": job.queue} for job in ALL}
