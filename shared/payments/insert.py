"""A new payment in one round trip (PostgreSQL): the payment row, its ``payment.created``
event, attempt 1 of that event's delivery to each subscribed webhook endpoint (INSERT ...
SELECT from webhook_endpoints), the outbox rows (process the payment, send each attempt)
and, with an
Idempotency-Key, the stored answer, all written by ONE statement of data-modifying CTEs run
in autocommit. A single statement is atomic on its own, so no BEGIN/COMMIT round trips are
needed and the rows commit (or not) together: nothing lost, nothing doubled.

The payment's JSON is built once in Python and reused for the answer, the event's
``data.object`` and the stored idempotency answer.

Idempotency-Key: the key is inserted as ``done`` with its answer by the same statement, with
``ON CONFLICT DO NOTHING``. When the key already exists nothing at all is written and the
caller falls back to the ordinary claim (replay / 409 in flight / 422 reuse / takeover).
A concurrent request with the same key that has not committed yet makes PostgreSQL wait on
the unique index for that one statement (milliseconds), after which this one sees the key
and replays the first answer: many concurrent identical requests create exactly one payment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from shared import jobs
from shared.audit.service import AuditEntry, audit_values
from shared.config import Config
from shared.db import pyformat, utcnow
from shared.errors import GatewayError
from shared.idempotency.service import KeyToStore
from shared.ids import new_id, new_ids
from shared.merchants.livemode import choose_provider
from shared.payments.states import PaymentStatus
from shared.providers.registry import get_provider
from shared.representation import payment_object
from shared.webhooks import delivery
from shared.webhooks.service import MAX_ENDPOINTS_PER_MERCHANT

PROCESS_TASK, PROCESS_QUEUE = jobs.PROCESS_PAYMENT.name, jobs.PROCESS_PAYMENT.queue

_KEY_CTE = """
k AS (
  INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response_status,
                                response_body, created_at, locked_until)
  VALUES (:merchant_id, :idem_key, :idem_hash, 'done', :status, :body, :now, NULL)
  ON CONFLICT (merchant_id, key) DO NOTHING
  RETURNING id
),"""

_ROWS_CTE = """
p AS (
  INSERT INTO payments (id, merchant_id, order_id, amount, currency, status, amount_refunded,
                        amount_refund_reserved, provider, payment_method, customer,
                        description, metadata, attempts, livemode, created_at, updated_at)
  SELECT :payment_id, :merchant_id, NULL, :amount, :currency, 'pending', 0, 0, :provider,
         CAST(:payment_method AS jsonb), CAST(:customer AS jsonb), :description,
         CAST(:metadata AS jsonb), 0, :livemode, :now, :now
  {source}
  RETURNING id
),
e AS (
  INSERT INTO events (id, merchant_id, type, object_id, data, livemode, created_at)
  SELECT :event_id, :merchant_id, 'payment.created', p.id, CAST(:event_data AS jsonb),
         :livemode, :now
  FROM p
  RETURNING id
),
l AS (
  -- Attempt 1 of the event's delivery to each subscribed, enabled endpoint in the payment's
  -- mode (shared.webhooks.delivery); read here, so no list can be stale. At most 16 rows
  -- (MAX_ENDPOINTS_PER_MERCHANT), each taking one of the ids passed in.
  INSERT INTO webhook_logs (id, merchant_id, event_id, endpoint_id, attempt, status,
                            next_retry_at, created_at, updated_at)
  SELECT split_part(:log_ids, ',', CAST(w.n AS int)), :merchant_id, e.id, w.id, 1, 'pending',
         :republish_at, :now, :now
  FROM e, (SELECT id, row_number() OVER (ORDER BY id) AS n FROM webhook_endpoints
           WHERE merchant_id = :merchant_id AND livemode = :livemode AND status = 'enabled'
             AND (events @> CAST('["*"]' AS jsonb)
                  OR events @> CAST('["payment.created"]' AS jsonb))) AS w
  RETURNING id
),
a AS (
  -- The request's audit row (SPEC "Audit log"); PostgreSQL runs every data-modifying CTE
  -- exactly once whether or not the final SELECT reads it.
  INSERT INTO audit_logs (id, merchant_id, actor_type, actor_id, action, object_type,
                          object_id, request_id, ip, user_agent, details, created_at)
  SELECT :aud_id, :aud_merchant_id, :aud_actor_type, :aud_actor_id, :aud_action,
         'payment', p.id, :aud_request_id, :aud_ip, :aud_user_agent, CAST('{{}}' AS jsonb),
         :aud_created_at
  FROM p WHERE :audited
  RETURNING id
),
o AS (
  INSERT INTO outbox (task, args, queue, created_at, publish_attempts)
  SELECT :process_task, CAST(:process_args AS jsonb), :process_queue, :now, 0 FROM p
  UNION ALL
  SELECT :deliver_task, jsonb_build_array(l.id), :webhooks_queue, :now, 0 FROM l
  RETURNING id, task, args, queue
)
SELECT id, task, args, queue FROM o"""

# Run by Database.autocommit_rows (psycopg placeholders, no SQLAlchemy statement set-up).
WITH_KEY = pyformat("WITH" + _KEY_CTE + _ROWS_CTE.format(source="FROM k"))
WITHOUT_KEY = pyformat("WITH" + _ROWS_CTE.format(source=""))


@dataclass(frozen=True)
class Created:
    body: str                  # the JSON answer, exactly as stored
    outbox: list[tuple]        # (id, task, args, queue) of the committed outbox rows


def can_insert_directly(db, config: Config, data: dict) -> bool:
    """The one-statement path covers the common payment: PostgreSQL, no order to check and
    update, an available provider. Anything else (and every client error, so it is stored
    for replay) goes through ``service.create_payment`` in an ordinary transaction."""
    if not db.is_postgres or data.get("order_id"):
        return False
    try:
        provider = choose_provider(config, data.get("provider"), bool(data.get("livemode")))
    except GatewayError:
        return False
    return not get_provider(provider, config, db).missing_credentials()


def payment_json(payment_id: str, data: dict, provider: str, now: datetime) -> dict:
    """``representation.payment_object`` of the row ``insert_payment`` is about to write.

    There is no ORM object yet (the row is written by one SQL statement), so the builder reads
    the new row's column values from a plain namespace: the shape has one definition."""
    return payment_object(SimpleNamespace(
        id=payment_id, amount=data["amount"], currency=data["currency"],
        status=PaymentStatus.PENDING,
        order_id=None, amount_refunded=0, provider=provider, provider_payment_id=None,
        payment_method=data["payment_method"], customer=data.get("customer"),
        description=data.get("description"), metadata_=data.get("metadata"),
        failure_code=None, failure_message=None, attempts=0, next_action=None, risk=None,
        livemode=data.get("livemode"), created_at=now, updated_at=now))


def insert_payment(db, config: Config, merchant_id: str, data: dict,
                   idempotency: KeyToStore | None = None, status: int = 201, *,
                   audit: AuditEntry | None = None) -> Created | None:
    """Write the new payment and everything that belongs with it in one statement. None when
    the Idempotency-Key already exists (nothing was written)."""
    now = utcnow()
    payment_id, event_id = new_id("payment"), new_id("event")
    livemode = bool(data.get("livemode"))
    provider = choose_provider(config, data.get("provider"), livemode)
    body = json.dumps(payment_json(payment_id, data, provider, now),
                      separators=(",", ":"))
    customer = data.get("customer")
    params = {
        "merchant_id": merchant_id, "payment_id": payment_id, "event_id": event_id,
        "amount": data["amount"], "currency": data["currency"], "provider": provider,
        "payment_method": json.dumps(data["payment_method"]),
        "customer": json.dumps(customer) if customer is not None else None,
        "description": data.get("description"),
        "metadata": json.dumps(data.get("metadata") or {}),
        "event_data": '{"object":' + body + "}", "now": now,
        "process_task": PROCESS_TASK, "process_args": json.dumps([payment_id]),
        "process_queue": PROCESS_QUEUE, "deliver_task": jobs.DELIVER_WEBHOOK.name,
        "webhooks_queue": jobs.DELIVER_WEBHOOK.queue,
        # One text, not an array: psycopg adapts a list element by element (~3 % of a POST).
        "log_ids": ",".join(new_ids("webhook_log", MAX_ENDPOINTS_PER_MERCHANT)),
        "republish_at": now + timedelta(seconds=delivery.REPUBLISH_AFTER_S),
        "livemode": livemode, "audited": audit is not None,
    }
    row = audit_values(actor=audit.actor, action=audit.action, object_id=payment_id,
                       merchant_id=audit.merchant_id) if audit is not None else {}
    params.update({f"aud_{column}": row.get(column) for column in (
        "id", "merchant_id", "actor_type", "actor_id", "action", "request_id", "ip",
        "user_agent", "created_at")})
    statement = WITHOUT_KEY
    if idempotency is not None:
        statement = WITH_KEY
        params.update(idem_key=idempotency.key, idem_hash=idempotency.fingerprint,
                      status=status, body=body)
    rows = db.autocommit_rows(statement, params)
    if not rows:
        return None
    return Created(body=body, outbox=rows)
