from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.audit_trail import audit_change
from api.auth import livemode, merchant_id, requires, with_mode
from api.responses import config, db, json_response, run_create
from api.schemas.common import list_envelope
from api.schemas.payments import (
    PaymentCreateSchema,
    PaymentListArgs,
    PaymentSchema,
    PaymentUpdateSchema,
)
from shared.payments import service as payment_service
from shared.representation import payment_object

blp = Blueprint("payments", __name__,
                description="Payments: answered at once as pending, processed by workers")


@blp.route("/payments")
class Payments(MethodView):
    @requires("payments.write")
    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, PaymentSchema)
    def post(self, data):
        """Create a payment (answers 201 pending; a worker calls the provider)"""
        mid, cfg, data = merchant_id(), config(), with_mode(data)
        return run_create(lambda s: payment_service.create_payment(s, cfg, mid, data),
                          payment_object, audit="payment.create")

    @requires("payments.read")
    @blp.arguments(PaymentListArgs, location="query")
    @blp.response(200, PaymentSchema(many=True))
    def get(self, args):
        """List payments, newest first (filters: status, order_id, created[gte], created[lt])"""
        with db().transaction() as session:
            page = payment_service.list_payments(session, merchant_id(),
                                                 with_mode(args))
            return json_response(list_envelope([payment_object(p) for p in page.rows],
                                               page.has_more))


@blp.route("/payments/<payment_id>")
class PaymentById(MethodView):
    @requires("payments.read")
    @blp.response(200, PaymentSchema)
    def get(self, payment_id):
        """Retrieve a payment"""
        with db().transaction() as session:
            return json_response(payment_object(
                payment_service.get_payment(session, merchant_id(), payment_id,
                                            livemode=livemode())))

    @requires("payments.write")
    @blp.arguments(PaymentUpdateSchema)
    @blp.response(200, PaymentSchema)
    def patch(self, data, payment_id):
        """Cancel a payment not yet sent to a provider, or change metadata/description"""
        with db().transaction() as session:
            payment = payment_service.update_payment(session, merchant_id(), payment_id,
                                                     with_mode(data))
            audit_change(session, "payment.update", payment.id)
            body = payment_object(payment)
        return json_response(body)
