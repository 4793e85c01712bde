"""Velocity counters: how many payments a merchant saw with one card token, email, VPA or IP
in the last ``RISK_VELOCITY_WINDOW_S`` seconds (SPEC: ``RISK_VELOCITY``, 10 in 10 minutes).

Correct with several workers: for each signal a transaction-scoped PostgreSQL advisory lock
serialises count-then-insert, so two racing payments cannot both see "9 so far". Locks are
taken in sorted order (no deadlocks), are released at commit, and the hits commit or roll back
with the payment's claim, so a crashed job leaves no phantom count.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.risk.models import VelocityHit


def value_hash(merchant_id: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{merchant_id}\x00{kind}\x00{value}".encode()).hexdigest()


def _lock_key(digest: str) -> int:
    return int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)


def count_and_record(session: Session, merchant_id: str, payment_id: str,
                     signals: dict[str, str], window_s: int) -> dict[str, int]:
    """Record this payment under each signal; answer ``{kind: payments in the window}``,
    this one included."""
    now = utcnow()
    cutoff = now - timedelta(seconds=window_s)
    postgres = session.get_bind().dialect.name == "postgresql"
    counts: dict[str, int] = {}
    for kind in sorted(signals):
        digest = value_hash(merchant_id, kind, signals[kind])
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(digest)})
            session.execute(pg_insert(VelocityHit).values(
                merchant_id=merchant_id, kind=kind, value_hash=digest, payment_id=payment_id,
                created_at=now).on_conflict_do_nothing())
        else:
            # SQLite (development) serialises writers itself.
            seen = session.scalar(select(VelocityHit.id).where(
                VelocityHit.payment_id == payment_id, VelocityHit.kind == kind))
            if seen is None:
                session.add(VelocityHit(merchant_id=merchant_id, kind=kind, value_hash=digest,
                                        payment_id=payment_id, created_at=now))
                session.flush()
        counts[kind] = session.scalar(select(func.count()).select_from(VelocityHit).where(
            VelocityHit.merchant_id == merchant_id, VelocityHit.kind == kind,
            VelocityHit.value_hash == digest, VelocityHit.created_at > cutoff)) or 0
    return counts


def purge_expired(db, window_s: int) -> int:
    """Drop hits older than the window (beat runs this hourly)."""
    cutoff = utcnow() - timedelta(seconds=window_s)
    with db.transaction() as session:
        result = session.execute(delete(VelocityHit).where(VelocityHit.created_at < cutoff))
        return result.rowcount or 0
