"""One handler renders every error in the contract's shape; never HTML, never a trace."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from shared.errors import FOR_HTTP_STATUS, GatewayError, InternalError, InvalidRequest

log = logging.getLogger("api.errors")


def error_body(error_type: str, code: str, message: str, param: str | None) -> dict:
    return {"error": {"type": error_type, "code": code, "message": message, "param": param,
                      "request_id": g.get("request_id")}}


def render(error: GatewayError):
    body = error_body(error.type, error.code, error.message, error.param)
    response = jsonify(body)
    # e.g. Retry-After on a 429
    response.headers.update(getattr(error, "headers", None) or {})
    return response, error.status


def render_validation(error: GatewayError):
    """A schema error; under an Idempotency-Key it is stored, or an earlier answer replayed."""
    from api.idempotent_errors import stored_or_replayed
    body = error_body(error.type, error.code, error.message, error.param)
    try:
        replay = stored_or_replayed(error, body)
    except GatewayError as key_problem:  # the key is in flight, reused or malformed
        return render(key_problem)
    if replay is not None:
        return replay
    return jsonify(body), error.status


def first_validation_error(messages, prefix: str = "") -> tuple[str | None, str]:
    """The dotted path and message of the first problem in marshmallow's error dict."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                return (prefix or None), first_validation_error(value, prefix)[1]
            path = f"{prefix}.{key}" if prefix else str(key)
            return first_validation_error(value, path)
    if isinstance(messages, list) and messages:
        return (prefix or None), str(messages[0])
    return (prefix or None), str(messages)


def validation_to_gateway_error(err: ValidationError) -> GatewayError:
    param, message = first_validation_error(err.messages)
    code = "parameter_invalid"
    if message.startswith("Missing data"):
        code = "parameter_missing"
    elif message.startswith("Unknown field"):
        code = "parameter_unknown"
    elif message.startswith("raw_card_data_not_allowed"):
        return InvalidRequest("Raw card numbers are not accepted; use a provider token.",
                              code="raw_card_data_not_allowed", param=param)
    text = f"{param}: {message}" if param else message
    return InvalidRequest(text, code=code, param=param)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError):
        return render(error)

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError):
        return render_validation(validation_to_gateway_error(error))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        known = FOR_HTTP_STATUS.get(status)
        error_type, code = (known.type, known.code) if known else ("api_error", "http_error")
        # flask-smorest/webargs put marshmallow messages on the exception.
        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if messages:
            if isinstance(messages, dict) and len(messages) == 1 and \
                    next(iter(messages)) in ("json", "query", "headers", "view_args"):
                messages = next(iter(messages.values()))  # drop webargs' location key
            return render_validation(validation_to_gateway_error(ValidationError(messages)))
        message = error.description or error.name
        response = jsonify(error_body(error_type, code, message, None))
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        body = error_body(InternalError.type, InternalError.code,
                          "Something went wrong on our side; it has been logged.", None)
        return jsonify(body), 500
