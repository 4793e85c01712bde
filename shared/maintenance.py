"""The safety net behind the queue: work that should have moved and did not.

- A payment or refund still ``pending`` well after it was written means its job was lost
  (for example a Redis restart dropped the queue): publish it again.
- One stuck in ``processing`` past ``RECONCILE_AFTER_S`` (provider timeouts exhausted, a
  checkout waiting on the customer, a lost provider webhook): ask again. The job is idempotent
  and, once the provider has the payment, only asks for its status.
- Each of those backs off on its own (``SweepBackoff``): re-queued again only after
  ``STUCK_PENDING_AFTER_S``, then twice that, and so on up to ``BACKOFF_CAP_S``, so a backlog
  the workers are still draining after an outage is not queued again on every pass.
- A provider webhook stored but still ``received`` after ``STUCK_PENDING_AFTER_S``: apply it.
Events need no sweep: their delivery attempts are written in the event's own transaction,
and ``dispatch_due_webhooks`` republishes any attempt whose message was lost.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, select, update

from shared import jobs, outbox
from shared.db import utcnow
from shared.maintenance_backoff import BACKOFF_FORGET_S, SweepBackoff, back_off
from shared.outbox import OutboxMessage
from shared.payments.models import Payment
from shared.payments.states import ProviderEventStatus
from shared.provider_events.models import ProviderEvent
from shared.refunds.models import Refund

BATCH = 500
def purge_published_outbox(db, keep_s: int) -> int:
    """Published outbox rows are history once their job ran; keep a window for debugging."""
    cutoff = utcnow() - timedelta(seconds=keep_s)
    with db.transaction() as session:
        result = session.execute(delete(OutboxMessage).where(
            OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < cutoff))
        return result.rowcount or 0


def sweep_stuck_work(db, config) -> dict:
    now = utcnow()
    pending_cutoff = now - timedelta(seconds=config.stuck_pending_after_s)
    processing_cutoff = now - timedelta(seconds=config.reconcile_after_s)
    counts = {}
    stuck_jobs = ((Payment, jobs.PROCESS_PAYMENT), (Refund, jobs.PROCESS_REFUND))
    with db.transaction() as session:
        for model, job in stuck_jobs:
            stuck = select(model.id).where(
                ((model.status == "pending") & (model.updated_at < pending_cutoff))
                | ((model.status == "processing") & (model.updated_at < processing_cutoff)),
                model.review_reason.is_(None),   # flagged for an operator: asking won't help
                ~exists().where(SweepBackoff.object_id == model.id,
                                SweepBackoff.next_sweep_at > now),
            ).order_by(model.updated_at).limit(BATCH).with_for_update(skip_locked=True)
            ids = list(session.scalars(stuck))
            if ids:
                # Touch them so the next sweep waits a full interval before asking again.
                session.execute(update(model).where(model.id.in_(ids)).values(updated_at=now))
                back_off(session, ids, config.stuck_pending_after_s, now)
            for object_id in ids:
                outbox.enqueue(session, job, [object_id])
            counts[model.__tablename__] = len(ids)
        # Provider webhooks stored but never applied (their task was lost or failed).
        events = list(session.scalars(
            select(ProviderEvent.id).where(ProviderEvent.status == ProviderEventStatus.RECEIVED,
                                           ProviderEvent.received_at < pending_cutoff)
            .order_by(ProviderEvent.received_at).limit(BATCH)))
        for event_id in events:
            outbox.enqueue(session, jobs.PROCESS_PROVIDER_EVENT, [event_id])
        counts["provider_events"] = len(events)
        session.execute(delete(SweepBackoff).where(
            SweepBackoff.next_sweep_at < now - timedelta(seconds=BACKOFF_FORGET_S)))
    return counts
