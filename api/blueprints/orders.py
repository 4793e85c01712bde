from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import livemode, merchant_id, requires, with_mode
from api.responses import db, json_response, run_create
from api.schemas.common import list_envelope
from api.schemas.orders import OrderCreateSchema, OrderListArgs, OrderSchema
from shared.orders import service as order_service
from shared.representation import order_object

blp = Blueprint("orders", __name__, description="Orders: what a customer is asked to pay")


@blp.route("/orders")
class Orders(MethodView):
    @requires("orders.write")
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderSchema)
    def post(self, data):
        """Create an order"""
        mid, data = merchant_id(), with_mode(data)
        return run_create(lambda s: order_service.create_order(s, mid, data), order_object,
                          audit="order.create")

    @requires("orders.read")
    @blp.arguments(OrderListArgs, location="query")
    @blp.response(200, OrderSchema(many=True))
    def get(self, args):
        """List orders, newest first"""
        with db().transaction() as session:
            page = order_service.list_orders(session, merchant_id(), with_mode(args))
            return json_response(list_envelope([order_object(o) for o in page.rows],
                                               page.has_more))


@blp.route("/orders/<order_id>")
class OrderById(MethodView):
    @requires("orders.read")
    @blp.response(200, OrderSchema)
    def get(self, order_id):
        """Retrieve an order"""
        with db().transaction() as session:
            return json_response(order_object(
                order_service.get_order(session, merchant_id(), order_id,
                                        livemode=livemode())))
