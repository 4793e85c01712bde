"""Every answer checked against the OpenAPI document while testing.

With ``VALIDATE_RESPONSES`` on (the default when ``app.testing``), each answer of a documented
operation must have a documented status, carry ``X-Request-Id``, and have a JSON body that
validates against the documented schema; otherwise the request raises
``ResponseNotDocumented``. So the whole test suite, not only the schemathesis run, keeps the
document and the handlers in step. Production never pays for it.
"""
from __future__ import annotations

import copy
import json
import re

from flask import Flask, Response, current_app, request

_CONVERTER = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
METHODS = ("get", "post", "put", "patch", "delete")


class ResponseNotDocumented(AssertionError):
    pass


def openapi_path(rule: str) -> str:
    """``/payments/<payment_id>`` (Flask) -> ``/payments/{payment_id}`` (OpenAPI)."""
    return _CONVERTER.sub(r"{\1}", rule)


def to_json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema: ``nullable`` becomes ``anyOf`` null."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: to_json_schema(value) for key, value in node.items()
                 if key not in ("nullable", "example", "examples", "discriminator")}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class DocumentIndex:
    """The document's operations by (path, method), with validators built once."""

    def __init__(self, doc: dict) -> None:
        self.doc = doc
        self.components = to_json_schema(doc.get("components", {}))
        self.responses = self.components.get("responses", {})
        self._validators: dict[tuple, object] = {}

    def operation(self, path: str, method: str) -> dict | None:
        return self.doc.get("paths", {}).get(path, {}).get(method)

    def _response(self, op: dict, status: int) -> dict | None:
        response = op.get("responses", {}).get(str(status))
        if response and "$ref" in response:
            response = self.responses.get(response["$ref"].rsplit("/", 1)[-1])
        return response

    def validator(self, path: str, method: str, status: int, media: str):
        key = (path, method, status, media)
        if key not in self._validators:
            op = self.operation(path, method) or {}
            response = self._response(op, status) or {}
            schema = response.get("content", {}).get(media, {}).get("schema")
            if schema is None:
                return None
            from jsonschema import Draft4Validator  # a test dependency: imported only here
            root = {**to_json_schema(copy.deepcopy(schema)), "components": self.components}
            self._validators[key] = Draft4Validator(root)
        return self._validators[key]

    def check(self, path: str, method: str, response: Response) -> None:
        op = self.operation(path, method)
        if op is None:
            return
        where = f"{method.upper()} {path} answered {response.status_code}"
        if self._response(op, response.status_code) is None:
            raise ResponseNotDocumented(f"{where}, a status the document does not list")
        if not response.headers.get("X-Request-Id"):
            raise ResponseNotDocumented(f"{where} without X-Request-Id")
        media = response.mimetype or ""
        if response.direct_passthrough:
            return
        response_doc = self._response(op, response.status_code) or {}
        content = response_doc.get("content", {})
        if content and media not in content:
            raise ResponseNotDocumented(f"{where} as {media}, not {sorted(content)}")
        if media != "application/json":
            return
        validator = self.validator(path, method, response.status_code, media)
        if validator is None:
            return
        try:
            body = json.loads(response.get_data(as_text=True))
        except ValueError:
            raise ResponseNotDocumented(f"{where} with a body that is not JSON") from None
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            location = "/".join(str(p) for p in first.path) or "(the body)"
            raise ResponseNotDocumented(f"{where}: {location}: {first.message}")


def register(app: Flask, api) -> None:
    state: dict = {}

    def _check_against_document(response: Response) -> Response:
        if not current_app.config.get("VALIDATE_RESPONSES", current_app.testing):
            return response
        if request.url_rule is None:
            return response
        index = state.get("index")
        if index is None:
            index = state["index"] = DocumentIndex(api.spec.to_dict())
        index.check(openapi_path(request.url_rule.rule), request.method.lower(), response)
        return response

    # after_request functions run last-registered first: this one must see the finished
    # answer (X-Request-Id and all), so it goes to the front of the list.
    app.after_request_funcs.setdefault(None, []).insert(0, _check_against_document)
