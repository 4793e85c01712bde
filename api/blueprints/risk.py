"""Risk rules the merchant controls: the blocklist and the amount limits."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_principal, merchant_id, requires
from api.responses import db, json_response, run_create
from api.schemas.common import list_envelope
from api.schemas.risk import (
    BlocklistEntryCreateSchema,
    BlocklistEntrySchema,
    BlocklistListArgs,
    RiskSettingsSchema,
    RiskSettingsUpdateSchema,
)
from api.schemas.webhooks import DeletedSchema
from shared.risk import service as risk_service
from shared.risk.service import blocklist_entry_object

blp = Blueprint("risk", __name__, description="Risk rules: blocklist and amount limits")


@blp.route("/risk/blocklist")
class Blocklist(MethodView):
    @requires("risk_rules.write")
    @blp.arguments(BlocklistEntryCreateSchema)
    @blp.response(201, BlocklistEntrySchema)
    def post(self, data):
        """Block an email, VPA, card token or IP for this merchant's payments (audited)"""
        mid, actor = merchant_id(), current_principal().actor
        return run_create(lambda s: risk_service.add_to_blocklist(
            s, mid, actor, data["type"], data["value"]), blocklist_entry_object)

    @requires("risk_rules.read")
    @blp.arguments(BlocklistListArgs, location="query")
    @blp.response(200, BlocklistEntrySchema(many=True))
    def get(self, args):
        """List blocklist entries, newest first (filter: type)"""
        with db().transaction() as session:
            page = risk_service.list_blocklist(session, merchant_id(), args)
            return json_response(list_envelope([blocklist_entry_object(e) for e in page.rows],
                                               page.has_more))


@blp.route("/risk/blocklist/<entry_id>")
class BlocklistEntryById(MethodView):
    @requires("risk_rules.read")
    @blp.response(200, BlocklistEntrySchema)
    def get(self, entry_id):
        """Retrieve one blocklist entry"""
        with db().transaction() as session:
            return json_response(blocklist_entry_object(
                risk_service.get_blocklist_entry(session, merchant_id(), entry_id)))

    @requires("risk_rules.write")
    @blp.response(200, DeletedSchema)
    def delete(self, entry_id):
        """Remove an entry: payments with that value are no longer blocked by it (audited)"""
        with db().transaction() as session:
            body = risk_service.remove_from_blocklist(session, merchant_id(),
                                                      current_principal().actor, entry_id)
        return json_response(body)


@blp.route("/risk/settings")
class RiskSettings(MethodView):
    @requires("risk_rules.read")
    @blp.response(200, RiskSettingsSchema)
    def get(self):
        """The merchant's amount limits per currency"""
        with db().transaction() as session:
            return json_response(risk_service.get_settings(session, merchant_id()))

    @requires("risk_rules.write")
    @blp.arguments(RiskSettingsUpdateSchema)
    @blp.response(200, RiskSettingsSchema)
    def patch(self, data):
        """Replace the amount limits (minor units per currency; audited)"""
        with db().transaction() as session:
            body = risk_service.update_settings(session, merchant_id(),
                                                current_principal().actor, data)
        return json_response(body)
