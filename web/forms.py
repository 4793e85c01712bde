"""HTML forms and query strings through the API's own marshmallow schemas, so a page
accepts exactly what the API accepts and says why in the same words."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from api.errors import validation_to_gateway_error


def load(schema: Schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_to_gateway_error(exc) from None


def filled(form, *names: str) -> dict:
    """The named fields the user filled in (empty inputs mean "not given")."""
    return {name: form[name] for name in names if form.get(name, "") != ""}
