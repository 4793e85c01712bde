"""Fees: ``fee_bps`` basis points of the amount plus ``fee_fixed``, integer minor units,
rounded half up, never more than the amount. Per merchant and currency, else the defaults
``FEE_BPS`` / ``FEE_FIXED``."""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.ledger import settings
from shared.ledger.models import FeeSchedule


@dataclass(frozen=True)
class Schedule:
    fee_bps: int
    fee_fixed: int


def compute_fee(amount: int, schedule: Schedule) -> int:
    """Half up: ``amount * bps / 10000`` plus a half, floored (all operands non-negative)."""
    if amount < 0:
        raise ValueError("fees are computed on non-negative amounts")
    percentage = (amount * schedule.fee_bps * 2 + 10_000) // 20_000
    return min(amount, percentage + schedule.fee_fixed)


# Schedules rarely change: kept in process for CACHE_TTL_S (a change made in another process is
# used everywhere within that time), so a payment's posting does not read it every time.
CACHE_TTL_S = 30.0
_cache: dict[tuple[str, str], tuple[float, Schedule | None]] = {}


def schedule_for(session: Session, merchant_id: str, currency: str) -> Schedule:
    key = (merchant_id, currency)
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        schedule = cached[1]
    else:
        row = session.execute(select(FeeSchedule.fee_bps, FeeSchedule.fee_fixed).where(
            FeeSchedule.merchant_id == merchant_id, FeeSchedule.currency == currency)).first()
        schedule = Schedule(row.fee_bps, row.fee_fixed) if row is not None else None
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (time.monotonic() + CACHE_TTL_S, schedule)
    if schedule is not None:
        return schedule
    defaults = settings.current()
    return Schedule(defaults.fee_bps, defaults.fee_fixed)


def set_schedule(session: Session, merchant_id: str, currency: str, fee_bps: int,
                 fee_fixed: int) -> FeeSchedule:
    if not 0 <= fee_bps <= 10_000 or fee_fixed < 0:
        raise ValueError("fee_bps must be 0..10000 and fee_fixed at least 0")
    row = session.scalars(select(FeeSchedule).where(
        FeeSchedule.merchant_id == merchant_id, FeeSchedule.currency == currency)
        .with_for_update()).first()
    if row is None:
        row = FeeSchedule(merchant_id=merchant_id, currency=currency, fee_bps=fee_bps,
                          fee_fixed=fee_fixed)
        session.add(row)
    else:
        row.fee_bps, row.fee_fixed = fee_bps, fee_fixed
    session.flush()
    _cache.pop((merchant_id, currency), None)
    return row
