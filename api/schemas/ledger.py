"""Balance, balance transactions, payouts and reports."""
from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import ListArgs
from api.schemas.fields import CurrencyCode, Metadata, MinorUnits, ObjectId
from shared.ledger.states import BALANCE_TRANSACTION_STATUSES, PAYOUT_STATUSES

TXN_TYPES = ("payment", "refund", "payout", "adjustment")


class BalanceAmountSchema(Schema):
    currency = fields.String()
    amount = fields.Integer()


class BalanceSchema(Schema):
    object = fields.Constant("balance")
    livemode = fields.Boolean()
    available = fields.List(fields.Nested(BalanceAmountSchema))
    pending = fields.List(fields.Nested(BalanceAmountSchema))


class BalanceTransactionSchema(Schema):
    id = fields.String()
    object = fields.Constant("balance_transaction")
    type = fields.String(validate=validate.OneOf(TXN_TYPES))
    amount = fields.Integer()
    fee = fields.Integer()
    net = fields.Integer()
    currency = fields.String()
    source = fields.String()
    payout_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(BALANCE_TRANSACTION_STATUSES))
    livemode = fields.Boolean()
    available_on = fields.String()
    created = fields.String()


class BalanceTransactionListArgs(ListArgs):
    type = fields.String(validate=validate.OneOf(TXN_TYPES))
    payout_id = ObjectId("po")
    created_gte = fields.AwareDateTime(data_key="created[gte]", default_timezone=UTC)
    created_lt = fields.AwareDateTime(data_key="created[lt]", default_timezone=UTC)


class PayoutCreateSchema(Schema):
    amount = MinorUnits(required=True)
    currency = CurrencyCode(required=True)
    destination = fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9_]{1,64}$", error="Must be 1-64 letters, digits or underscores."))
    metadata = Metadata()


class PayoutSchema(Schema):
    id = fields.String()
    object = fields.Constant("payout")
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(PAYOUT_STATUSES))
    method = fields.String(validate=validate.OneOf(("manual", "automatic")))
    destination = fields.String()
    livemode = fields.Boolean()
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    metadata = fields.Dict()
    arrived_at = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class PayoutListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(PAYOUT_STATUSES))


class ReportArgs(Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)

    @validates_schema
    def _range(self, data, **kwargs):
        if "start" in data and "end" in data:
            if data["end"] < data["start"]:
                raise ValidationError("Must not be before 'from'.", "to")
            if (data["end"] - data["start"]).days > 3660:
                raise ValidationError("A report covers at most ten years.", "to")


class SettlementArgs(ReportArgs):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class SettlementRowSchema(Schema):
    date = fields.String()
    currency = fields.String()
    gross = fields.Integer()
    refunds = fields.Integer()
    fees = fields.Integer()
    net = fields.Integer()
    payouts = fields.Integer()
    payment_count = fields.Integer()
    refund_count = fields.Integer()
    payout_count = fields.Integer()


class SettlementReportSchema(Schema):
    object = fields.Constant("report.settlement")
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    data = fields.List(fields.Nested(SettlementRowSchema))


class SummaryReportSchema(Schema):
    object = fields.Constant("report.summary")
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    currencies = fields.List(fields.Dict())
    by_provider = fields.List(fields.Dict())
    by_status = fields.List(fields.Dict())
