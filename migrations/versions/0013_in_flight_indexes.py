"""partial indexes for the webhook in-flight counts (attempts under a lease only)

Revision ID: 0013_in_flight_indexes
Revises: 0012_fan_out_inline
Create Date: 2026-12-02

Every delivery claim counts the attempts in flight for its endpoint and its merchant. The
indexes on (endpoint_id, id) and (merchant_id, status, id) made that count read every pending
attempt of a backlog (after an outage, thousands per claim); these hold only the few attempts
under a lease.
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_in_flight_indexes"
down_revision = "0012_fan_out_inline"
branch_labels = None
depends_on = None

UNDER_LEASE = sa.text("claimed_until IS NOT NULL")


def upgrade() -> None:
    for column in ("endpoint_id", "merchant_id"):
        op.create_index(f"ix_webhook_logs_{column}_claimed_until", "webhook_logs",
                        [column, "claimed_until"], postgresql_where=UNDER_LEASE,
                        sqlite_where=UNDER_LEASE)


def downgrade() -> None:
    for column in ("endpoint_id", "merchant_id"):
        op.drop_index(f"ix_webhook_logs_{column}_claimed_until", table_name="webhook_logs")
