"""Every blueprint, registered in one place."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api.auth import MERCHANT, declare_blueprint_access


def register_blueprints(app: Flask, api: Api) -> None:
    from api.blueprints import (
        api_keys,
        audit_logs,
        auth,
        balance,
        checkout_sessions,
        events,
        health,
        me,
        notification_settings,
        operations,
        orders,
        payment_actions,
        payments,
        payouts,
        provider_webhooks,
        refunds,
        reports,
        risk,
        users,
        webhook_endpoints,
    )
    from web import register_web  # the hosted checkout and dashboard pages

    app.register_blueprint(health.blp)
    for module in (orders, payments, refunds, webhook_endpoints, events, operations,
                   provider_webhooks, payment_actions, auth, me, users, api_keys, audit_logs,
                   risk, notification_settings, checkout_sessions, balance, payouts, reports):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
        # A merchant's credential (API key or dashboard session) unless a route declares
        # otherwise (api.auth.access: the public auth and provider webhook routes, the
        # operator's queue status).
        declare_blueprint_access(app, module.blp.name, MERCHANT)
    # Routes outside the versioned API: /metrics for Prometheus, the customer's return.
    app.register_blueprint(operations.metrics_blp)
    app.register_blueprint(payment_actions.root_blp)
    register_web(app)
