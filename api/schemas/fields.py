"""Field types shared by the request schemas: exact money, currencies, metadata, ids."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import current_app
from marshmallow import ValidationError, fields, validate

from shared.money import exponent


class MinorUnits(fields.Field):
    """A JSON integer in minor units: never a float, a string or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Must be an integer amount in the currency's minor unit.")
        config = current_app.extensions["gateway.config"]
        if value < config.amount_min:
            raise ValidationError(f"Must be at least {config.amount_min}.")
        if value > config.amount_max:
            raise ValidationError(f"Must be at most {config.amount_max}.")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class CurrencyCode(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if exponent(code) is None:
            raise ValidationError("Must be an upper-case ISO-4217 currency code, e.g. INR.")
        return code


def _metadata_rules(value: dict) -> None:
    if len(value) > 20:
        raise ValidationError("At most 20 keys.")
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 40:
            raise ValidationError("Keys must be strings of 1 to 40 characters.")
        if not isinstance(item, str):
            raise ValidationError(f"Value of {key!r} must be a string.")
        if len(item) > 500:
            raise ValidationError(f"Value of {key!r} is longer than 500 characters.")


def Metadata(**kwargs) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.Raw(), validate=_metadata_rules,
                       **kwargs)


def ObjectId(prefix: str, **kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(
        rf"^{re.escape(prefix)}_[0-9a-z]{{1,60}}$", error=f"Must be a {prefix}_ id."), **kwargs)


class Timestamp(fields.AwareDateTime):
    """An ISO-8601 date-time or, as Stripe accepts, Unix seconds (``created[gte]=1733011200``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.isdigit():
            seconds = int(value)
            if seconds > 253402300799:   # 9999-12-31T23:59:59Z
                raise ValidationError("Must be a Unix timestamp before the year 10000.")
            return datetime.fromtimestamp(seconds, UTC)
        return super()._deserialize(value, attr, data, **kwargs)
