"""Settlement and summary reports.

Settlement reads the daily rollup (``ledger_daily_totals``) that every posting keeps up to date
in its own transaction, so a year is at most 366 rows per currency whatever the volume, and the
report matches the ledger to the minor unit. Summary counts payments created in the range by
status and provider with one grouped query over the ``(merchant_id, id)`` index range.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.ids import id_floor
from shared.ledger.models import DailyTotal
from shared.payments.models import Payment

SETTLEMENT_COLUMNS = ("date", "currency", "gross", "refunds", "fees", "net", "payouts",
                      "payment_count", "refund_count", "payout_count")
SUCCEEDED = ("completed", "partially_refunded", "refunded")


def settlement(session: Session, merchant_id: str, start: date, end: date,
               livemode: bool = False) -> list[dict]:
    """Per UTC day (``start`` to ``end`` inclusive) and currency."""
    t = DailyTotal
    rows = session.execute(select(
        t.day, t.currency, t.gross, t.refunds, t.fees, t.payouts, t.payment_count,
        t.refund_count, t.payout_count).where(
        t.merchant_id == merchant_id, t.livemode == livemode, t.day >= start, t.day <= end)
        .order_by(t.day, t.currency)).all()
    return [{"date": r.day.isoformat(), "currency": r.currency, "gross": r.gross,
             "refunds": r.refunds, "fees": r.fees, "net": r.gross - r.refunds - r.fees,
             "payouts": r.payouts, "payment_count": r.payment_count,
             "refund_count": r.refund_count, "payout_count": r.payout_count} for r in rows]


def settlement_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SETTLEMENT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _floor(kind: str, day: date) -> str:
    moment = datetime.combine(day, time(0), tzinfo=UTC)
    return id_floor(kind, int(moment.timestamp() * 1000))


def summary(session: Session, merchant_id: str, start: date, end: date,
            livemode: bool = False) -> dict:
    """Payments created from ``start`` to ``end`` (inclusive, UTC days): count and volume by
    status and provider per currency, and the success rate (succeeded / (succeeded +
    failed))."""
    lo, hi = _floor("payment", start), _floor("payment", end + timedelta(days=1))
    filters = [Payment.merchant_id == merchant_id, Payment.id >= lo, Payment.id < hi]
    mode = Payment.__table__.columns.get("livemode")
    if mode is not None:  # payments gain ``livemode`` with test and live mode
        filters.append(mode == livemode)
    rows = session.execute(
        select(Payment.currency, Payment.status, Payment.provider, func.count(),
               func.sum(Payment.amount))
        .where(*filters)
        .group_by(Payment.currency, Payment.status, Payment.provider)
        .order_by(Payment.currency, Payment.status, Payment.provider)).tuples().all()
    by_status: list[dict] = []
    by_provider: dict[tuple, dict] = {}
    totals: dict[str, dict] = {}
    for currency, status, provider, count, volume in rows:
        volume = int(volume or 0)
        by_status.append({"currency": currency, "status": status, "provider": provider,
                          "count": count, "volume": volume})
        p = by_provider.setdefault((currency, provider), {
            "currency": currency, "provider": provider, "count": 0, "volume": 0,
            "succeeded": 0, "failed": 0})
        t = totals.setdefault(currency, {"currency": currency, "count": 0, "volume": 0,
                                         "succeeded": 0, "failed": 0,
                                         "succeeded_volume": 0})
        for bucket in (p, t):
            bucket["count"] += count
            bucket["volume"] += volume
            if status in SUCCEEDED:
                bucket["succeeded"] += count
            elif status == "failed":
                bucket["failed"] += count
        if status in SUCCEEDED:
            t["succeeded_volume"] += volume
    for bucket in [*by_provider.values(), *totals.values()]:
        decided = bucket["succeeded"] + bucket["failed"]
        bucket["success_rate"] = round(bucket["succeeded"] / decided, 4) if decided else None
    return {"object": "report.summary", "from": start.isoformat(), "to": end.isoformat(),
            "currencies": list(totals.values()), "by_provider": list(by_provider.values()),
            "by_status": by_status}
