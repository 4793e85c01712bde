"""mark events whose webhook fan-out ran, so the sweeper can redo the ones that did not

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanned_out_at", sa.DateTime(timezone=True),
                                      nullable=True))
    # Events written before this revision were fanned out by then.
    op.execute("UPDATE events SET fanned_out_at = created_at")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_not_fanned_out", ["created_at"], unique=False,
                              postgresql_where=sa.text("fanned_out_at IS NULL"),
                              sqlite_where=sa.text("fanned_out_at IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_not_fanned_out",
                            postgresql_where=sa.text("fanned_out_at IS NULL"),
                            sqlite_where=sa.text("fanned_out_at IS NULL"))
        batch_op.drop_column("fanned_out_at")
