"""checkout sessions: the hosted payment page's sessions

Revision ID: 0007_web
Revises: 0006_accounts
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_web"
down_revision = "0006_accounts"  # chained after accounts, merged into this branch
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("success_url", sa.String(2048), nullable=False),
        sa.Column("cancel_url", sa.String(2048), nullable=False),
        sa.Column("customer", _json(), nullable=True),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("livemode", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name="fk_checkout_sessions_merchant_id_merchants"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name="fk_checkout_sessions_order_id_orders"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name="fk_checkout_sessions_payment_id_payments"),
        sa.PrimaryKeyConstraint("id", name="pk_checkout_sessions"),
    )
    op.create_index("ix_checkout_sessions_merchant_id_id", "checkout_sessions",
                    ["merchant_id", "id"])
    op.create_index("ix_checkout_sessions_merchant_id_livemode_id", "checkout_sessions",
                    ["merchant_id", "livemode", "id"])
    op.create_index("ix_checkout_sessions_payment_id", "checkout_sessions", ["payment_id"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("ix_checkout_sessions_payment_id", table_name="checkout_sessions")
    op.drop_index("ix_checkout_sessions_merchant_id_livemode_id",
                  table_name="checkout_sessions")
    op.drop_index("ix_checkout_sessions_merchant_id_id", table_name="checkout_sessions")
    op.drop_table("checkout_sessions")
