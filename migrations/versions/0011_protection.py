"""protection: risk blocklist, velocity hits, risk settings, payments.risk, notifications

Revision ID: 0011_protection
Revises: 0004
Create Date: 2026-12-01 19:22:51.708173
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011_protection'
down_revision = '0008_ledger'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('risk_velocity_hits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_velocity_hits'))
    )
    with op.batch_alter_table('risk_velocity_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_velocity_hits_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_velocity_hits_merchant_id_kind_value_hash_created_at'), ['merchant_id', 'kind', 'value_hash', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_velocity_hits_payment_id_kind'), ['payment_id', 'kind'], unique=True)

    op.create_table('notification_settings',
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('customer_email_receipts', sa.Boolean(), nullable=False),
    sa.Column('customer_sms_receipts', sa.Boolean(), nullable=False),
    sa.Column('merchant_email_alerts', sa.Boolean(), nullable=False),
    sa.Column('alert_phone', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_notification_settings_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('dedupe_key', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('provider_message_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_notifications_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_dedupe_key'), ['dedupe_key'], unique=True)
        batch_op.create_index(batch_op.f('ix_notifications_merchant_id_id'), ['merchant_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)

    op.create_table('risk_blocklist',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_risk_blocklist_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_blocklist'))
    )
    with op.batch_alter_table('risk_blocklist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_blocklist_merchant_id_id'), ['merchant_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_blocklist_merchant_id_type_value'), ['merchant_id', 'type', 'value'], unique=True)

    op.create_table('risk_settings',
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('amount_limits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_risk_settings_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_risk_settings'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('risk')

    op.drop_table('risk_settings')
    with op.batch_alter_table('risk_blocklist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_blocklist_merchant_id_type_value'))
        batch_op.drop_index(batch_op.f('ix_risk_blocklist_merchant_id_id'))

    op.drop_table('risk_blocklist')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_status_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_notifications_merchant_id_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_dedupe_key'))

    op.drop_table('notifications')
    op.drop_table('notification_settings')
    with op.batch_alter_table('risk_velocity_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_velocity_hits_payment_id_kind'))
        batch_op.drop_index(batch_op.f('ix_risk_velocity_hits_merchant_id_kind_value_hash_created_at'))
        batch_op.drop_index(batch_op.f('ix_risk_velocity_hits_created_at'))

    op.drop_table('risk_velocity_hits')
