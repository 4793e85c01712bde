"""Per-request plumbing: request id, JSON-only bodies, size limit, access log, metrics."""
from __future__ import annotations

import logging
import secrets
import time

from flask import Flask, g, request

from api.input_guards import check_request
from shared.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from shared.logging_setup import request_id_var
from shared.metrics import observe_request

log = logging.getLogger("api.access")

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _check_body() -> None:
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and \
            request.content_length > limit:
        raise PayloadTooLarge(f"Request bodies are limited to {limit} bytes.")
    raw = request.get_data(cache=True)  # raises 413 past max_content_length when streamed
    if not raw:
        return
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("Send JSON with 'Content-Type: application/json'.")
    if request.get_json(silent=True, cache=True) is None:
        raise InvalidRequest("The request body is not valid JSON.", code="invalid_json")


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
            else "req_" + secrets.token_hex(12)
        g.started = time.perf_counter()
        request_id_var.set(g.request_id)
        check_request(_BODY_METHODS, "/api/v1/webhooks/")  # NUL, JSON depth: before anything
        # Provider webhooks are verified over their raw bytes by each provider's scheme.
        # Web pages (/pay/, /dashboard/) post HTML forms and check them themselves.
        if request.method in _BODY_METHODS and not request.path.startswith(
                ("/api/v1/webhooks/", "/pay/", "/dashboard/")):
            _check_body()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        started = g.get("started")
        if started is not None:
            elapsed = time.perf_counter() - started
            observe_request(request.method, request.url_rule.rule if request.url_rule else None,
                            response.status_code, elapsed)
            if app.config.get("ACCESS_LOG", True):
                log.info("%s %s %s", request.method, request.path, response.status_code,
                         extra={"method": request.method, "path": request.path,
                                "status": response.status_code,
                                "duration_ms": round(elapsed * 1000, 2)})
        return response
