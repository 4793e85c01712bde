from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import ListArgs, always_present
from api.schemas.fields import Metadata, MinorUnits, ObjectId
from shared.payments.states import REFUND_STATUSES


class RefundCreateSchema(Schema):
    payment_id = ObjectId("pay", required=True)
    amount = MinorUnits()
    reason = fields.String(validate=validate.Length(1, 500))
    metadata = Metadata()


@always_present()
class RefundSchema(Schema):
    id = fields.String()
    object = fields.Constant("refund")
    livemode = fields.Boolean()
    payment_id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
    reason = fields.String(allow_none=True)
    provider_refund_id = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    metadata = fields.Dict()
    created_at = fields.String()
    updated_at = fields.String()


class RefundListArgs(ListArgs):
    payment_id = ObjectId("pay")
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
