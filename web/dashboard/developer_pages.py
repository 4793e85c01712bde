"""Developers: webhook endpoints (create with the secret shown once, rotate, test, delete),
their delivery logs with retry, and API keys (created with the secret shown once, revoked).
Every change goes through the service the API uses."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from api.schemas.common import ListArgs
from api.schemas.webhooks import WebhookEndpointCreateSchema, WebhookLogListArgs
from shared.errors import GatewayError
from shared.events.service import EVENT_TYPES
from shared.merchants import credentials
from shared.webhooks import service as webhook_service
from web.dashboard.blueprint import dashboard
from web.dashboard.listing import first_page_url, list_args, next_page_url
from web.dashboard.session_auth import (
    audit,
    config,
    current_principal,
    db,
    livemode,
    login_required,
    merchant_id,
    with_mode,
)
from web.forms import filled, load


def _show_secret_once(title: str, secret: str, back: str):
    """A secret is rendered in this one answer and never again (not stored in the cookie,
    not retrievable by reloading)."""
    return render_template("dashboard/secret_once.html", title=title, secret=secret,
                           back=back, active="developers")


def _endpoint(session, endpoint_id):
    """The merchant's endpoint in the session's mode (another mode's does not exist)."""
    return webhook_service.get_endpoint(session, merchant_id(), endpoint_id,
                                        livemode=livemode())


@dashboard.get("/webhooks")
@login_required("webhook_endpoints.read")
def webhooks():
    args = list_args(ListArgs(), ())
    with db().transaction() as s:
        page = webhook_service.list_endpoints(s, merchant_id(), with_mode(args))
    return render_template("dashboard/webhooks.html", page=page, event_types=EVENT_TYPES,
                           next_url=next_page_url("dashboard.webhooks", page),
                           first_url=first_page_url("dashboard.webhooks"),
                           active="webhooks")


@dashboard.post("/webhooks")
@login_required("webhook_endpoints.write")
def create_webhook():
    events = request.form.getlist("events") or ["*"]
    try:
        data = with_mode(load(WebhookEndpointCreateSchema(), {
            **filled(request.form, "url", "description"), "events": events}))
        with db().transaction() as s:
            endpoint = webhook_service.create_endpoint(s, config(), merchant_id(), data)
            audit(s, "webhook_endpoint.create", endpoint.id)
            secret, endpoint_id = endpoint.secret, endpoint.id
    except GatewayError as exc:
        flash(exc.message, "error")
        return redirect(url_for("dashboard.webhooks"), 303)
    return _show_secret_once("Webhook endpoint created", secret,
                             url_for("dashboard.webhook_detail", endpoint_id=endpoint_id))


@dashboard.get("/webhooks/<endpoint_id>")
@login_required("webhook_endpoints.read")
def webhook_detail(endpoint_id):
    args = list_args(WebhookLogListArgs(), ("status",), {"endpoint_id": endpoint_id})
    with db().transaction() as s:
        endpoint = _endpoint(s, endpoint_id)
        logs = webhook_service.list_logs(s, merchant_id(), with_mode(args))
    return render_template("dashboard/webhook_detail.html", endpoint=endpoint, logs=logs,
                           next_url=next_page_url("dashboard.webhook_detail", logs,
                                                  endpoint_id=endpoint_id),
                           first_url=first_page_url("dashboard.webhook_detail",
                                                    endpoint_id=endpoint_id),
                           active="webhooks")


@dashboard.post("/webhooks/<endpoint_id>/rotate")
@login_required("webhook_endpoints.write")
def rotate_webhook(endpoint_id):
    with db().transaction() as s:
        _endpoint(s, endpoint_id)
        endpoint = webhook_service.rotate_secret(s, config(), merchant_id(), endpoint_id)
        audit(s, "webhook_endpoint.rotate_secret", endpoint_id)
        secret = endpoint.secret
    return _show_secret_once("Signing secret rotated (the old one keeps signing for a "
                             "while alongside)", secret,
                             url_for("dashboard.webhook_detail", endpoint_id=endpoint_id))


@dashboard.post("/webhooks/<endpoint_id>/test")
@login_required("webhook_endpoints.write")
def test_webhook(endpoint_id):
    with db().transaction() as s:
        _endpoint(s, endpoint_id)
        log = webhook_service.send_test_event(s, merchant_id(), endpoint_id)
        audit(s, "webhook_endpoint.test", log.id)
    flash("A ping event is on its way.", "ok")
    return redirect(url_for("dashboard.webhook_detail", endpoint_id=endpoint_id), 303)


@dashboard.post("/webhooks/<endpoint_id>/delete")
@login_required("webhook_endpoints.write")
def delete_webhook(endpoint_id):
    with db().transaction() as s:
        _endpoint(s, endpoint_id)
        webhook_service.delete_endpoint(s, merchant_id(), endpoint_id)
        audit(s, "webhook_endpoint.delete", endpoint_id)
    flash("Endpoint deleted.", "ok")
    return redirect(url_for("dashboard.webhooks"), 303)


@dashboard.post("/webhook_logs/<log_id>/retry")
@login_required("webhook_logs.retry")
def retry_delivery(log_id):
    with db().transaction() as s:
        webhook_service.get_log(s, merchant_id(), log_id, livemode=livemode())
        attempt = webhook_service.retry_log(s, merchant_id(), log_id)
        audit(s, "webhook_log.retry", attempt.id)
        endpoint_id = attempt.endpoint_id
    flash("Delivery retried now.", "ok")
    return redirect(url_for("dashboard.webhook_detail", endpoint_id=endpoint_id), 303)


@dashboard.get("/api_keys")
@login_required("api_keys.read")
def api_keys():
    args = list_args(ListArgs(), ())
    with db().transaction() as s:
        page = credentials.list_keys(s, merchant_id(), args)
    return render_template("dashboard/api_keys.html", page=page,
                           next_url=next_page_url("dashboard.api_keys", page),
                           first_url=first_page_url("dashboard.api_keys"), active="api_keys")


@dashboard.post("/api_keys")
@login_required("api_keys.write")
def create_api_key():
    with db().transaction() as s:
        issued = credentials.issue_key(s, merchant_id(), actor=current_principal().actor,
                                       livemode=livemode())
    return _show_secret_once("API key created", issued.api_key, url_for("dashboard.api_keys"))


@dashboard.post("/api_keys/<key_id>/revoke")
@login_required("api_keys.write")
def revoke_api_key(key_id):
    with db().transaction() as s:
        credentials.revoke_key(s, key_id, actor=current_principal().actor,
                               merchant_id=merchant_id())
    flash(f"API key {key_id} revoked.", "ok")
    return redirect(url_for("dashboard.api_keys"), 303)
