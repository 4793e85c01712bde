"""partial index of the pending attempts by endpoint (the hand-over to the next attempt)

Revision ID: 0014_pending_by_endpoint
Revises: 0013_in_flight_indexes
Create Date: 2026-12-03

A worker whose request to an endpoint succeeded takes that endpoint's oldest waiting attempt
itself; the index holds only pending attempts, never the delivered history behind them.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_pending_by_endpoint"
down_revision = "0013_in_flight_indexes"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index("ix_webhook_logs_pending_endpoint_id", "webhook_logs", ["endpoint_id", "id"],
                    postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_webhook_logs_pending_endpoint_id", table_name="webhook_logs")
