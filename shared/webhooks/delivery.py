"""Delivering events to merchant endpoints: fan-out, one attempt, retries (SPEC "Events and
deliveries", promise 4).

Every attempt is a ``webhook_logs`` row and the schedule lives in those rows, never only in
the broker:
- attempt 1 is written as ``pending`` in the transaction that records the event
  (``start_deliveries``) and ``deliver_webhook`` is published through the outbox right after
  that commit;
- ``deliver`` claims a pending attempt (a lease in ``claimed_until``, compare-and-set under the
  row lock, so duplicate messages send it once), sends it outside any transaction, then records
  the answer: ``succeeded``, ``retrying`` with ``next_retry_at``, or ``dead`` after the last one;
- ``dispatch_due`` (beat, every second) turns due ``retrying`` rows into the next ``pending``
  attempt, and publishes again any pending attempt whose message was lost or whose worker died
  (its ``next_retry_at`` passed unclaimed). Rows are claimed ``FOR UPDATE SKIP LOCKED`` so
  several dispatchers never take the same one.
A restart of Redis or of any worker therefore delays an attempt, never loses it.
"""
from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    Boolean,
    ColumnClause,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from shared import jobs, outbox
from shared.db import execute_in, execute_on, utcnow
from shared.errors import Conflict
from shared.ids import new_id, new_ids
from shared.notifications import triggers as notification_triggers
from shared.representation import event_object
from shared.webhooks import http_sender, signer, subscriptions
from shared.webhooks.models import Event, WebhookDeliveryCounter, WebhookEndpoint, WebhookLog
from shared.webhooks.states import DeliveryStatus, EndpointStatus

log = logging.getLogger(__name__)

# A pending attempt that nobody has finished this long after its message went out is
# published again. Long enough that a normal queue wait does not double the queue.
REPUBLISH_AFTER_S = 15
# How long past the HTTP timeout a sending worker keeps its claim before it is presumed dead.
LEASE_MARGIN_S = 15
# An endpoint or merchant at its cap of requests in flight: the attempt waits in the database
# (nothing holds a worker), then the dispatcher offers it again. It waits half as long as it
# has existed, from BUSY_RECHECK_S up to the HTTP timeout (when a hung request's slot frees
# at the latest): a burst to a fast endpoint is re-offered within a second, while the
# backlog of a merchant whose endpoints hang is offered less and less often instead of
# filling the queue ahead of everyone else's deliveries every second.
BUSY_RECHECK_S = 1


def busy_wait_s(age_s: float, timeout_s: float) -> float:
    return min(max(BUSY_RECHECK_S, age_s / 2), max(BUSY_RECHECK_S, timeout_s))
DISPATCH_BATCH = 500
# How long a worker keeps handing its slot to the next waiting attempt of the same endpoint
# before it returns to the queue. Fairness between merchants is the in-flight caps' job (a
# merchant holds at most its cap of threads, looping or not); this bound only returns the
# thread now and then. The queue ahead of a backlog's end is mostly that backlog's own
# messages, turned away or skipped: at 5 s a 3,000-event backlog to one endpoint drained at
# 98-156/s, stalling 4 s at each chain's end (2026-12-03, bench/diag_drain.py); unbounded,
# 249/s.
HAND_OVER_S = 30
# pg_advisory_xact_lock(key1, key2) namespace of the per-merchant in-flight count.
MERCHANT_LOCK_SPACE = 9009
COUNTER_SLOTS = 8
JITTER = 0.1
# A receiver's Retry-After is honoured up to the longest step of the schedule, or an hour if
# the schedule is shorter than that, so a "Retry-After: 1 year" cannot park a delivery.
RETRY_AFTER_FLOOR_CAP_S = 3600


def live_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and \
            endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def retry_delay(schedule: tuple[int, ...], attempt: int,
                retry_after_s: float | None) -> float | None:
    """Seconds until the attempt after ``attempt``, or None when ``attempt`` was the last.
    Jitter spreads out the retries of many deliveries that failed together (an endpoint
    outage); a receiver's Retry-After pushes the attempt later, within a cap."""
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after_s is not None:
        cap = max(max(schedule), RETRY_AFTER_FLOOR_CAP_S)
        delay = max(delay, min(retry_after_s, cap))
    return delay


# --- counters ------------------------------------------------------------------------------

def increment_counter(session: Session, name: str, by: int = 1) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(WebhookDeliveryCounter).values(
        name=name, slot=random.randrange(COUNTER_SLOTS), value=by)
    session.execute(statement.on_conflict_do_update(
        index_elements=["name", "slot"], set_={"value": WebhookDeliveryCounter.value + by}))


def counter_total(session: Session, name: str) -> int:
    total = session.scalar(select(func.coalesce(func.sum(WebhookDeliveryCounter.value), 0))
                           .where(WebhookDeliveryCounter.name == name))
    return int(total or 0)  # PostgreSQL sums bigints as numeric


def mark_dead(session: Session, attempt: WebhookLog, error: str | None) -> None:
    attempt.status = DeliveryStatus.DEAD
    attempt.next_retry_at = None
    attempt.claimed_until = None
    attempt.error = (error or "")[:500] or None
    increment_counter(session, "dead")


# --- creating attempts ----------------------------------------------------------------------

def start_attempt(session: Session, event_id: str, endpoint: WebhookEndpoint, attempt: int,
                  now: datetime | None = None) -> WebhookLog:
    """A new pending attempt, published to the webhooks queue once the transaction commits."""
    return new_attempt(session, event_id, endpoint.merchant_id, endpoint.id, attempt, now)


def new_attempt(session: Session, event_id: str, merchant_id: str, endpoint_id: str,
                attempt: int, now: datetime | None = None) -> WebhookLog:
    now = now or utcnow()
    row = WebhookLog(id=new_id("webhook_log"), merchant_id=merchant_id,
                     event_id=event_id, endpoint_id=endpoint_id, attempt=attempt,
                     status=DeliveryStatus.PENDING,
                     next_retry_at=now + timedelta(seconds=REPUBLISH_AFTER_S),
                     created_at=now, updated_at=now)
    session.add(row)
    outbox.enqueue(session, jobs.DELIVER_WEBHOOK, [row.id])
    return row


# Attempt 1 of an event to each of its endpoints and the outbox rows that send them, in one
# statement (PostgreSQL): no ORM objects to build and flush on a worker's every payment.
_START_ATTEMPTS = text("""
WITH l AS (
  INSERT INTO webhook_logs (id, merchant_id, event_id, endpoint_id, attempt, status,
                            next_retry_at, created_at, updated_at)
  SELECT x.id, :merchant_id, :event_id, x.endpoint_id, 1, 'pending', :republish_at, :now,
         :now
  FROM unnest(CAST(:log_ids AS text[]), CAST(:endpoint_ids AS text[])) AS x(id, endpoint_id)
  RETURNING id)
INSERT INTO outbox (task, args, queue, created_at, publish_attempts)
SELECT :task, jsonb_build_array(l.id), :queue, :now, 0 FROM l
RETURNING id, task, args, queue""")


def start_deliveries(session: Session, event: Event) -> int:
    """Attempt 1 of ``event`` for every endpoint subscribed to it, in the event's own
    transaction: an event that commits has its deliveries, and no task has to run first."""
    now = event.created_at or utcnow()
    endpoint_ids = subscriptions.endpoints_for(session, event.merchant_id, event.livemode,
                                               event.type)
    if not endpoint_ids:
        return 0
    if session.get_bind().dialect.name != "postgresql":
        for endpoint_id in endpoint_ids:
            new_attempt(session, event.id, event.merchant_id, endpoint_id, 1, now)
        return len(endpoint_ids)
    rows = execute_in(session, _START_ATTEMPTS, {
        "merchant_id": event.merchant_id, "event_id": event.id, "now": now,
        "republish_at": now + timedelta(seconds=REPUBLISH_AFTER_S),
        "log_ids": new_ids("webhook_log", len(endpoint_ids)), "endpoint_ids": endpoint_ids,
        "task": jobs.DELIVER_WEBHOOK.name, "queue": jobs.DELIVER_WEBHOOK.queue})
    # Published by the relay once the transaction commits (Database.transaction).
    session.info.setdefault("outbox_rows", []).extend(rows)
    return len(endpoint_ids)


def retry_now(session: Session, attempt: WebhookLog) -> WebhookLog:
    """Send ``attempt``'s event to its endpoint again now, as a new attempt (the merchant's
    ``POST /webhook_logs/{id}/retry``). A scheduled retry of the same delivery is replaced by
    this one, so the receiver does not get it twice."""
    chain = session.scalars(select(WebhookLog).where(
        WebhookLog.event_id == attempt.event_id, WebhookLog.endpoint_id == attempt.endpoint_id)
        .order_by(WebhookLog.id).with_for_update()).all()
    if any(row.status == DeliveryStatus.PENDING for row in chain):
        raise Conflict("An attempt of this delivery is already being sent.",
                       code="delivery_in_progress")
    endpoint = session.get(WebhookEndpoint, attempt.endpoint_id, with_for_update=True)
    if endpoint is None:
        # endpoint_id is a foreign key and endpoints are only ever soft-deleted.
        raise RuntimeError(f"webhook log {attempt.id} names endpoint {attempt.endpoint_id}, "
                           "which does not exist")
    if endpoint.status != EndpointStatus.ENABLED:
        raise Conflict(f"The endpoint is {endpoint.status}; enable it before retrying.",
                       code="endpoint_disabled")
    for row in chain:
        if row.status == DeliveryStatus.RETRYING:
            row.status = DeliveryStatus.FAILED
    return start_attempt(session, attempt.event_id, endpoint,
                         max(row.attempt for row in chain) + 1)


# --- one attempt ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    log_id: str
    lease: datetime
    url: str
    body: bytes
    headers: dict
    retried: bool       # pings are sent once; events follow the retry schedule
    attempt: int


_LOGS, _ENDPOINTS, _EVENTS = (cast(Table, model.__table__)
                              for model in (WebhookLog, WebhookEndpoint, Event))
# pg_advisory_xact_lock(key1, key2) namespace of the per-endpoint in-flight count.
ENDPOINT_LOCK_SPACE = 9008


def deliver(db, config, log_id: str, keep_going: Callable[[], bool] = lambda: True) -> str:
    """Send one pending attempt. Returns the outcome: succeeded, retrying, failed, dead, or
    busy (endpoint or merchant at its in-flight cap) / skipped (someone else has it or it is
    done).

    A request that succeeds hands its slot to the endpoint's next waiting attempt, which this
    worker then sends itself (for up to HAND_OVER_S): a backlog to a healthy endpoint drains
    at the speed of its answers, not of the queue and the busy re-offers. A failing endpoint
    keeps no slot; its waiting attempts go back to the dispatcher's schedule. ``keep_going``
    turning false (the worker is shutting down) ends the hand-over early."""
    claimed = _claim(db, config, log_id)
    if isinstance(claimed, str):
        return claimed
    hand_over_until = time.monotonic() + HAND_OVER_S
    first, claim = _send(db, config, claimed, hand_over=True)
    while claim is not None:
        _outcome, claim = _send(db, config, claim,
                                time.monotonic() < hand_over_until and keep_going())
    return first


def _send(db, config, claim: Claim, hand_over: bool) -> tuple[str, Claim | None]:
    """Send ``claim`` and record the answer: (outcome, the next attempt handed to us)."""
    result = http_sender.post(claim.url, claim.body, claim.headers,
                              config.webhook_timeout_s, config.is_production)
    if result.succeeded and db.is_postgres:
        return _surviving_restarts(claim, _record_and_take_next, db, config, claim, result,
                                   hand_over)
    return _surviving_restarts(claim, _record, db, config, claim, result), None


def _surviving_restarts(claim: Claim, record, *args):
    """``record(*args)``, retried across a database restart while our lease lasts: the
    request went out, so its answer must be written. Given up (as the task's own retry
    would, claiming afresh), the lease held one of the endpoint's in-flight slots until it
    ran out and the attempt was sent again: after a PostgreSQL restart an endpoint's four
    slots stood taken and its backlog still for 5 s (make chaos). The retry policy is built
    only once a first try failed (it costs ~35 us, on the path of every delivery)."""
    try:
        return record(*args)
    except OperationalError:
        remaining_s = (claim.lease - utcnow()).total_seconds() - LEASE_MARGIN_S / 2
    return Retrying(retry=retry_if_exception_type(OperationalError),
                    wait=wait_exponential_jitter(multiplier=0.2, max=2),
                    stop=stop_after_delay(max(0.0, remaining_s)), reraise=True)(record, *args)


# 'pending' written into the SQL, not bound: PostgreSQL's generic plan of a prepared
# statement (psycopg prepares one after 5 runs) can use a partial index only when it can
# prove the index's WHERE from the query's text. With the status bound, the hand-over's plan
# went from the pending-by-endpoint index to a bitmap scan of every pending attempt and a
# sort: 4.3 ms a statement with 2,000 waiting (auto_explain, 2026-12-03).
_PENDING: ColumnClause[str] = literal_column(f"'{DeliveryStatus.PENDING}'", String)


def _is_pending(logs):
    return logs.c.status == _PENDING


def _in_flight(column, key: str):
    return select(func.count()).select_from(_LOGS).where(
        column == bindparam(key), _LOGS.c.claimed_until > bindparam("now"),
        _is_pending(_LOGS)).scalar_subquery()


def _claimable(logs):
    """A pending attempt nobody holds a live lease on."""
    return _is_pending(logs) & or_(
        logs.c.claimed_until.is_(None), logs.c.claimed_until <= bindparam("now"))


# What an attempt is signed and sent from (``_signed``): its endpoint's and its event's row.
_TO_SIGN = (_ENDPOINTS.c.url, _ENDPOINTS.c.secret, _ENDPOINTS.c.previous_secret,
            _ENDPOINTS.c.previous_secret_expires_at, _EVENTS.c.id, _EVENTS.c.type,
            _EVENTS.c.created_at, _EVENTS.c.livemode, _EVENTS.c.data)
# Our claimed attempt, while the lease on it is still ours.
_LEASE_IS_OURS = (_LOGS.c.id == bindparam("log_id")) & \
    _is_pending(_LOGS) & (_LOGS.c.claimed_until == bindparam("lease"))

# The claim's statements, built once (a delivery is the hottest path there is): the values
# are bound parameters, so each call only binds them.
_LOCK_ATTEMPT = (
    select(_LOGS.c.endpoint_id, _LOGS.c.merchant_id, _LOGS.c.event_id, _LOGS.c.attempt,
           _LOGS.c.created_at, _ENDPOINTS.c.status.label("endpoint_status"))
    .join_from(_LOGS, _ENDPOINTS, _ENDPOINTS.c.id == _LOGS.c.endpoint_id)
    .where(_LOGS.c.id == bindparam("log_id"), _claimable(_LOGS))
    .with_for_update(skip_locked=True, of=_LOGS))
_COUNTS = select(_in_flight(_LOGS.c.endpoint_id, "endpoint").label("endpoint_n"),
                 _in_flight(_LOGS.c.merchant_id, "merchant").label("merchant_n"))
_COUNTED = _COUNTS.subquery("counted")
# The caps (WEBHOOK_MAX_IN_FLIGHT_PER_*; a merchant cap of 0 is none), stated once.
_ROOM = and_(_COUNTED.c.endpoint_n < bindparam("endpoint_cap", type_=Integer),
             or_(bindparam("merchant_cap", type_=Integer) <= 0,
                 _COUNTED.c.merchant_n < bindparam("merchant_cap", type_=Integer)))
# The endpoint's and then the merchant's advisory lock, taken only when the counts (read
# before them) leave room: PostgreSQL runs the uncorrelated subquery of a CASE branch only
# when the branch is taken, so an attempt whose merchant is already at its cap, the bulk of
# the claims when a merchant's endpoints hang, is turned away without queueing on the lock.
_LOCKS = select(literal_column("1")).select_from(select(
    func.pg_advisory_xact_lock(bindparam("es"), func.hashtext(bindparam("endpoint"))),
    func.pg_advisory_xact_lock(bindparam("ms"), func.hashtext(bindparam("merchant"))))
    .subquery("locks")).scalar_subquery()


def _what_to_send(room):
    return (select(room.label("room"), *_TO_SIGN)
            .select_from(_COUNTED.join(_ENDPOINTS, true())
                         .join(_EVENTS, _EVENTS.c.id == bindparam("event")))
            .where(_ENDPOINTS.c.id == bindparam("endpoint")))


# SQLite serialises writers anyway: it counts once and takes no lock. On PostgreSQL ``room``
# is the locks' 1 when there was room before them (and is checked again under them).
_WHAT_TO_SEND = {"postgresql": _what_to_send(case((_ROOM, _LOCKS))),
                 "sqlite": _what_to_send(_ROOM)}
_MINE = (_LOGS.c.id == bindparam("log_id")) & _is_pending(_LOGS)
_BUSY = update(_LOGS).where(_MINE).values(next_retry_at=bindparam("retry_at"),
                                          updated_at=bindparam("now"))
_ANSWERED = ("response_status", "response_ms", "response_body", "error", "next_retry_at",
             "claimed_until", "updated_at", "status")
# The answer of a claimed attempt, only while our lease is still the one on the row.
_ANSWER = update(_LOGS).where(_LEASE_IS_OURS).values(
    {name: bindparam(f"v_{name}") for name in _ANSWERED})
_LEASE = update(_LOGS).where(_MINE).values(claimed_until=bindparam("lease"),
                                           next_retry_at=bindparam("lease"),
                                           updated_at=bindparam("now"))
# PostgreSQL, under the advisory locks: the lease, taken only if the counts (the statement's
# own snapshot) still leave room. The counts' ``webhook_logs`` is the subquery's own FROM.
_LEASE_IF_ROOM = _LEASE.where(
    select(_ROOM).select_from(_COUNTED).scalar_subquery()).returning(_LOGS.c.id)

_ANSWERED_OK = update(_LOGS).where(_LEASE_IS_OURS).values(
    status=DeliveryStatus.SUCCEEDED, response_status=bindparam("v_response_status"),
    response_ms=bindparam("v_response_ms"), response_body=bindparam("v_response_body"),
    error=None, next_retry_at=None, claimed_until=None, updated_at=bindparam("now"),
).returning(_LOGS.c.endpoint_id).cte("answered")
_WAITING = _LOGS.alias("waiting")
# The endpoint is compared with a scalar subquery of the answer (computed once, before the
# scan), not joined to it: then the partial index of pending attempts by (endpoint, id) hands
# over the oldest one directly. Joined, the plan read every pending attempt of the endpoint
# and sorted them, once per success: 5 ms a statement with 1,000 waiting (EXPLAIN ANALYZE,
# 2026-12-03), so a backlog drained slower the longer it was.
_NEXT = (select(_WAITING.c.id)
         .where(_WAITING.c.endpoint_id == select(_ANSWERED_OK.c.endpoint_id)
                .scalar_subquery(),
                _claimable(_WAITING),
                exists().where(_ENDPOINTS.c.id == _WAITING.c.endpoint_id,
                               _ENDPOINTS.c.status == EndpointStatus.ENABLED))
         .order_by(_WAITING.c.id).limit(1)
         .with_for_update(skip_locked=True, of=_WAITING)).cte("next_waiting")
# Taken (``take``): leased to this worker, which sends it next. Not taken (the worker's
# HAND_OVER_S is up): due now, so the dispatcher offers it again within its second, behind
# what is queued. Its own message was most likely turned away busy while the slot was
# handed on, and would otherwise sit out its busy wait (up to the HTTP timeout): a backlog
# to one endpoint stalled every 5 s (2026-12-03: 98 deliveries/s, against 249/s with no
# time limit at all).
_TAKE = bindparam("take", type_=Boolean)
_LEASED = update(_LOGS).where(_LOGS.c.id == _NEXT.c.id).values(
    claimed_until=case((_TAKE, bindparam("next_lease")), else_=_LOGS.c.claimed_until),
    next_retry_at=case((_TAKE, bindparam("next_lease")), else_=bindparam("now")),
    updated_at=bindparam("now")).returning(
    _LOGS.c.id, _LOGS.c.event_id, _LOGS.c.endpoint_id, _LOGS.c.attempt).cte("leased")
_SUCCEED_AND_TAKE_NEXT = (
    select(select(func.count()).select_from(_ANSWERED_OK).scalar_subquery().label("answered"),
           _LEASED.c.id.label("next_id"), _LEASED.c.attempt.label("next_attempt"), *_TO_SIGN)
    .select_from(select(literal_column("1")).subquery("one")
                 .outerjoin(_LEASED, true())
                 .outerjoin(_ENDPOINTS, _ENDPOINTS.c.id == _LEASED.c.endpoint_id)
                 .outerjoin(_EVENTS, _EVENTS.c.id == _LEASED.c.event_id)))

def _claim(db, config, log_id: str) -> Claim | str:
    """One short Core transaction (the hot path of every delivery): lock the attempt (skipping
    it if another worker has it), then the endpoint's and the merchant's in-flight counts,
    then the lease, the event and the signature. On PostgreSQL the counts are serialised by
    transaction-level advisory locks, one per endpoint and one per merchant, taken in that
    order and only when a first lock-free count leaves room; SQLite serialises writers
    anyway."""
    now = utcnow()
    with db.engine.begin() as conn:
        rows = execute_on(conn, _LOCK_ATTEMPT, {"log_id": log_id, "now": now}, named=True)
        if not rows:
            return "skipped"
        row = rows[0]
        claimed = _claim_locked(conn, config, log_id, row, now) \
            if row.endpoint_status == EndpointStatus.ENABLED else None
    if claimed is None:
        return _dead_endpoint(db, log_id)
    if isinstance(claimed, str):
        return claimed
    lease, found = claimed
    return _signed(log_id, lease, row.attempt, found, now)


def _signed(log_id: str, lease: datetime, attempt: int, found, now: datetime) -> Claim:
    """The claim of ``log_id``: ``found`` is its endpoint's and event's row."""
    body = json.dumps(event_object(found), separators=(",", ":")).encode()
    headers = signer.sign(live_secrets(found, now), found.id, int(time.time()), body)
    return Claim(log_id=log_id, lease=lease, url=found.url, body=body, headers=headers,
                 retried=found.type != "ping", attempt=attempt)


def _claim_locked(conn, config, log_id: str, row, now: datetime):
    """(lease, what to send) for the attempt ``row`` this transaction holds, or "busy"."""
    caps = {"endpoint": row.endpoint_id, "merchant": row.merchant_id, "now": now,
            "endpoint_cap": config.webhook_max_in_flight_per_endpoint,
            "merchant_cap": config.webhook_max_in_flight_per_merchant}
    postgres = conn.dialect.name == "postgresql"
    found, = execute_on(conn, _WHAT_TO_SEND[conn.dialect.name], {
        **caps, "event": row.event_id, "es": ENDPOINT_LOCK_SPACE,
        "ms": MERCHANT_LOCK_SPACE}, named=True)
    lease = now + timedelta(seconds=config.webhook_timeout_s + LEASE_MARGIN_S)
    room = found.room
    if postgres and room:
        # Under the locks, one statement counts again (its fresh snapshot sees every claim
        # committed before ours) and takes the lease if there is still room: one round trip
        # fewer while the endpoint's and the merchant's locks are held.
        room = bool(execute_on(conn, _LEASE_IF_ROOM, {**caps, "log_id": log_id,
                                                      "lease": lease}))
    elif room:
        execute_on(conn, _LEASE, {"log_id": log_id, "now": now, "lease": lease})
    if not room:
        wait = busy_wait_s((now - row.created_at).total_seconds(), config.webhook_timeout_s)
        execute_on(conn, _BUSY, {"log_id": log_id, "now": now,
                                 "retry_at": now + timedelta(seconds=wait)})
        return "busy"
    return lease, found


def _dead_endpoint(db, log_id: str) -> str:
    """The attempt's endpoint was disabled or deleted after the attempt was written."""
    with db.transaction() as session:
        row = session.get(WebhookLog, log_id, with_for_update=True)
        if row is None or row.status != DeliveryStatus.PENDING:
            return "skipped"
        endpoint = session.get(WebhookEndpoint, row.endpoint_id)
        mark_dead(session, row, f"endpoint {endpoint.status}; not sent")
    return DeliveryStatus.DEAD


def _record(db, config, claim: Claim, result: http_sender.SendResult) -> str:
    """The answer, in one autocommitted UPDATE guarded by our lease (succeeded, retrying,
    failed); an attempt that ends the delivery (dead, or a 410 that disables the endpoint)
    goes through ``_record_final`` with its counter and alert."""
    now = utcnow()
    error = result.error[:500] if result.error else None
    values: dict[str, object] = dict(
        response_status=result.status, response_ms=result.duration_ms,
        response_body=result.body, claimed_until=None, updated_at=now, error=error)
    if result.succeeded:
        outcome, values["next_retry_at"] = DeliveryStatus.SUCCEEDED, None
    elif result.status == 410:
        return _record_final(db, claim, values, "HTTP 410: endpoint disabled", gone=True)
    elif not claim.retried:
        outcome, values["next_retry_at"] = DeliveryStatus.FAILED, None
    else:
        delay = retry_delay(config.webhook_retry_schedule, claim.attempt,
                            result.retry_after_s)
        if delay is None:
            return _record_final(db, claim, values, error, gone=False)
        outcome, values["next_retry_at"] = DeliveryStatus.RETRYING, \
            now + timedelta(seconds=delay)
    with db.autocommit_connection() as conn:
        done = conn.execute(_ANSWER, {"log_id": claim.log_id, "lease": claim.lease,
                                      "v_status": outcome,
                                      **{f"v_{k}": v for k, v in values.items()}}).rowcount
    return outcome if done else _lease_lost(claim)


def _record_and_take_next(db, config, claim: Claim, result: http_sender.SendResult,
                          take: bool) -> tuple[str, Claim | None]:
    """A success, recorded in the statement that leases the endpoint's oldest waiting attempt
    (if any) to this worker: one slot changes hands, so the endpoint's and the merchant's
    in-flight counts never move and no lock is needed. Without ``take`` that attempt is made
    due now instead (``_LEASED``). PostgreSQL only (data-modifying CTE)."""
    now = utcnow()
    lease = now + timedelta(seconds=config.webhook_timeout_s + LEASE_MARGIN_S)
    row, = db.autocommit_execute(_SUCCEED_AND_TAKE_NEXT, {  # one statement, atomic on its own
        "log_id": claim.log_id, "lease": claim.lease, "now": now, "next_lease": lease,
        "take": take,
        "v_response_status": result.status, "v_response_ms": result.duration_ms,
        "v_response_body": result.body})
    if not row.answered:
        return _lease_lost(claim), None
    if row.next_id is None or not take:
        return DeliveryStatus.SUCCEEDED, None
    return DeliveryStatus.SUCCEEDED, _signed(row.next_id, lease, row.next_attempt, row, now)


def _lease_lost(claim: Claim) -> str:
    # Our lease ran out and another worker took the attempt over; its answer counts.
    log.warning("webhook attempt %s: lease lost, result not recorded", claim.log_id)
    return "skipped"


def _record_final(db, claim: Claim, values: dict, error: str | None, gone: bool) -> str:
    with db.transaction() as session:
        row = session.get(WebhookLog, claim.log_id, with_for_update=True)
        if row is None or row.status != DeliveryStatus.PENDING or row.claimed_until != claim.lease:
            return _lease_lost(claim)
        for name, value in values.items():
            setattr(row, name, value)
        if gone:
            endpoint = session.get(WebhookEndpoint, row.endpoint_id, with_for_update=True)
            if endpoint.status == EndpointStatus.ENABLED:
                endpoint.status = EndpointStatus.DISABLED
                endpoint.disabled_reason = "The endpoint answered 410 Gone."
                notification_triggers.webhook_endpoint_disabled(
                    session, endpoint, endpoint.disabled_reason)
        mark_dead(session, row, error)
    return DeliveryStatus.DEAD


# --- the periodic dispatcher -----------------------------------------------------------------

def dispatch_due(db) -> dict:
    """Start every retry that is due and publish again every pending attempt nobody took."""
    now = utcnow()
    with db.transaction() as session:
        due = session.scalars(select(WebhookLog).where(
            WebhookLog.status == DeliveryStatus.RETRYING, WebhookLog.next_retry_at <= now)
            .order_by(WebhookLog.next_retry_at).limit(DISPATCH_BATCH)
            .with_for_update(skip_locked=True)).all()
        endpoints = {e.id: e for e in session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.id.in_({row.endpoint_id for row in due})))} if due else {}
        retries = 0
        for row in due:
            endpoint = endpoints[row.endpoint_id]
            if endpoint.status != EndpointStatus.ENABLED:
                mark_dead(session, row, f"{row.error or 'failed'}; endpoint {endpoint.status}, "
                                        "no further retries")
                continue
            row.status = DeliveryStatus.FAILED  # superseded by the next attempt
            start_attempt(session, row.event_id, endpoint, row.attempt + 1, now)
            retries += 1

        stalled = session.scalars(select(WebhookLog).where(
            WebhookLog.status == DeliveryStatus.PENDING, WebhookLog.next_retry_at <= now)
            .order_by(WebhookLog.next_retry_at).limit(DISPATCH_BATCH)
            .with_for_update(skip_locked=True)).all()
        for row in stalled:
            row.next_retry_at = now + timedelta(seconds=REPUBLISH_AFTER_S)
            outbox.enqueue(session, jobs.DELIVER_WEBHOOK, [row.id])
    return {"retries": retries, "republished": len(stalled)}
