"""Actions on an existing payment that a merchant's front end triggers."""
from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import redirect
from flask.views import MethodView
from flask_smorest import Blueprint

from api.audit_trail import audit_change
from api.auth import livemode, merchant_id, requires
from api.responses import config, db, json_response
from api.schemas.payment_actions import RazorpayCheckoutVerificationSchema
from api.schemas.payments import PaymentSchema
from shared.checkout.service import session_for_payment
from shared.payments.checkout_return import customer_returned
from shared.payments.checkout_verification import verify_razorpay_checkout
from shared.payments.service import get_payment
from shared.representation import payment_object

blp = Blueprint("payment_actions", __name__,
                description="Actions on a payment: confirming a customer's checkout")


@blp.route("/payments/<payment_id>/verify")
class VerifyCheckout(MethodView):
    @requires("payments.write")
    @blp.arguments(RazorpayCheckoutVerificationSchema)
    @blp.response(200, PaymentSchema)
    def post(self, data, payment_id):
        """Verify a Razorpay Checkout signature and confirm the payment with Razorpay"""
        with db().transaction() as session:  # a payment of the other mode is not found
            get_payment(session, merchant_id(), payment_id, livemode=livemode())
        payment = verify_razorpay_checkout(db(), config(), merchant_id(), payment_id, data)
        with db().transaction() as session:  # the verify commits its own steps
            audit_change(session, "payment.verify", payment.id)
        return json_response(payment_object(payment))


# Where a provider's hosted page (PhonePe, Stripe 3-D Secure) sends the customer back. No API
# key: the customer's browser has none. See shared/payments/checkout_return.py.
root_blp = FlaskBlueprint("checkout_return", __name__)


@root_blp.get("/checkout/return/<payment_id>")
def checkout_return(payment_id):
    with db().transaction() as session:
        status = customer_returned(session, payment_id, config().checkout_return_poll_s)
        hosted = session_for_payment(session, payment_id)
    if hosted is not None:  # paid on the hosted checkout: back to its page, which follows up
        return redirect(f"/pay/{hosted.id}", 303)
    return json_response({"object": "checkout_return", "payment_id": payment_id,
                          "status": status})
