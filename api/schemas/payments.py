"""Payment request and response schemas: validation and OpenAPI documentation at once."""
from __future__ import annotations

import ipaddress
import re
from datetime import UTC

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from api.schemas.common import ListArgs, always_present
from api.schemas.fields import CurrencyCode, Metadata, MinorUnits, ObjectId, Timestamp
from shared.payments.states import PAYMENT_STATUSES
from shared.providers.registry import PROVIDERS

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
INDIAN_MOBILE = re.compile(r"^(?:\+91|91|0)?[6-9]\d{9}$")
VPA = re.compile(r"^[A-Za-z0-9.\-_]{2,256}@[A-Za-z][A-Za-z0-9.\-]{1,63}$")
_DIGITS = re.compile(r"^\d{13,19}$")
# Methods that exist in one currency only: UPI and Indian net banking move rupees.
METHOD_CURRENCIES = {"upi": frozenset({"INR"}), "netbanking": frozenset({"INR"})}


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_card_number(value) -> bool:
    if not isinstance(value, str):
        return False
    compact = value.replace(" ", "").replace("-", "")
    return bool(_DIGITS.match(compact)) and luhn_valid(compact)


def _contains_card_data(method) -> bool:
    if not isinstance(method, dict):
        return False
    if "number" in method or "card_number" in method:
        return True
    return any(looks_like_card_number(v) or _contains_card_data(v) for v in method.values())


class PaymentMethodSchema(Schema):
    type = fields.String(required=True,
                         validate=validate.OneOf(["card", "upi", "netbanking", "wallet"]))
    token = fields.String(validate=validate.Length(1, 255))
    vpa = fields.String(validate=validate.Regexp(VPA, error="Not a valid UPI VPA."))
    bank = fields.String(validate=validate.Length(2, 32))
    wallet = fields.String(validate=validate.Length(2, 32))

    @validates_schema
    def _shape(self, data, **kwargs):
        needs = {"card": "token", "upi": "vpa", "netbanking": "bank", "wallet": "wallet"}
        field = needs[data["type"]]
        if not data.get(field):
            raise ValidationError(f"Required for a {data['type']} payment method.", field)


def _ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError("Not a valid IPv4 or IPv6 address.") from None
    return True


class CustomerSchema(Schema):
    email = fields.Email(validate=validate.Length(max=320))
    phone = fields.String()
    name = fields.String(validate=validate.Length(1, 200))
    ip = fields.String(validate=validate.And(validate.Length(max=45), _ip_address),
                       metadata={"description": "The customer's IP, for risk rules."})

    @validates_schema
    def _phone(self, data, **kwargs):
        phone = data.get("phone")
        if phone is not None and not (E164.match(phone) or INDIAN_MOBILE.match(phone)):
            raise ValidationError(
                "Must be an E.164 number (+14155550123) or an Indian mobile number.", "phone")


class PaymentCreateSchema(Schema):
    amount = MinorUnits(required=True)
    currency = CurrencyCode(required=True)
    order_id = ObjectId("ord")
    provider = fields.String(validate=validate.OneOf(list(PROVIDERS)))
    payment_method = fields.Nested(PaymentMethodSchema, required=True)
    customer = fields.Nested(CustomerSchema)
    description = fields.String(validate=validate.Length(max=1000))
    metadata = Metadata()

    @validates_schema
    def _method_takes_currency(self, data, **kwargs):
        method = (data.get("payment_method") or {}).get("type")
        currencies = METHOD_CURRENCIES.get(method)
        if currencies and data.get("currency") not in currencies:
            raise ValidationError(f"A {method} payment must be in "
                                  f"{' or '.join(sorted(currencies))}.", "currency")

    @pre_load
    def _refuse_card_numbers(self, data, **kwargs):
        # Checked before anything else so a card number is never echoed in another error.
        if isinstance(data, dict) and _contains_card_data(data.get("payment_method")):
            raise ValidationError("raw_card_data_not_allowed", "payment_method")
        return data


class PaymentUpdateSchema(Schema):
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    description = fields.String(validate=validate.Length(max=1000), allow_none=True)
    metadata = Metadata()


@always_present()
class PaymentSchema(Schema):
    id = fields.String()
    object = fields.Constant("payment")
    livemode = fields.Boolean()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    order_id = fields.String(allow_none=True)
    amount_refunded = fields.Integer()
    provider = fields.String()
    provider_payment_id = fields.String(allow_none=True)
    payment_method = fields.Nested(PaymentMethodSchema)
    customer = fields.Nested(CustomerSchema, allow_none=True)
    description = fields.String(allow_none=True)
    metadata = fields.Dict()
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    attempts = fields.Integer()
    next_action = fields.Dict(allow_none=True)
    risk = fields.Dict(allow_none=True, metadata={
        "description": '{"decision": "allow" | "block", "rules": [...]}; null until the '
                       "worker has evaluated the payment."})
    created_at = fields.String()
    updated_at = fields.String()


class PaymentListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    order_id = ObjectId("ord")
    created_gte = Timestamp(data_key="created[gte]", default_timezone=UTC)
    created_lt = Timestamp(data_key="created[lt]", default_timezone=UTC)
