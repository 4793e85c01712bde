"""HTTP side of SPEC "Protection": CORS for ``CORS_ORIGINS`` and rate limits.

``install(app, config)`` is called once from the app factory *before* authentication is
registered, so that a browser's preflight is answered (204) without credentials and a client
over its limit is refused before any work is done. The limit logic lives in
``shared.ratelimit``; this module only maps requests to identities and decisions to headers.
"""
from __future__ import annotations

from flask import Flask, Response, g, request
from flask_cors import CORS

from api.auth import PUBLIC, current_principal, request_access
from shared.errors import RateLimited
from shared.ratelimit.limiter import RateLimiter

CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]
EXPOSED_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After",
                   "X-Request-Id", "Idempotent-Replayed"]
# Load-balancer probes are not clients.
UNLIMITED_PREFIXES = ("/health",)


def install(app: Flask, config) -> None:
    """CORS and rate limits. The /api/v1 routes that declare PUBLIC access (api.auth.access)
    take no credential and are limited per IP like every route outside /api/v1."""
    _install_cors(app, config)
    _install_rate_limits(app, RateLimiter.from_config(config))


def _install_cors(app: Flask, config) -> None:
    origins = list(config.cors_origins)
    if origins:
        # flask-cors echoes a listed origin (never "*" back when credentials are allowed:
        # config.check refuses that combination) and adds nothing for any other origin.
        CORS(app, origins=origins, methods=CORS_METHODS, allow_headers=CORS_HEADERS,
             expose_headers=EXPOSED_HEADERS, supports_credentials=config.cors_allow_credentials,
             max_age=600, vary_header=True)

    @app.before_request
    def _answer_preflight():
        # Before authentication: a preflight never carries credentials. flask-cors's
        # after_request adds the Access-Control-* headers when the origin is listed.
        if request.method == "OPTIONS" and "Origin" in request.headers and \
                "Access-Control-Request-Method" in request.headers:
            return Response(status=204)
        return None


def _identity() -> tuple[str, str]:
    if request.path.startswith("/api/v1/") and request_access() != PUBLIC:
        # Authenticates now (cached on g for the real check right after): a bad key is a 401
        # here exactly as it would be there.
        principal = current_principal()
        # A signed-in user is limited as themselves, an API key as itself.
        return "credential", principal.user_id or principal.key_id or "unknown"
    return "ip", request.remote_addr or "unknown"


def _install_rate_limits(app: Flask, limiter: RateLimiter) -> None:
    app.extensions["gateway.rate_limiter"] = limiter
    if not limiter.enabled:
        return

    @app.before_request
    def _rate_limit():
        if request.path.startswith(UNLIMITED_PREFIXES):
            return
        scope, identity = _identity()
        decision = limiter.hit(scope, identity)
        if decision is None or not decision.enforced:
            return
        g.rate_limit = decision
        if not decision.allowed:
            raise RateLimited(f"Too many requests; retry in {decision.reset_after_s} s.")

    @app.after_request
    def _rate_limit_headers(response):
        decision = g.get("rate_limit")
        if decision is not None:
            response.headers["RateLimit-Limit"] = str(decision.limit)
            if not decision.allowed:
                response.headers["RateLimit-Remaining"] = str(decision.remaining)
                response.headers["RateLimit-Reset"] = str(decision.reset_after_s)
                response.headers["Retry-After"] = str(decision.reset_after_s)
        return response
