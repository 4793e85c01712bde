"""The merchant's balance and the balance transactions behind it."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_principal, merchant_id, requires
from api.responses import db, json_response
from api.schemas.common import list_envelope
from api.schemas.ledger import BalanceSchema, BalanceTransactionListArgs, BalanceTransactionSchema
from shared.ledger import balance as balance_service
from shared.ledger.representation import balance_transaction_object

blp = Blueprint("balance", __name__, description="Balance: available and pending, per currency")


def livemode() -> bool:
    return current_principal().livemode


@blp.route("/balance")
class Balance(MethodView):
    @requires("balance.read")
    @blp.response(200, BalanceSchema)
    def get(self):
        """The available and pending balance, per currency"""
        with db().transaction() as session:
            return json_response(balance_service.get_balance(session, merchant_id(),
                                                             livemode()))


@blp.route("/balance_transactions")
class BalanceTransactions(MethodView):
    @requires("balance.read")
    @blp.arguments(BalanceTransactionListArgs, location="query")
    @blp.response(200, BalanceTransactionSchema(many=True))
    def get(self, args):
        """List balance transactions, newest first (filters: type, payout_id, created)"""
        with db().transaction() as session:
            page = balance_service.list_balance_transactions(session, merchant_id(), args,
                                                             livemode())
            return json_response(list_envelope(
                [balance_transaction_object(t) for t in page.rows], page.has_more))
