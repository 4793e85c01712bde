from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, UTCDateTime, utcnow
from shared.webhooks.states import DeliveryStatus, EndpointStatus


class Event(Base):
    """What happened (SPEC "Events"): the payload every webhook delivery carries. It lives
    beside its deliveries: ``shared.events.service.record_event`` writes it with attempt 1 of
    each subscribed endpoint's delivery, so the events package sits above this one."""
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "livemode", "id"),
        Index(None, "merchant_id", "type", "id"),
        Index(None, "object_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    # SPEC "Test and live mode": a test credential sees only test objects.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index(None, "merchant_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    # SPEC "Test and live mode": a test credential sees only test objects.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list] = mapped_column(JSONType, default=list)
    description: Mapped[str | None] = mapped_column(String(500))
    # enabled | disabled | deleted. A deleted endpoint keeps its row so its delivery logs stay
    # readable; the API answers 404 for it and its secrets are wiped.
    status: Mapped[str] = mapped_column(String(16), default=EndpointStatus.ENABLED)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Signing secrets (whsec_...). During a rotation the previous one keeps signing beside the
    # new one until previous_secret_expires_at.
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


_UNDER_LEASE = text("claimed_until IS NOT NULL")
_PENDING = text("status = 'pending'")


class WebhookLog(Base):
    """One row per delivery attempt of one event to one endpoint.

    ``next_retry_at`` is the schedule, kept here rather than in the broker: on a ``retrying``
    row it is when the next attempt goes out; on a ``pending`` row it is when the dispatcher
    publishes the attempt again if nobody has finished it by then (a lost message, a worker
    killed mid-send). ``claimed_until`` is the lease of the worker sending a pending attempt.
    """
    __tablename__ = "webhook_logs"
    __table_args__ = (
        Index(None, "merchant_id", "id"),
        Index(None, "merchant_id", "status", "id"),
        Index(None, "event_id"),
        Index(None, "endpoint_id", "id"),
        Index(None, "status", "next_retry_at"),
        # The in-flight counts of every claim (delivery._claim_locked) read only attempts
        # under a lease, never the backlog waiting behind them.
        Index(None, "endpoint_id", "claimed_until", postgresql_where=_UNDER_LEASE,
              sqlite_where=_UNDER_LEASE),
        Index(None, "merchant_id", "claimed_until", postgresql_where=_UNDER_LEASE,
              sqlite_where=_UNDER_LEASE),
        # The next waiting attempt of an endpoint, taken by the worker whose request to that
        # endpoint just succeeded (delivery._record_and_take_next): the pending ones only.
        Index("ix_webhook_logs_pending_endpoint_id", "endpoint_id", "id",
              postgresql_where=_PENDING, sqlite_where=_PENDING),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    attempt: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    response_status: Mapped[int | None] = mapped_column()
    response_ms: Mapped[int | None] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDeliveryCounter(Base):
    """Running totals that only grow (deliveries that ended ``dead``), so the queue status
    never counts a large table. Increments go to one of a few slots chosen at random, so
    concurrent workers do not queue up behind one hot row; the total is the sum of the slots.
    """
    __tablename__ = "webhook_delivery_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
