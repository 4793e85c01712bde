"""Webhook endpoints (where a merchant's events go) and their delivery logs."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.audit_trail import audit_change
from api.auth import livemode, merchant_id, requires, with_mode
from api.responses import config, db, json_response, run_create
from api.schemas.common import ListArgs, list_envelope
from api.schemas.webhooks import (
    DeletedSchema,
    NoBodySchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointSchema,
    WebhookEndpointUpdateSchema,
    WebhookLogListArgs,
    WebhookLogSchema,
)
from shared.webhooks import service as webhook_service
from shared.webhooks.representation import webhook_endpoint_object, webhook_log_object

blp = Blueprint("webhook_endpoints", __name__,
                description="Webhook endpoints, signed deliveries and their logs")


def _in_callers_mode(session, mid: str, endpoint_id: str) -> None:
    """An endpoint of the other mode is not found (locked here as the service will)."""
    webhook_service.get_endpoint(session, mid, endpoint_id, lock=True, livemode=livemode())


def _with_secret(endpoint) -> dict:
    return webhook_endpoint_object(endpoint, with_secret=True)


@blp.route("/webhook_endpoints")
class WebhookEndpoints(MethodView):
    @requires("webhook_endpoints.write")
    @blp.arguments(WebhookEndpointCreateSchema)
    @blp.response(201, WebhookEndpointSchema)
    def post(self, data):
        """Create an endpoint (the answer carries its signing secret, shown only here)"""
        mid, cfg = merchant_id(), config()
        return run_create(lambda s: webhook_service.create_endpoint(s, cfg, mid, with_mode(data)),
                          _with_secret, audit="webhook_endpoint.create")

    @requires("webhook_endpoints.read")
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, WebhookEndpointSchema(many=True))
    def get(self, args):
        """List endpoints, newest first"""
        with db().transaction() as session:
            page = webhook_service.list_endpoints(session, merchant_id(),
                                                  with_mode(args))
            return json_response(list_envelope(
                [webhook_endpoint_object(e) for e in page.rows], page.has_more))


@blp.route("/webhook_endpoints/<endpoint_id>")
class WebhookEndpointById(MethodView):
    @requires("webhook_endpoints.read")
    @blp.response(200, WebhookEndpointSchema)
    def get(self, endpoint_id):
        """Retrieve an endpoint (without its secret)"""
        with db().transaction() as session:
            return json_response(webhook_endpoint_object(
                webhook_service.get_endpoint(session, merchant_id(), endpoint_id,
                                             livemode=livemode())))

    @requires("webhook_endpoints.write")
    @blp.arguments(WebhookEndpointUpdateSchema)
    @blp.response(200, WebhookEndpointSchema)
    def patch(self, data, endpoint_id):
        """Change the URL, the events, the description or metadata, or enable/disable it"""
        with db().transaction() as session:
            _in_callers_mode(session, merchant_id(), endpoint_id)
            endpoint = webhook_service.update_endpoint(session, config(), merchant_id(),
                                                       endpoint_id, data)
            audit_change(session, "webhook_endpoint.update", endpoint.id)
            body = webhook_endpoint_object(endpoint)
        return json_response(body)

    @requires("webhook_endpoints.write")
    @blp.response(200, DeletedSchema)
    def delete(self, endpoint_id):
        """Delete an endpoint; its delivery logs stay readable"""
        with db().transaction() as session:
            _in_callers_mode(session, merchant_id(), endpoint_id)
            body = webhook_service.delete_endpoint(session, merchant_id(), endpoint_id)
            audit_change(session, "webhook_endpoint.delete", endpoint_id)
        return json_response(body)


@blp.route("/webhook_endpoints/<endpoint_id>/rotate_secret")
class RotateSecret(MethodView):
    @requires("webhook_endpoints.write")
    @blp.arguments(NoBodySchema)
    @blp.response(200, WebhookEndpointSchema)
    def post(self, _data, endpoint_id):
        """New signing secret; the old one keeps signing beside it for 24 hours"""
        mid, cfg = merchant_id(), config()

        def rotate(session):
            _in_callers_mode(session, mid, endpoint_id)
            return webhook_service.rotate_secret(session, cfg, mid, endpoint_id)
        return run_create(rotate, _with_secret, status=200,
                          audit="webhook_endpoint.rotate_secret")


@blp.route("/webhook_endpoints/<endpoint_id>/test")
class SendTestEvent(MethodView):
    @requires("webhook_endpoints.write")
    @blp.arguments(NoBodySchema)
    @blp.response(201, WebhookLogSchema)
    def post(self, _data, endpoint_id):
        """Send a ping event to this endpoint only; answers the pending delivery attempt"""
        mid = merchant_id()

        def send(session):
            _in_callers_mode(session, mid, endpoint_id)
            return webhook_service.send_test_event(session, mid, endpoint_id)
        return run_create(send, webhook_log_object, audit="webhook_endpoint.test")


@blp.route("/webhook_logs")
class WebhookLogs(MethodView):
    @requires("webhook_logs.read")
    @blp.arguments(WebhookLogListArgs, location="query")
    @blp.response(200, WebhookLogSchema(many=True))
    def get(self, args):
        """List delivery attempts, newest first (filters: event_id, endpoint_id, status)"""
        with db().transaction() as session:
            page = webhook_service.list_logs(session, merchant_id(), with_mode(args))
            return json_response(list_envelope([webhook_log_object(r) for r in page.rows],
                                               page.has_more))


@blp.route("/webhook_logs/<log_id>")
class WebhookLogById(MethodView):
    @requires("webhook_logs.read")
    @blp.response(200, WebhookLogSchema)
    def get(self, log_id):
        """Retrieve one delivery attempt"""
        with db().transaction() as session:
            return json_response(webhook_log_object(
                webhook_service.get_log(session, merchant_id(), log_id,
                                        livemode=livemode())))


@blp.route("/webhook_logs/<log_id>/retry")
class RetryDelivery(MethodView):
    @requires("webhook_logs.retry")
    @blp.arguments(NoBodySchema)
    @blp.response(201, WebhookLogSchema)
    def post(self, _data, log_id):
        """Send this attempt's event to its endpoint again now, as a new attempt"""
        mid, mode = merchant_id(), livemode()

        def retry(session):
            webhook_service.get_log(session, mid, log_id, livemode=mode)  # 404 in other mode
            return webhook_service.retry_log(session, mid, log_id)
        return run_create(retry,
                          webhook_log_object, audit="webhook_log.retry")
