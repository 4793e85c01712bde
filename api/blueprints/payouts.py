"""Payouts: money from the available balance to the merchant's bank."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import merchant_id, requires
from api.blueprints.balance import livemode
from api.responses import db, json_response, run_create
from api.schemas.common import list_envelope
from api.schemas.ledger import PayoutCreateSchema, PayoutListArgs, PayoutSchema
from shared.ledger import payouts as payout_service
from shared.ledger.representation import payout_object

blp = Blueprint("payouts", __name__, description="Payouts: never more than available")


@blp.route("/payouts")
class Payouts(MethodView):
    @requires("payouts.write")
    @blp.arguments(PayoutCreateSchema)
    @blp.response(201, PayoutSchema)
    def post(self, data):
        """Pay out part of the available balance (owner, admin)"""
        mid, mode = merchant_id(), livemode()
        return run_create(lambda s: payout_service.create_payout(s, mid, data, livemode=mode),
                          payout_object, audit="payout.create")

    @requires("payouts.read")
    @blp.arguments(PayoutListArgs, location="query")
    @blp.response(200, PayoutSchema(many=True))
    def get(self, args):
        """List payouts, newest first (filter: status)"""
        with db().transaction() as session:
            page = payout_service.list_payouts(session, merchant_id(), args, livemode())
            return json_response(list_envelope([payout_object(p) for p in page.rows],
                                               page.has_more))


@blp.route("/payouts/<payout_id>")
class PayoutById(MethodView):
    @requires("payouts.read")
    @blp.response(200, PayoutSchema)
    def get(self, payout_id):
        """Retrieve a payout"""
        with db().transaction() as session:
            return json_response(payout_object(
                payout_service.get_payout(session, merchant_id(), payout_id,
                                          livemode=livemode())))
