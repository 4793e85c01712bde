"""The summary report's daily rollup, rebuilt off the hot path.

A periodic task reads the payments changed since it last ran (``payments.updated_at``, through
the ``(status, updated_at)`` index), and rebuilds the rollup of each (merchant, UTC day) they
were created on, from that day's id range. The report then reads the rollup for past days that
were rebuilt after they ended, and counts today (and any day not rolled up yet) live, so a
year costs a few thousand rollup rows plus one day of payments. A status change to a payment of
an earlier day (a refund weeks later) shows after the next run (every minute).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.ids import id_floor
from shared.ledger import accounts as chart
from shared.ledger.models import PaymentDailySummary, PaymentSummaryDay, RollupState
from shared.payments.models import Payment
from shared.payments.states import PAYMENT_STATUSES

NAME = "payment_summary"
# A payment may commit a little after the updated_at it carries: re-read that much each time.
MARGIN = timedelta(seconds=30)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def id_range(day_from: date, day_to: date) -> tuple[str, str]:
    """Payment ids created from the start of ``day_from`` to the end of ``day_to``."""
    lo = int(day_start(day_from).timestamp() * 1000)
    hi = int(day_start(day_to + timedelta(days=1)).timestamp() * 1000)
    return id_floor("payment", lo), id_floor("payment", hi)


def _mode_column():
    column = Payment.__table__.columns.get("livemode")
    return column if column is not None else literal(False)


def _created_day(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Payment.created_at), Date)
    return func.date(Payment.created_at)


def rebuild_day(session: Session, merchant_id: str, day: date, now: datetime) -> None:
    lo, hi = id_range(day, day)
    session.execute(delete(PaymentDailySummary).where(
        PaymentDailySummary.merchant_id == merchant_id, PaymentDailySummary.day == day))
    mode = _mode_column()
    session.execute(insert(PaymentDailySummary).from_select(
        ["merchant_id", "livemode", "day", "currency", "provider", "status", "count",
         "volume"],
        select(Payment.merchant_id, mode, literal(day, Date), Payment.currency,
               Payment.provider, Payment.status, func.count(),
               func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.merchant_id == merchant_id, Payment.id >= lo, Payment.id < hi)
        .group_by(Payment.merchant_id, mode, Payment.currency, Payment.provider,
                  Payment.status)))
    upsert = chart.dialect_insert(session)
    stmt = upsert(PaymentSummaryDay).values(merchant_id=merchant_id, day=day, refreshed_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["merchant_id", "day"],
                                               set_={"refreshed_at": now}))


def refresh(db, now: datetime | None = None) -> int:
    """Rebuild the days whose payments changed since the last run; returns how many."""
    now = now or utcnow()
    with db.transaction() as session:
        state = session.get(RollupState, NAME, with_for_update=True)
        if state is None:
            upsert = chart.dialect_insert(session)
            session.execute(upsert(RollupState).values(name=NAME, through=EPOCH)
                            .on_conflict_do_nothing())
            state = session.get(RollupState, NAME, with_for_update=True)
        assert state is not None
        since = state.through - MARGIN if state.through > EPOCH else EPOCH
        day = _created_day(session)
        dirty = session.execute(
            select(Payment.merchant_id, day).where(
                Payment.status.in_(PAYMENT_STATUSES), Payment.updated_at > since,
                Payment.updated_at <= now).group_by(Payment.merchant_id, day)).all()
        for merchant_id, created_day in dirty:
            if isinstance(created_day, str):  # SQLite's date() is text
                created_day = date.fromisoformat(created_day)
            rebuild_day(session, merchant_id, created_day, now)
        state.through = now
        return len(dirty)


def rolled_up_days(session: Session, merchant_id: str, start: date, end: date) -> set[date]:
    """Past days in the range whose rollup was rebuilt after the day ended."""
    rows = session.execute(select(PaymentSummaryDay.day, PaymentSummaryDay.refreshed_at).where(
        PaymentSummaryDay.merchant_id == merchant_id, PaymentSummaryDay.day >= start,
        PaymentSummaryDay.day <= end)).all()
    return {d for d, refreshed in rows if refreshed >= day_start(d + timedelta(days=1))}


def live_ranges(start: date, end: date, done: set[date]) -> list[tuple[date, date]]:
    """The runs of consecutive days in [start, end] that are not in ``done``."""
    ranges: list[tuple[date, date]] = []
    day = start
    while day <= end:
        if day in done:
            day += timedelta(days=1)
            continue
        first = day
        while day + timedelta(days=1) <= end and day + timedelta(days=1) not in done:
            day += timedelta(days=1)
        ranges.append((first, day))
        day += timedelta(days=1)
    return ranges
