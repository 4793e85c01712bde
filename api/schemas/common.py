"""Schemas shared by every resource: list arguments and the list envelope."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class ListArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    starting_after = fields.String(validate=validate.Length(1, 64))


class ErrorSchema(Schema):
    class ErrorBody(Schema):
        type = fields.String()
        code = fields.String()
        message = fields.String()
        param = fields.String(allow_none=True)
        request_id = fields.String()

    error = fields.Nested(ErrorBody)


def list_envelope(items: list[dict], has_more: bool) -> dict:
    return {"object": "list", "data": items, "has_more": has_more}
