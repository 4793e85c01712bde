from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import ListArgs, always_present
from api.schemas.fields import CurrencyCode, Metadata, MinorUnits
from shared.orders.states import ORDER_STATUSES


class OrderCreateSchema(Schema):
    amount = MinorUnits(required=True)
    currency = CurrencyCode(required=True)
    receipt = fields.String(validate=validate.Length(1, 40))
    notes = Metadata()
    metadata = Metadata()


@always_present()
class OrderSchema(Schema):
    id = fields.String()
    object = fields.Constant("order")
    livemode = fields.Boolean()
    amount = fields.Integer()
    currency = fields.String()
    receipt = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    amount_paid = fields.Integer()
    attempts = fields.Integer()
    metadata = fields.Dict()
    created_at = fields.String()


class OrderListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
