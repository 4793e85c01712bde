"""ledger balance deltas (a payment's posting adds to its accounts without locking them) and
daily-total slots (its daily totals row is one of 16 per merchant and day)

Revision ID: 0015_ledger_balance_deltas
Revises: 0014_pending_by_endpoint
Create Date: 2026-12-03

Every completed payment of a merchant moved the same account rows and the same daily-totals
row, so concurrent settles queued on those row locks. A payment's posting now inserts its
balance changes into ``ledger_balance_deltas`` (folded into the accounts by a periodic job;
readers add what is not folded yet) and adds its totals to one of 16 slot rows of the day.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_ledger_balance_deltas"
down_revision = "0014_pending_by_endpoint"
branch_labels = None
depends_on = None

OLD_TOTALS_INDEX = "ix_ledger_daily_totals_merchant_id_livemode_currency_day"
NEW_TOTALS_INDEX = "ix_ledger_daily_totals_merchant_id_livemode_currency_day_slot"


def upgrade() -> None:
    op.create_table(
        "ledger_balance_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_ledger_balance_deltas_account_id_ledger_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_balance_deltas")),
    )
    op.create_index(op.f("ix_ledger_balance_deltas_account_id"), "ledger_balance_deltas",
                    ["account_id"])
    with op.batch_alter_table("ledger_daily_totals") as batch_op:
        batch_op.add_column(sa.Column("slot", sa.SmallInteger(), nullable=False,
                                      server_default="0"))
        batch_op.drop_index(OLD_TOTALS_INDEX)
        batch_op.create_index(NEW_TOTALS_INDEX, ["merchant_id", "livemode", "currency", "day",
                                                 "slot"], unique=True)


def downgrade() -> None:
    # Fold everything back first: one totals row per day, every delta in its account.
    op.execute("""UPDATE ledger_accounts a SET balance = a.balance + d.total
                  FROM (SELECT account_id, sum(delta) AS total FROM ledger_balance_deltas
                        GROUP BY account_id) d WHERE a.id = d.account_id""")
    op.drop_index(op.f("ix_ledger_balance_deltas_account_id"), table_name="ledger_balance_deltas")
    op.drop_table("ledger_balance_deltas")
    op.execute("""INSERT INTO ledger_daily_totals (merchant_id, livemode, currency, day, slot,
                      gross, refunds, fees, payouts, payment_count, refund_count, payout_count)
                  SELECT merchant_id, livemode, currency, day, -1, sum(gross), sum(refunds),
                         sum(fees), sum(payouts), sum(payment_count), sum(refund_count),
                         sum(payout_count)
                  FROM ledger_daily_totals GROUP BY merchant_id, livemode, currency, day""")
    op.execute("DELETE FROM ledger_daily_totals WHERE slot <> -1")
    with op.batch_alter_table("ledger_daily_totals") as batch_op:
        batch_op.drop_index(NEW_TOTALS_INDEX)
        batch_op.drop_column("slot")
        batch_op.create_index(OLD_TOTALS_INDEX, ["merchant_id", "livemode", "currency", "day"],
                              unique=True)
