"""double-entry ledger: accounts, journal entries and lines (balanced and append-only,
enforced by PostgreSQL triggers), balance transactions, fee schedules, payouts, the sandbox
bank and daily totals

Revision ID: 0008_ledger
Revises: 0004
Create Date: 2026-12-01 19:20:33.437195
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_ledger"
down_revision = "0007_web"
branch_labels = None
depends_on = None

# At commit, every entry written in the transaction must balance: debits = credits, at least
# two lines, each on an account of the entry's merchant, currency and mode. DEFERRABLE
# INITIALLY DEFERRED so the entry and its lines can be inserted one statement at a time.
BALANCE_FUNCTION = """
CREATE FUNCTION ledger_entry_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
    debits numeric;
    credits numeric;
    lines int;
    foreign_lines int;
BEGIN
    IF TG_TABLE_NAME = 'ledger_entries' THEN eid := NEW.id; ELSE eid := NEW.entry_id; END IF;
    SELECT coalesce(sum(l.amount) FILTER (WHERE l.side = 'debit'), 0),
           coalesce(sum(l.amount) FILTER (WHERE l.side = 'credit'), 0),
           count(l.id),
           count(l.id) FILTER (WHERE a.currency <> e.currency OR a.merchant_id <> e.merchant_id
                                     OR a.livemode <> e.livemode)
      INTO debits, credits, lines, foreign_lines
      FROM ledger_entries e
      LEFT JOIN ledger_lines l ON l.entry_id = e.id
      LEFT JOIN ledger_accounts a ON a.id = l.account_id
     WHERE e.id = eid;
    IF debits <> credits OR lines < 2 OR foreign_lines > 0 THEN
        RAISE EXCEPTION 'ledger entry % does not balance (debits %, credits %, % lines, % on '
                        'foreign accounts)', eid, debits, credits, lines, foreign_lines
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversing entry instead', TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
END $$;
"""


def _create_triggers() -> None:
    op.execute(BALANCE_FUNCTION)
    op.execute(APPEND_ONLY_FUNCTION)
    for table in ("ledger_entries", "ledger_lines"):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_balance AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION ledger_entry_must_balance()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )


def _drop_triggers() -> None:
    for table in ("ledger_entries", "ledger_lines"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_balance ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ledger_entry_must_balance()")
    op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")


def upgrade() -> None:
    op.create_table(
        "sandbox_bank_transfers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("payout_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_bank_transfers")),
    )
    with op.batch_alter_table("sandbox_bank_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_bank_transfers_payout_id"), ["payout_id"], unique=True
        )

    op.create_table(
        "balance_transactions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("payout_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("available_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_balance_transactions_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_transactions")),
    )
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_merchant_id_id"),
            ["merchant_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_merchant_id_payout_id_id"),
            ["merchant_id", "payout_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_merchant_id_type_id"),
            ["merchant_id", "type", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_balance_transactions_pending_available_on",
            ["available_on"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_source_id_type"), ["source_id", "type"], unique=True
        )

    op.create_table(
        "fee_schedules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("fee_fixed", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fee_bps >= 0 AND fee_bps <= 10000", name=op.f("ck_fee_schedules_bps_range")
        ),
        sa.CheckConstraint("fee_fixed >= 0", name=op.f("ck_fee_schedules_fixed_non_negative")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_fee_schedules_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedules")),
    )
    with op.batch_alter_table("fee_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fee_schedules_merchant_id_currency"),
            ["merchant_id", "currency"],
            unique=True,
        )

    op.create_table(
        "ledger_accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_ledger_accounts_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_accounts_merchant_id_currency_livemode_kind"),
            ["merchant_id", "currency", "livemode", "kind"],
            unique=True,
        )

    op.create_table(
        "ledger_daily_totals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("payouts", sa.BigInteger(), nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("payout_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_ledger_daily_totals_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_daily_totals")),
    )
    with op.batch_alter_table("ledger_daily_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_daily_totals_merchant_id_livemode_currency_day"),
            ["merchant_id", "livemode", "currency", "day"],
            unique=True,
        )

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_ledger_entries_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_source_id_kind"), ["source_id", "kind"], unique=True
        )

    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("schedule_key", sa.String(length=32), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payouts_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payouts_merchant_id_currency_livemode_schedule_key"),
            ["merchant_id", "currency", "livemode", "schedule_key"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_payouts_merchant_id_id"), ["merchant_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payouts_status_updated_at"), ["status", "updated_at"], unique=False
        )

    op.create_table(
        "ledger_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("side", sa.String(length=6), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("side IN ('debit', 'credit')", name=op.f("ck_ledger_lines_side_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_lines_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_lines_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_lines_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
    )
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_lines_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "ledger_rollup_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("through", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ledger_rollup_state")),
    )
    op.create_table(
        "payment_daily_summaries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_daily_summaries")),
    )
    with op.batch_alter_table("payment_daily_summaries", schema=None) as batch_op:
        batch_op.create_index("ix_payment_daily_summaries_bucket",
                              ["merchant_id", "livemode", "day", "currency", "provider",
                               "status"], unique=True)
    op.create_table(
        "payment_summary_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_summary_days")),
    )
    with op.batch_alter_table("payment_summary_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_summary_days_merchant_id_day"),
                              ["merchant_id", "day"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        _create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop_triggers()
    with op.batch_alter_table("payment_summary_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_summary_days_merchant_id_day"))
    op.drop_table("payment_summary_days")
    with op.batch_alter_table("payment_daily_summaries", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_daily_summaries_bucket")
    op.drop_table("payment_daily_summaries")
    op.drop_table("ledger_rollup_state")
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_lines_entry_id"))

    op.drop_table("ledger_lines")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payouts_status_updated_at"))
        batch_op.drop_index(batch_op.f("ix_payouts_merchant_id_id"))
        batch_op.drop_index(batch_op.f("ix_payouts_merchant_id_currency_livemode_schedule_key"))

    op.drop_table("payouts")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_source_id_kind"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("ledger_daily_totals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_daily_totals_merchant_id_livemode_currency_day"))

    op.drop_table("ledger_daily_totals")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_merchant_id_currency_livemode_kind"))

    op.drop_table("ledger_accounts")
    with op.batch_alter_table("fee_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_schedules_merchant_id_currency"))

    op.drop_table("fee_schedules")
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_transactions_source_id_type"))
        batch_op.drop_index(
            "ix_balance_transactions_pending_available_on",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_balance_transactions_merchant_id_type_id"))
        batch_op.drop_index(batch_op.f("ix_balance_transactions_merchant_id_payout_id_id"))
        batch_op.drop_index(batch_op.f("ix_balance_transactions_merchant_id_id"))

    op.drop_table("balance_transactions")
    with op.batch_alter_table("sandbox_bank_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_bank_transfers_payout_id"))

    op.drop_table("sandbox_bank_transfers")
