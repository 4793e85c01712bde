"""Transactional outbox (STYLE 4).

A service that wants a worker to act calls ``enqueue(session, task, args)`` inside its
transaction; the row commits (or not) with the business change. Right after the commit,
``Database.transaction`` hands the new rows to the relay, which publishes them to the broker and
marks them published. If the broker is down the rows stay unpublished and the periodic
``relay_pending`` publishes them later, so an outage delays a job but never loses it. Consumers
are idempotent, so a row published twice (relay racing a slow first publish) is harmless.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import Index, String, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

log = logging.getLogger(__name__)

# publish(task_name, args, queue) -> None; raises when the broker cannot take the message.
PublishFn = Callable[[str, list, str], None]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unpublished", "id",
              postgresql_where=text("published_at IS NULL"),
              sqlite_where=text("published_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    task: Mapped[str] = mapped_column(String(128))
    args: Mapped[list] = mapped_column(JSONType)
    queue: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_attempts: Mapped[int] = mapped_column(default=0)


def enqueue(session: Session, task: str, args: list, queue: str) -> OutboxMessage:
    message = OutboxMessage(task=task, args=args, queue=queue, created_at=utcnow())
    session.add(message)
    session.info.setdefault("outbox", []).append(message)
    return message


class OutboxRelay:
    """Publishes committed outbox rows. One per process; ``publish`` is set by whoever owns a
    broker connection (the API process, a worker)."""

    def __init__(self, db, publish: PublishFn | None = None) -> None:
        self.db = db
        self.publish = publish

    def after_commit(self, messages: Iterable[OutboxMessage]) -> None:
        if self.publish is None:
            return
        published = self._publish_all(messages)
        if published:
            try:
                with self.db.engine.begin() as conn:
                    conn.execute(update(OutboxMessage)
                                 .where(OutboxMessage.id.in_(published))
                                 .values(published_at=utcnow()))
            except Exception:
                # The job is on the broker; at worst the periodic relay publishes it again.
                log.warning("outbox: could not mark %d rows published", len(published),
                            exc_info=True)

    def _publish_all(self, messages: Iterable[OutboxMessage]) -> list[int]:
        published = []
        for message in messages:
            try:
                self.publish(message.task, message.args, message.queue)
            except Exception as exc:  # broker down: the periodic relay will publish it
                log.warning("outbox: publish of %s #%s deferred: %s", message.task, message.id,
                            type(exc).__name__)
                break
            published.append(message.id)
        return published

    def relay_pending(self, older_than_s: int = 5, batch: int = 500) -> int:
        """Publish rows still unpublished ``older_than_s`` after their commit."""
        if self.publish is None:
            return 0
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        count = 0
        with self.db.transaction() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None), OutboxMessage.created_at <= cutoff)
                .order_by(OutboxMessage.id).limit(batch)
                .with_for_update(skip_locked=True)).all()
            for row in rows:
                row.publish_attempts += 1
                try:
                    self.publish(row.task, row.args, row.queue)
                except Exception as exc:
                    log.warning("outbox relay: broker still unavailable: %s",
                                type(exc).__name__)
                    break
                row.published_at = utcnow()
                count += 1
        return count

    def backlog(self) -> int:
        from sqlalchemy import func
        with self.db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.published_at.is_(None))).scalar_one()
