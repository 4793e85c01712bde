"""Per-item backoff of the sweeper (shared.maintenance): one row per payment or refund it has
re-queued, with how many times and when it may do so again."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import Base, UTCDateTime

# Each time the sweeper re-queues the same payment or refund it waits twice as long before the
# next time (from STUCK_PENDING_AFTER_S, up to this), so a backlog after an outage is not
# queued again on every pass while the workers are still draining it.
BACKOFF_CAP_S = 600
# Backoff rows not used for this long belong to work that finished: dropped.
BACKOFF_FORGET_S = 24 * 3600


class SweepBackoff(Base):
    """How often the sweeper has re-queued one stuck payment or refund, and when it may again."""
    __tablename__ = "sweep_backoff"

    object_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sweeps: Mapped[int] = mapped_column(default=0)
    next_sweep_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def backoff_delay_s(base_s: float, sweeps: int) -> float:
    """Seconds to wait after the ``sweeps``-th re-queue of one item."""
    return float(min(BACKOFF_CAP_S, base_s * 2 ** max(0, min(sweeps - 1, 20))))


def back_off(session: Session, ids: list[str], base_s: float, now: datetime) -> None:
    rows = {row.object_id: row for row in session.scalars(
        select(SweepBackoff).where(SweepBackoff.object_id.in_(ids)).with_for_update())}
    for object_id in ids:
        row = rows.get(object_id)
        if row is None:
            row = SweepBackoff(object_id=object_id, sweeps=0)
            session.add(row)
        row.sweeps += 1
        row.next_sweep_at = now + timedelta(seconds=backoff_delay_s(base_s, row.sweeps))
