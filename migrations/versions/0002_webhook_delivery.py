"""Webhook delivery: the attempt lease, a status index for log filters, running counters.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_delivery_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "slot", name=op.f("pk_webhook_delivery_counters")),
    )
    with op.batch_alter_table("webhook_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_webhook_logs_merchant_id_status_id"),
                              ["merchant_id", "status", "id"], unique=False)
    # Deliveries that were already dead before the counters existed.
    op.execute("INSERT INTO webhook_delivery_counters (name, slot, value) "
               "SELECT 'dead', 0, COUNT(*) FROM webhook_logs WHERE status = 'dead'")


def downgrade() -> None:
    with op.batch_alter_table("webhook_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_logs_merchant_id_status_id"))
        batch_op.drop_column("claimed_until")
    op.drop_table("webhook_delivery_counters")
