"""money safety: operator review flags, the return-poll marker, provider alerts

Revision ID: 0005_money
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_money"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("return_polled_at", sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reason", sa.String(length=64), nullable=True))
    op.create_table(
        "provider_alerts",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_alerts")),
    )


def downgrade() -> None:
    op.drop_table("provider_alerts")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("review_reason")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("return_polled_at")
        batch_op.drop_column("review_reason")
