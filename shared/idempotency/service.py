"""Idempotency-Key, as the contract describes it.

1. ``claim`` inserts the key as ``in_flight`` in its own short transaction, so concurrent
   requests see it at once: same parameters while in flight -> 409, other parameters -> 422,
   finished -> the stored answer is replayed.
   (``shared.payments.insert`` claims and answers in the statement that creates the
   payment instead, and falls back to ``claim`` when the key already exists.)
2. The caller runs the business change and calls ``complete`` *inside the same transaction*,
   so the object and the stored answer commit together: a crash between them cannot leave a
   created object whose key would let a retry create a second one.
3. A request that fails with a client error stores that answer too (a retry gets the same
   error); a server error or crash releases the key (``release``) or lets its lease expire,
   so the client can retry.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import Conflict, IdempotencyKeyReused, InvalidRequest
from shared.idempotency.models import IdempotencyKey
from shared.idempotency.states import KeyStatus

LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Claim:
    id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


def request_fingerprint(method: str, path: str, body) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class KeyToStore:
    """A key to store as ``done`` with its answer by the statement that creates the object
    (see shared.payments.insert): claim and answer in one write."""
    key: str
    fingerprint: str


def check_key(key: str) -> None:
    if not key or len(key) > 255 or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1 to 255 printable characters.",
                             code="idempotency_key_invalid", param="Idempotency-Key")


def claim(db, merchant_id: str, key: str, fingerprint: str) -> Claim | Replay:
    check_key(key)
    now = utcnow()
    insert = pg_insert if db.is_postgres else sqlite_insert
    with db.transaction() as session:
        row_id = session.execute(
            insert(IdempotencyKey).values(merchant_id=merchant_id, key=key,
                                          request_hash=fingerprint, status=KeyStatus.IN_FLIGHT,
                                          created_at=now, locked_until=now + LEASE)
            .on_conflict_do_nothing(index_elements=["merchant_id", "key"])
            .returning(IdempotencyKey.id)).scalar()
        if row_id is not None:
            return Claim(row_id)
        row = session.scalars(select(IdempotencyKey).where(
            IdempotencyKey.merchant_id == merchant_id, IdempotencyKey.key == key)
            .with_for_update()).one()
        if row.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with different parameters.",
                param="Idempotency-Key")
        if row.status == KeyStatus.DONE:
            return Replay(row.response_status, row.response_body)
        if row.locked_until and row.locked_until > now:
            raise Conflict("A request with this Idempotency-Key is still in progress.",
                           code="idempotency_key_in_use", param="Idempotency-Key")
        # The first request died without an answer and created nothing: take over.
        row.locked_until = now + LEASE
        return Claim(row.id)


def complete(session: Session, claimed: Claim, status: int, body: str) -> None:
    session.execute(update(IdempotencyKey).where(IdempotencyKey.id == claimed.id)
                    .values(status=KeyStatus.DONE, response_status=status, response_body=body,
                            locked_until=None))


def store_answer(db, claimed: Claim, status: int, body: str) -> None:
    with db.transaction() as session:
        complete(session, claimed, status, body)


def release(db, claimed: Claim) -> None:
    with db.transaction() as session:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claimed.id))


def purge_expired(db, ttl_s: int) -> int:
    cutoff = utcnow() - timedelta(seconds=ttl_s)
    with db.transaction() as session:
        result = session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.created_at < cutoff))
        return result.rowcount or 0
