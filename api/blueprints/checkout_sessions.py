"""Checkout sessions: a merchant's server asks for a hosted page its customer pays on."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import livemode, merchant_id, requires, with_mode
from api.responses import config, db, json_response, run_create
from api.schemas.checkout_sessions import (
    CheckoutSessionCreateSchema,
    CheckoutSessionListArgs,
    CheckoutSessionSchema,
)
from api.schemas.common import list_envelope
from shared.checkout import service as checkout_service
from shared.checkout.representation import checkout_session_object

blp = Blueprint("checkout_sessions", __name__,
                description="Checkout sessions: a hosted page (/pay/{id}) the customer pays on")


@blp.route("/checkout_sessions")
class CheckoutSessions(MethodView):
    @requires("checkout_sessions.write")
    @blp.arguments(CheckoutSessionCreateSchema)
    @blp.response(201, CheckoutSessionSchema)
    def post(self, data):
        """Create a checkout session (send the customer to its url)"""
        mid, cfg, data = merchant_id(), config(), with_mode(data)
        base = cfg.providers.public_base_url
        return run_create(lambda s: checkout_service.create_session(s, cfg, mid, data),
                          lambda cs: checkout_session_object(cs, None, base),
                          audit="checkout_session.create")

    @requires("payments.read")
    @blp.arguments(CheckoutSessionListArgs, location="query")
    @blp.response(200, CheckoutSessionSchema(many=True))
    def get(self, args):
        """List checkout sessions, newest first"""
        base = config().providers.public_base_url
        with db().transaction() as session:
            page = checkout_service.list_sessions(session, merchant_id(), with_mode(args))
            payments = checkout_service.payments_of(session, page.rows)
            return json_response(list_envelope(
                [checkout_session_object(cs, payments.get(cs.payment_id or ""), base)
                 for cs in page.rows], page.has_more))


@blp.route("/checkout_sessions/<session_id>")
class CheckoutSessionById(MethodView):
    @requires("payments.read")
    @blp.response(200, CheckoutSessionSchema)
    def get(self, session_id):
        """Retrieve a checkout session (its status follows its payment)"""
        base = config().providers.public_base_url
        with db().transaction() as session:
            cs = checkout_service.get_session(session, merchant_id(), session_id,
                                              livemode=livemode())
            payments = checkout_service.payments_of(session, [cs])
            return json_response(checkout_session_object(
                cs, payments.get(cs.payment_id or ""), base))
