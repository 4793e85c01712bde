"""Every blueprint, registered in one place."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_blueprints(app: Flask, api: Api) -> None:
    from api.blueprints import health, orders, payments, refunds

    app.register_blueprint(health.blp)
    for module in (orders, payments, refunds):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    for name in ("webhook_endpoints", "events", "operations", "provider_webhooks",
                 "payment_actions", "auth", "me", "users", "api_keys",
                 "audit_logs", "risk", "notification_settings", "checkout_sessions",
                 "balance", "payouts", "reports"):
        try:
            module = __import__(f"api.blueprints.{name}", fromlist=["blp"])
        except ModuleNotFoundError as exc:
            if exc.name != f"api.blueprints.{name}":
                raise
            continue
        api.register_blueprint(module.blp, url_prefix="/api/v1")
        # Routes outside the versioned API: /metrics for Prometheus, the customer's return.
        for root_blueprint in ("metrics_blp", "root_blp"):
            if hasattr(module, root_blueprint):
                app.register_blueprint(getattr(module, root_blueprint))
    from web import register_web  # the hosted checkout and dashboard pages
    register_web(app)
