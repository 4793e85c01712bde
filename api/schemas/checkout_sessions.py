"""Checkout session request and response schemas (SPEC "Dashboard and hosted checkout")."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import ListArgs
from api.schemas.fields import CurrencyCode, Metadata, MinorUnits, ObjectId
from api.schemas.payments import CustomerSchema
from shared.checkout.service import MAX_URL_LENGTH
from shared.checkout.states import CHECKOUT_STATUSES
from shared.providers.registry import PROVIDERS


class CheckoutSessionCreateSchema(Schema):
    order_id = ObjectId("ord")
    amount = MinorUnits()
    currency = CurrencyCode()
    provider = fields.String(validate=validate.OneOf(list(PROVIDERS)))
    success_url = fields.String(required=True, validate=validate.Length(1, MAX_URL_LENGTH))
    cancel_url = fields.String(required=True, validate=validate.Length(1, MAX_URL_LENGTH))
    customer = fields.Nested(CustomerSchema)
    description = fields.String(validate=validate.Length(max=1000))
    metadata = Metadata()

    @validates_schema
    def _what_to_pay(self, data, **kwargs):
        if "order_id" in data:
            return
        for name in ("amount", "currency"):
            if name not in data:
                raise ValidationError("Missing data for required field (or give order_id).",
                                      name)


class CheckoutSessionSchema(Schema):
    id = fields.String()
    object = fields.Constant("checkout_session")
    url = fields.String()
    status = fields.String(validate=validate.OneOf(CHECKOUT_STATUSES))
    payment_id = fields.String(allow_none=True)
    payment_status = fields.String(allow_none=True)
    amount = fields.Integer()
    currency = fields.String()
    order_id = fields.String(allow_none=True)
    provider = fields.String()
    success_url = fields.String()
    cancel_url = fields.String()
    customer = fields.Nested(CustomerSchema, allow_none=True)
    description = fields.String(allow_none=True)
    metadata = fields.Dict()
    attempts = fields.Integer()
    livemode = fields.Boolean()
    expires_at = fields.String()
    created_at = fields.String()


class CheckoutSessionListArgs(ListArgs):
    pass
