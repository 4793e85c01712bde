"""The app factory (STYLE 3): builds the Flask app, registers every blueprint and handler."""
from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface

import shared.models  # noqa: F401  (the model registry: every mapper before a flush)
from api.audit_trail import register_audit_hooks
from api.auth import KeyCache, enforce_access
from api.errors import register_error_handlers
from api.openapi import GatewayApi, document_root_routes
from api.openapi import configure as configure_openapi
from api.protection import install as install_protection
from api.request_context import register_request_hooks
from api.response_check import register as register_response_check
from shared.config import Config
from shared.db import Database
from shared.logging_setup import configure_logging
from shared.runtime import build_runtime


class _PageSessions(SecureCookieSessionInterface):
    """The signed-cookie session is for web pages (the dashboard's login, CSRF tokens); an API
    request (``/api/``: API keys, no cookies) gets Flask's null session, without building a
    signing serializer per request (~3 % of a POST /payments' CPU)."""

    def open_session(self, app: Flask, request: Request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def create_app(config: Config | None = None, db: Database | None = None,
               publish=None) -> Flask:
    config = config or Config.from_env()
    configure_logging(config.log_level)
    app = Flask("gateway")
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_content_length,
    )
    app.session_interface = _PageSessions()
    configure_openapi(app)
    # Tests may hand in a shared database and a synchronous publish that captures messages.
    runtime = build_runtime(config, db=db, publish=publish)
    app.extensions["gateway.runtime"] = runtime
    app.extensions["gateway.config"] = config
    app.extensions["gateway.db"] = runtime.db
    app.extensions["gateway.key_cache"] = KeyCache(float(config.auth_cache_ttl_s))

    register_request_hooks(app)
    register_audit_hooks(app)
    # CORS preflights and rate limits, before authentication
    install_protection(app, config)

    # Each route declares who may call it (api.auth.access); checked here, once.
    app.before_request(enforce_access)

    api = GatewayApi(app)
    # After Api(): flask-smorest installs its own HTTP error handler, ours must win.
    register_error_handlers(app)
    from api.blueprints import register_blueprints
    register_blueprints(app, api)
    document_root_routes(api)
    register_response_check(app, api)
    return app
