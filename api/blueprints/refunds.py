from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import livemode, merchant_id, requires, with_mode
from api.responses import db, json_response, run_create
from api.schemas.common import list_envelope
from api.schemas.refunds import RefundCreateSchema, RefundListArgs, RefundSchema
from shared.refunds import service as refund_service
from shared.representation import refund_object

blp = Blueprint("refunds", __name__, description="Refunds: partial or full, never more than paid")


@blp.route("/refunds")
class Refunds(MethodView):
    @requires("refunds.write")
    @blp.arguments(RefundCreateSchema)
    @blp.response(201, RefundSchema)
    def post(self, data):
        """Refund a completed payment (omit amount to refund what is left)"""
        mid, data = merchant_id(), with_mode(data)
        return run_create(lambda s: refund_service.create_refund(s, mid, data), refund_object,
                          audit="refund.create")

    @requires("refunds.read")
    @blp.arguments(RefundListArgs, location="query")
    @blp.response(200, RefundSchema(many=True))
    def get(self, args):
        """List refunds, newest first (filters: payment_id, status)"""
        with db().transaction() as session:
            page = refund_service.list_refunds(session, merchant_id(), with_mode(args))
            return json_response(list_envelope([refund_object(r) for r in page.rows],
                                               page.has_more))


@blp.route("/refunds/<refund_id>")
class RefundById(MethodView):
    @requires("refunds.read")
    @blp.response(200, RefundSchema)
    def get(self, refund_id):
        """Retrieve a refund"""
        with db().transaction() as session:
            return json_response(refund_object(
                refund_service.get_refund(session, merchant_id(), refund_id,
                                          livemode=livemode())))
