"""Schemas shared by every resource: list arguments and the list envelope."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class ListArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    # An object id (prefix_ then lower-case base32), never free text: it goes into the query.
    starting_after = fields.String(validate=validate.Regexp(
        r"^[a-z]{2,8}_[0-9a-z]{1,60}$", error="Must be the id of an object in the list."))


class ErrorSchema(Schema):
    """The one error shape of every 4xx and 5xx answer (SPEC "Errors")."""

    class ErrorBody(Schema):
        type = fields.String(required=True)
        code = fields.String(required=True)
        message = fields.String(required=True)
        param = fields.String(required=True, allow_none=True)
        request_id = fields.String(required=True, allow_none=True)

    error = fields.Nested(ErrorBody, required=True)


def always_present(*optional: str):
    """Class decorator for a response schema: every field except ``optional`` is in every
    answer, so the document lists them as required (response schemas never load input)."""
    def mark(cls):
        for name, field in cls._declared_fields.items():
            if name not in optional:
                field.required = True
        return cls
    return mark


def list_envelope(items: list[dict], has_more: bool) -> dict:
    return {"object": "list", "data": items, "has_more": has_more}
