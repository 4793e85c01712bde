"""Operator views: queue status under /api/v1 (operator credential, enforced by the app) and
Prometheus metrics at the root."""
from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import OPERATOR, access, current_principal
from api.responses import config, db, json_response
from api.schemas.webhooks import QueueStatusSchema
from shared.errors import PermissionDenied
from shared.metrics import render_latest
from shared.webhooks.queue_status import queue_status

blp = Blueprint("operations", __name__, description="Operator views (operator credential)")
metrics_blp = FlaskBlueprint("metrics", __name__)


@blp.route("/queue/status")
@access(OPERATOR)
class QueueStatus(MethodView):
    @blp.response(200, QueueStatusSchema)
    def get(self):
        """Per queue depth and oldest job age, workers online, outbox backlog, deliveries"""
        return json_response(queue_status(db(), config()))


@metrics_blp.get("/metrics")
def metrics():
    """Prometheus scrape, for an operator credential only (Bearer operator API key; see
    docs/operations.md for the scrape config)."""
    if not current_principal().is_operator:
        raise PermissionDenied("Metrics need an operator credential.")
    payload, content_type = render_latest()
    return Response(payload, mimetype=None, content_type=content_type)
