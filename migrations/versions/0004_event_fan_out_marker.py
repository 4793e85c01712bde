"""track events whose webhook fan-out has not run, so the sweeper can redo lost ones

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

WHERE = "fan_out_pending_since IS NOT NULL"


def upgrade() -> None:
    # Existing events were fanned out by then: the new column starts NULL (nothing pending).
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fan_out_pending_since", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index("ix_events_fan_out_pending", ["fan_out_pending_since"],
                              unique=False, postgresql_where=sa.text(WHERE),
                              sqlite_where=sa.text(WHERE))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_fan_out_pending", postgresql_where=sa.text(WHERE),
                            sqlite_where=sa.text(WHERE))
        batch_op.drop_column("fan_out_pending_since")
