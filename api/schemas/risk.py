"""Risk blocklist and settings schemas: validation and OpenAPI at once."""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import ListArgs
from api.schemas.fields import CurrencyCode, MinorUnits
from api.schemas.payments import VPA
from shared.risk.models import BLOCKLIST_TYPES

_EMAIL = fields.Email()


class BlocklistEntryCreateSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(BLOCKLIST_TYPES))
    value = fields.String(required=True, validate=validate.Length(1, 320))

    @validates_schema
    def _value_matches_type(self, data, **kwargs):
        kind, value = data["type"], data["value"].strip()
        if kind == "email":
            try:
                _EMAIL.deserialize(value)
            except ValidationError:
                raise ValidationError("Not a valid email address.", "value") from None
        elif kind == "vpa" and not VPA.match(value):
            raise ValidationError("Not a valid UPI VPA.", "value")
        elif kind == "ip":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValidationError("Not a valid IPv4 or IPv6 address.", "value") from None
        elif kind == "card_token" and (len(value) > 255 or not value.isprintable()):
            raise ValidationError("Not a valid card token.", "value")


class BlocklistEntrySchema(Schema):
    id = fields.String()
    object = fields.Constant("blocklist_entry")
    type = fields.String(validate=validate.OneOf(BLOCKLIST_TYPES))
    value = fields.String()
    created_at = fields.String()


class BlocklistListArgs(ListArgs):
    type = fields.String(validate=validate.OneOf(BLOCKLIST_TYPES))


class RiskSettingsUpdateSchema(Schema):
    amount_limits = fields.Dict(
        keys=CurrencyCode(), values=MinorUnits(), required=True,
        validate=validate.Length(max=200),
        metadata={"description": 'Largest payment accepted per currency, in minor units, '
                                 'e.g. {"INR": 5000000}. Currencies not listed have no limit.'})


class RiskSettingsSchema(Schema):
    object = fields.Constant("risk_settings")
    merchant_id = fields.String()
    amount_limits = fields.Dict(keys=fields.String(), values=fields.Integer())
