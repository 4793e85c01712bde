"""Liveness and readiness, outside the versioned API and without credentials."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app
from sqlalchemy import text

from api.errors import error_body
from api.responses import json_response
from shared.providers.alerts import current_alerts
from shared.providers.registry import provider_availability

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__)


@blp.get("/health")
def health():
    return json_response({"status": "ok"})


def _check_database() -> str | None:
    try:
        with current_app.extensions["gateway.db"].engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return type(exc).__name__
    return None


def _check_broker() -> str | None:
    config = current_app.extensions["gateway.config"]
    if config.embedded_broker:
        from shared import embedded_broker
        return embedded_broker.problem(config.broker_url)
    import redis
    try:
        redis.Redis.from_url(config.broker_url, socket_connect_timeout=1,
                             socket_timeout=1).ping()
    except Exception as exc:
        return type(exc).__name__
    return None


def _provider_alerts() -> dict:
    """Provider configuration errors the workers met (codes only, never a credential). They
    need an operator but do not make this process unready."""
    try:
        return current_alerts(current_app.extensions["gateway.db"])
    except Exception as exc:
        log.warning("/ready could not read provider alerts: %s", type(exc).__name__)
        return {}


@blp.get("/ready")
def ready():
    config = current_app.extensions["gateway.config"]
    checks = {"database": _check_database(), "broker": _check_broker()}
    down = [name for name, problem in checks.items() if problem]
    providers = {
        name: f"unavailable: missing {', '.join(missing)}" if missing else "available"
        for name, missing in provider_availability(config).items()}
    alerts = _provider_alerts() if not checks["database"] else {}
    for name, alert in alerts.items():
        providers[name] = f"error: {alert['code']} on {alert['operation']}"
    body = {"status": "ready" if not down else "unavailable",
            "checks": {name: problem or "ok" for name, problem in checks.items()},
            "providers": providers, "alerts": alerts}
    if down:
        body.update(error_body("api_error", "dependency_unavailable",
                               f"Unavailable: {', '.join(down)}.", None))
        return json_response(body, 503)
    return json_response(body)
