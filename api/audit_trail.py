"""The HTTP side of the audit log: where a request came from (request id, IP, user agent)
for the rows its changes write."""
from __future__ import annotations

from flask import Flask, g, request

from shared.audit.service import RequestOrigin, request_origin_var


def register_audit_hooks(app: Flask) -> None:
    @app.before_request
    def _remember_origin():
        # remote_addr is the peer; behind a proxy, configure ProxyFix so it is the client.
        request_origin_var.set(RequestOrigin(
            request_id=g.get("request_id"), ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent")))

    @app.teardown_request
    def _forget_origin(_exc=None):
        request_origin_var.set(None)
