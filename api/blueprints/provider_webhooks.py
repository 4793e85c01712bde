"""Provider webhooks (inbound): no API key, each provider's own signature over the raw body."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import PUBLIC, access
from api.responses import config, db, json_response
from api.schemas.operations import ProviderEventAckSchema
from shared.provider_events import inbound

blp = Blueprint("provider_webhooks", __name__,
                description="Callbacks from Stripe, Razorpay, PhonePe and Cashfree")


@blp.route("/webhooks/<provider>")
@access(PUBLIC)
class ProviderWebhook(MethodView):
    @blp.doc(security=[])
    @blp.response(200, ProviderEventAckSchema)
    def post(self, provider):
        """Receive a provider's signed event: stored, acknowledged, applied by a worker"""
        body = request.get_data(cache=True)
        event = inbound.verify_webhook(config(), provider, request.headers, body)
        with db().transaction() as session:
            stored = inbound.record_webhook(session, provider, event, body)
        return json_response({"object": "provider_event", "provider": provider,
                              "received": True, "duplicate": not stored})
