"""The floor: the same shape of work as ``POST /payments`` done naively, to judge our overhead.

Three single-row INSERTs (payment, event, outbox) in one transaction with psycopg 3 and a
connection pool, then one Redis LPUSH. No auth, no validation framework, no ORM. Served by
gunicorn with the same settings as the gateway: ``gunicorn bench.floor_app:app``.
"""
from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime

import redis
from flask import Flask, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

app = Flask("floor")
_state: dict = {}

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_payments (id text PRIMARY KEY, merchant_id text,
  amount bigint, currency text, status text, payment_method jsonb, created_at timestamptz);
CREATE TABLE IF NOT EXISTS floor_events (id text PRIMARY KEY, type text, object_id text,
  data jsonb, created_at timestamptz);
CREATE TABLE IF NOT EXISTS floor_outbox (id bigserial PRIMARY KEY, task text, args jsonb,
  created_at timestamptz);
"""


def _conninfo() -> str:
    return os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")


def _resources():
    if _state.get("pid") != os.getpid():  # one pool per gunicorn worker process
        _state.update(pid=os.getpid(),
                      pool=ConnectionPool(_conninfo(), min_size=4, max_size=16, open=True),
                      redis=redis.Redis.from_url(os.environ["REDIS_URL"]))
    return _state["pool"], _state["redis"]


@app.post("/floor/payments")
def create_payment():
    body = request.get_json()
    pool, broker = _resources()
    now = datetime.now(UTC)
    payment_id, event_id = "pay_" + secrets.token_hex(13), "evt_" + secrets.token_hex(13)
    payment = {"id": payment_id, "object": "payment", "amount": body["amount"],
               "currency": body["currency"], "status": "pending",
               "payment_method": body["payment_method"], "created_at": now.isoformat()}
    with pool.connection() as conn:  # one transaction, committed on exit
        conn.execute("INSERT INTO floor_payments VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (payment_id, "mer_floor", body["amount"], body["currency"], "pending",
                      Jsonb(body["payment_method"]), now))
        conn.execute("INSERT INTO floor_events VALUES (%s, %s, %s, %s, %s)",
                     (event_id, "payment.created", payment_id, Jsonb({"object": payment}), now))
        conn.execute("INSERT INTO floor_outbox (task, args, created_at) VALUES (%s, %s, %s)",
                     ("process_payment", Jsonb([payment_id]), now))
    broker.lpush("floor", json.dumps(["process_payment", payment_id]))
    return app.response_class(json.dumps(payment), status=201, mimetype="application/json")
