"""Schemas of the routes outside the versioned API: health, readiness, the checkout return."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import ErrorSchema


class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))


class ProviderAlertSchema(Schema):
    code = fields.String(required=True)
    operation = fields.String(required=True)
    since = fields.String(required=True)
    last_seen = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "unavailable"]))
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": '"ok" or what is wrong, per dependency'})
    providers = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                            metadata={"description": '"available" or what is missing'})
    alerts = fields.Dict(keys=fields.String(), values=fields.Nested(ProviderAlertSchema),
                         required=True, metadata={
                             "description": "Provider configuration errors the workers met "
                                            "(codes only), by provider, until a call succeeds"})
    error = fields.Nested(ErrorSchema.ErrorBody, metadata={"description": "Only on 503."})


class CheckoutReturnSchema(Schema):
    object = fields.Constant("checkout_return", required=True)
    payment_id = fields.String(required=True)
    status = fields.String(required=True)


class ProviderEventAckSchema(Schema):
    object = fields.Constant("provider_event", required=True)
    provider = fields.String(required=True)
    received = fields.Boolean(required=True)
    duplicate = fields.Boolean(required=True)
