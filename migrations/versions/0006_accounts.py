"""accounts: users, refresh-token chains, login failures; the audit log gets aud_ ids, a
typed actor and the request's origin; test and live mode (livemode on keys and objects)

Revision ID: 0006_accounts
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_accounts"
down_revision = "0004"
branch_labels = None
depends_on = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_users_merchant_id_merchants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_merchant_id_id"), ["merchant_id", "id"],
                              unique=False)

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_refresh_tokens_merchant_id_merchants")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_refresh_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_tokens_chain_id"), ["chain_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_tokens_user_id"), ["user_id"],
                              unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_email_created_at"),
                              ["email", "created_at"], unique=False)

    _upgrade_audit_logs()

    # Test and live mode. Everything that exists is test mode (false): existing keys keep
    # working, and live keys are issued explicitly (`gateway create-api-key --live`).
    for table in LIVEMODE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("livemode", sa.Boolean(), server_default=sa.false(),
                                          nullable=False))
            if table in LIVEMODE_INDEXED:
                batch_op.create_index(batch_op.f(f"ix_{table}_merchant_id_livemode_id"),
                                      ["merchant_id", "livemode", "id"], unique=False)


LIVEMODE_TABLES = ("api_keys", "orders", "payments", "refunds", "events", "webhook_endpoints")
LIVEMODE_INDEXED = ("orders", "payments", "refunds", "events")


def _upgrade_audit_logs() -> None:
    """Existing rows keep their order: id 17 becomes aud_000...017, which sorts before every
    ULID-based id written from now on."""
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        if dialect == "postgresql":
            batch_op.alter_column("id", server_default=None)
        batch_op.alter_column(
            "id", existing_type=BIGINT_PK, type_=sa.String(length=40),
            postgresql_using="'aud_' || lpad(id::text, 26, '0')")
        batch_op.alter_column("actor", new_column_name="actor_id",
                              existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("actor_type", sa.String(length=16), nullable=True))
        batch_op.alter_column("object_type", existing_type=sa.String(length=32),
                              nullable=True)
        batch_op.alter_column("object_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ip", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=500), nullable=True))
    if dialect == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_logs_id_seq")
    else:
        op.execute("UPDATE audit_logs SET id = 'aud_' || "
                   "substr('00000000000000000000000000' || id, -26)")
    op.execute("UPDATE audit_logs SET actor_type = CASE WHEN actor_id LIKE 'key_%' "
               "THEN 'api_key' ELSE 'operator' END")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.alter_column("actor_type", existing_type=sa.String(length=16),
                              nullable=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_merchant_id_action_id"),
                              ["merchant_id", "action", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_merchant_id_actor_id_id"),
                              ["merchant_id", "actor_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_merchant_id_object_id_id"),
                              ["merchant_id", "object_id", "id"], unique=False)


def downgrade() -> None:
    for table in LIVEMODE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in LIVEMODE_INDEXED:
                batch_op.drop_index(batch_op.f(f"ix_{table}_merchant_id_livemode_id"))
            batch_op.drop_column("livemode")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_logs_merchant_id_object_id_id"))
        batch_op.drop_index(batch_op.f("ix_audit_logs_merchant_id_actor_id_id"))
        batch_op.drop_index(batch_op.f("ix_audit_logs_merchant_id_action_id"))
    # The old shape has integer ids and a non-null actor/object: rows written since cannot be
    # put back faithfully, so the downgrade keeps none of them.
    op.execute("DELETE FROM audit_logs")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_column("user_agent")
        batch_op.drop_column("ip")
        batch_op.drop_column("request_id")
        batch_op.drop_column("actor_type")
        batch_op.alter_column("actor_id", new_column_name="actor",
                              existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("object_type", existing_type=sa.String(length=32),
                              nullable=False)
        batch_op.alter_column("object_id", existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column("id", existing_type=sa.String(length=40), type_=BIGINT_PK,
                              postgresql_using="0")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_email_created_at"))
    op.drop_table("login_failures")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_chain_id"))
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_merchant_id_id"))
    op.drop_table("users")
