"""webhook attempts are written with their event: drop events.fan_out_pending_since;
sweep_backoff (the sweeper's per-item backoff)

Revision ID: 0012_fan_out_inline
Revises: 0011_protection
Create Date: 2026-12-01

Events still waiting for the old fan-out task get their attempts here, before the column
goes, so nothing is lost across the upgrade: attempt 1 for every enabled endpoint of the
merchant in the event's mode that subscribes to its type, due at once (the dispatcher
publishes pending attempts whose ``next_retry_at`` has passed).
"""
import json
import secrets
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012_fan_out_inline"
down_revision = "0011_protection"
branch_labels = None
depends_on = None

WHERE = "fan_out_pending_since IS NOT NULL"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # shared.ids (revisions import no app code)


def _log_id() -> str:
    ms, chars = int(time.time() * 1000), []
    for _ in range(10):
        chars.append(_ALPHABET[ms & 31])
        ms >>= 5
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "whl_" + "".join(reversed(chars)) + random_part


def _fan_out_pending_events() -> None:
    conn = op.get_bind()
    events = conn.execute(sa.text(
        "SELECT id, merchant_id, type, livemode FROM events "
        f"WHERE {WHERE} AND type <> 'ping'")).all()
    now = datetime.now(UTC)
    for event_id, merchant_id, event_type, livemode in events:
        endpoints = conn.execute(sa.text(
            "SELECT id, events FROM webhook_endpoints WHERE merchant_id = :m "
            "AND livemode = :l AND status = 'enabled'"), {"m": merchant_id, "l": livemode}).all()
        done = {row[0] for row in conn.execute(sa.text(
            "SELECT endpoint_id FROM webhook_logs WHERE event_id = :e"), {"e": event_id})}
        for endpoint_id, filters in endpoints:
            filters = json.loads(filters) if isinstance(filters, str) else (filters or [])
            if endpoint_id in done or not ("*" in filters or event_type in filters):
                continue
            conn.execute(sa.text(
                "INSERT INTO webhook_logs (id, merchant_id, event_id, endpoint_id, attempt, "
                "status, next_retry_at, created_at, updated_at) VALUES (:id, :m, :e, :ep, 1, "
                "'pending', :now, :now, :now)"),
                {"id": _log_id(), "m": merchant_id, "e": event_id,
                 "ep": endpoint_id, "now": now})


def upgrade() -> None:
    op.create_table(
        "sweep_backoff",
        sa.Column("object_id", sa.String(length=40), nullable=False),
        sa.Column("sweeps", sa.Integer(), nullable=False),
        sa.Column("next_sweep_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_sweep_backoff")))
    with op.batch_alter_table("sweep_backoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sweep_backoff_next_sweep_at"), ["next_sweep_at"],
                              unique=False)
    _fan_out_pending_events()
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_fan_out_pending", postgresql_where=sa.text(WHERE),
                            sqlite_where=sa.text(WHERE))
        batch_op.drop_column("fan_out_pending_since")


def downgrade() -> None:
    op.drop_table("sweep_backoff")
    # Every event already has its attempts: the restored column starts NULL.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fan_out_pending_since", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index("ix_events_fan_out_pending", ["fan_out_pending_since"],
                              unique=False, postgresql_where=sa.text(WHERE),
                              sqlite_where=sa.text(WHERE))
