"""The HTTP side of the audit log: where a request came from (request id, IP, user agent)
for the rows its changes write, and ``audit_change`` for routes whose service does not write
its own row (the services of accounts, API keys and users do)."""
from __future__ import annotations

from flask import Flask, g, request
from sqlalchemy.orm import Session

from api.auth import current_principal
from shared.audit.service import RequestOrigin, record_audit, request_origin_var


def audit_change(session: Session, action: str, object_id: str | None) -> None:
    """One audit row for this request's change, by the caller, in the change's transaction."""
    principal = current_principal()
    record_audit(session, actor=principal.actor, action=action, object_id=object_id,
                 merchant_id=principal.merchant_id)


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
