"""Transactional outbox (STYLE 4).

A service that wants a worker to act calls ``enqueue(session, job, args)`` (a job from
``shared.jobs``) inside its transaction; the row commits (or not) with the business change.
Right after the commit, ``Database.transaction`` hands the new rows to the relay, which
publishes them to the broker and marks them published. If the broker is down the rows stay
unpublished and the periodic ``relay_pending`` publishes them later, so an outage delays a job
but never loses it. Consumers are idempotent, so a row published twice (relay racing a slow
first publish) is harmless.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Index, String, bindparam, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import Base, BigIntPK, JSONType, UTCDateTime, any_of, utcnow
from shared.jobs import Job

log = logging.getLogger(__name__)

# publish(task_name, args, queue) -> None; raises when the broker cannot take the message.
PublishFn = Callable[[str, list, str], None]
# publish_many([(task_name, args, queue), ...]) -> None: a whole batch in one round trip.
PublishManyFn = Callable[[list[tuple[str, list, str]]], None]


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


def enqueue(session: Session, job: Job, args: list) -> OutboxMessage:
    message = OutboxMessage(task=job.name, args=args, queue=job.queue, created_at=utcnow())
    session.add(message)
    session.info.setdefault("outbox", []).append(message)
    return message


# The ids as one array on PostgreSQL: one UPDATE text whatever their number (an IN list made
# a new statement for every count).
_MARK_PUBLISHED = {dialect: update(OutboxMessage).where(ids).values(published_at=bindparam("now"))
                   for dialect, ids in any_of(OutboxMessage.id, "ids", BigInteger).items()}


class OutboxRelay:
    """Publishes committed outbox rows. One per process; ``publish`` is set by whoever owns a
    broker connection (the API process, a worker).

    With ``background=True`` (the default in servers) the rows are handed to a publisher
    thread, so a request never waits on the broker: not for the round trip, and not for the
    connection retries of a broker that is down. After a failure the thread stops trying for
    ``pause_s`` and leaves the rows to the periodic ``relay_pending``.
    """

    def __init__(self, db, publish: PublishFn | None = None, background: bool = False,
                 pause_s: float = 5.0, publish_many: PublishManyFn | None = None,
                 mark_every_s: float = 0.25, linger_s: float = 0.005) -> None:
        self.db = db
        self.publish = publish
        # Optional: publishes a whole batch in one broker round trip (shared.broker).
        self.publish_many = publish_many
        self.background = background
        self.pause_s = pause_s
        # The background thread marks what it published in one UPDATE per this interval
        # rather than one per commit (well inside relay_pending's ``older_than_s``: a row
        # published but not yet marked when the process dies is published again, harmlessly).
        self.mark_every_s = mark_every_s
        # After each publish the thread waits this long before the next one (at most that
        # much later on the broker under load; one wake-up and round trip for many commits).
        self.linger_s = linger_s
        self._paused_until = 0.0
        self._queue: queue.SimpleQueue | None = None
        self._thread_pid: int | None = None

    def after_commit(self, messages: Iterable[OutboxMessage]) -> None:
        self.after_commit_rows([(m.id, m.task, m.args, m.queue) for m in messages])

    def after_commit_rows(self, rows: list[tuple]) -> None:
        """Committed rows as ``(id, task, args, queue)`` tuples (a Core statement's
        RETURNING), without building ORM objects."""
        if self.publish is None:
            return
        if not self.background:
            self._publish_and_mark(rows)
            return
        pending = self._queue
        if pending is None or self._thread_pid != os.getpid():
            # First use in this (possibly forked) process: its own queue and thread.
            pending = self._queue = queue.SimpleQueue()
            threading.Thread(target=self._drain, args=(pending,), name="outbox-relay",
                             daemon=True).start()
            self._thread_pid = os.getpid()
        pending.put(rows)

    def _drain(self, pending: queue.SimpleQueue) -> None:
        unmarked: list[int] = []   # published, not yet marked published in the database
        mark_due = 0.0
        while True:
            try:
                batch = pending.get(timeout=max(0.0, mark_due - time.monotonic())
                                    if unmarked else None)
            except queue.Empty:
                batch = []
            # Under load several commits are waiting: publish them together.
            while len(batch) < 200:
                try:
                    batch = batch + pending.get_nowait()
                except queue.Empty:
                    break
            if batch and time.monotonic() >= self._paused_until:
                try:
                    published = self._publish_all(batch)
                except Exception:
                    log.exception("outbox relay thread")
                    published = []
                if published and not unmarked:
                    mark_due = time.monotonic() + self.mark_every_s
                unmarked += published
                if self.linger_s:
                    # Commits that come while this thread sleeps queue up without waking it,
                    # and go out together in the next round trip. At a trickle the next
                    # commit finds the thread waiting and is sent at once.
                    time.sleep(self.linger_s)
            # else: broker recently down; relay_pending publishes these.
            if unmarked and (time.monotonic() >= mark_due or len(unmarked) >= 1000):
                self._mark_published(unmarked)
                unmarked = []

    def _publish_and_mark(self, rows: list[tuple]) -> None:
        published = self._publish_all(rows)
        if published:
            self._mark_published(published)

    def _mark_published(self, ids: list[int]) -> None:
        try:
            statement = _MARK_PUBLISHED["postgresql" if self.db.is_postgres else "sqlite"]
            self.db.autocommit_execute(statement, {"ids": ids, "now": utcnow()})
        except Exception:
            # The jobs are on the broker; at worst the periodic relay publishes them again.
            log.warning("outbox: could not mark %d rows published", len(ids), exc_info=True)

    def _publish_all(self, rows: list[tuple]) -> list[int]:
        """Publish committed rows, ``(id, task, args, queue)`` tuples; the ids published."""
        published: list[int] = []
        publish = self.publish
        if publish is None:
            return published
        if self.publish_many is not None:
            try:
                self.publish_many([(task, args, queue) for _, task, args, queue in rows])
            except Exception as exc:  # broker down: the periodic relay will publish them
                log.warning("outbox: publish of %d messages deferred: %s", len(rows),
                            type(exc).__name__)
                self._paused_until = time.monotonic() + self.pause_s
                return published
            return [row[0] for row in rows]
        for row_id, task, args, queue_name in rows:
            try:
                publish(task, args, queue_name)
            except Exception as exc:  # broker down: the periodic relay will publish it
                log.warning("outbox: publish of %s #%s deferred: %s", task, row_id,
                            type(exc).__name__)
                self._paused_until = time.monotonic() + self.pause_s
                break
            published.append(row_id)
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
            if self.publish_many is not None and rows:
                for row in rows:
                    row.publish_attempts += 1
                try:
                    self.publish_many([(row.task, row.args, row.queue) for row in rows])
                except Exception as exc:
                    log.warning("outbox relay: broker still unavailable: %s",
                                type(exc).__name__)
                    return 0
                stamp = utcnow()
                for row in rows:
                    row.published_at = stamp
                return len(rows)
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
