"""Events: one per state change, the payloads webhook endpoints receive."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import livemode, merchant_id, requires, with_mode
from api.responses import db, json_response
from api.schemas.common import list_envelope
from api.schemas.webhooks import EventListArgs, EventSchema
from shared.events import service as event_service
from shared.representation import event_object

blp = Blueprint("events", __name__, description="Events: what happened, as delivered by webhooks")


@blp.route("/events")
class Events(MethodView):
    @requires("events.read")
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, EventSchema(many=True))
    def get(self, args):
        """List events, newest first (filter: type)"""
        with db().transaction() as session:
            page = event_service.list_events(session, merchant_id(), with_mode(args))
            return json_response(list_envelope([event_object(e) for e in page.rows],
                                               page.has_more))


@blp.route("/events/<event_id>")
class EventById(MethodView):
    @requires("events.read")
    @blp.response(200, EventSchema)
    def get(self, event_id):
        """Retrieve an event"""
        with db().transaction() as session:
            return json_response(event_object(
                event_service.get_event(session, merchant_id(), event_id,
                                        livemode=livemode())))
