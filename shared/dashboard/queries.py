"""Read-only queries for the dashboard. Every one is scoped to one merchant; none changes
anything (changes go through the domain services the API uses)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.ids import id_floor
from shared.payments.models import Payment
from shared.payments.states import CAPTURED, PaymentStatus
from shared.providers.models import TransactionAttempt
from shared.refunds.models import Refund
from shared.webhooks.models import Event

SUCCEEDED = CAPTURED


def payment_timeline(session: Session, merchant_id: str, payment_id: str) -> list[Event]:
    """The events of a payment and of its refunds, oldest first."""
    refund_ids = select(Refund.id).where(Refund.merchant_id == merchant_id,
                                         Refund.payment_id == payment_id)
    return list(session.scalars(select(Event).where(
        Event.merchant_id == merchant_id,
        (Event.object_id == payment_id) | Event.object_id.in_(refund_ids))
        .order_by(Event.id)))


def payment_attempts(session: Session, merchant_id: str,
                     payment_id: str) -> list[TransactionAttempt]:
    return list(session.scalars(select(TransactionAttempt).where(
        TransactionAttempt.merchant_id == merchant_id,
        TransactionAttempt.payment_id == payment_id).order_by(TransactionAttempt.id)))


@dataclass(frozen=True)
class DaySeries:
    day: date
    completed: int
    failed: int
    other: int

    @property
    def total(self) -> int:
        return self.completed + self.failed + self.other


@dataclass(frozen=True)
class Overview:
    volume_today: dict[str, int]          # currency -> minor units succeeded today
    count_today: int
    success_rate: float | None            # succeeded / (succeeded + failed), 30 days
    days: list[DaySeries]                 # the last 30 days, oldest first, every day present


def overview(session: Session, merchant_id: str, now: datetime | None = None,
             days: int = 30, livemode: bool | None = None) -> Overview:
    """Today's volume, the success rate and the payments per day and status (UTC days). The
    window is an id range on ``(merchant_id, id)``, like the API's created[gte] filter."""
    now = now or utcnow()
    today = now.date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(),
                             tzinfo=now.tzinfo)
    mode = [] if livemode is None else [Payment.livemode == livemode]
    since = Payment.id >= id_floor("payment", int(start.timestamp() * 1000))
    day = func.date(Payment.created_at)  # a date on PostgreSQL, "YYYY-MM-DD" on SQLite
    rows = session.execute(select(day, Payment.status, func.count()).where(
        Payment.merchant_id == merchant_id, since, *mode).group_by(day, Payment.status)).all()
    per_day: dict[date, dict[str, int]] = {}
    for when, status, count in rows:
        when = when if isinstance(when, date) else date.fromisoformat(str(when))
        bucket = per_day.setdefault(when, {"completed": 0, "failed": 0, "other": 0})
        key = "completed" if status in SUCCEEDED else "failed" if status == PaymentStatus.FAILED \
            else "other"
        bucket[key] += count
    series = []
    for offset in range(days):
        when = start.date() + timedelta(days=offset)
        bucket = per_day.get(when, {"completed": 0, "failed": 0, "other": 0})
        series.append(DaySeries(when, bucket["completed"], bucket["failed"], bucket["other"]))
    succeeded = sum(d.completed for d in series)
    failed = sum(d.failed for d in series)
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=now.tzinfo)
    today_ids = Payment.id >= id_floor("payment", int(midnight.timestamp() * 1000))
    volume = dict(session.execute(select(Payment.currency, func.sum(Payment.amount)).where(
        Payment.merchant_id == merchant_id, today_ids, Payment.status.in_(SUCCEEDED), *mode)
        .group_by(Payment.currency)).all())
    count_today = session.execute(select(func.count()).select_from(Payment).where(
        Payment.merchant_id == merchant_id, today_ids, *mode)).scalar_one()
    return Overview(volume_today={k: int(v) for k, v in volume.items()},
                    count_today=count_today,
                    success_rate=(succeeded / (succeeded + failed)) if succeeded + failed
                    else None, days=series)
