"""The customer's hosted checkout page, ``/pay/{cs_id}``: no credentials, mobile first.

GET shows the merchant, the amount and what to do next; POST pays through
``shared.checkout.service.pay`` (the API's own payment service underneath) and redirects
back to GET (post/redirect/get, so a reload never posts twice); ``/status`` is what the
page's script polls while the worker runs, and tells it where to send the customer.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from api.errors import validation_to_gateway_error
from api.schemas.payment_actions import RazorpayCheckoutVerificationSchema
from api.schemas.payments import PaymentMethodSchema, looks_like_card_number
from shared.checkout import service as checkout_service
from shared.checkout.states import CheckoutSessionStatus
from shared.errors import Conflict, GatewayError, InvalidRequest
from shared.payments.checkout_verification import verify_razorpay_checkout
from web.handover import Handover, handover_for
from web.security import csrf_exempt, protect

pages = Blueprint("checkout_pages", __name__, template_folder="templates")
protect(pages)

PROVIDER_NAMES = {"sandbox": "Sandbox", "stripe": "Stripe", "razorpay": "Razorpay",
                  "phonepe": "PhonePe", "cashfree": "Cashfree"}


def _db():
    return current_app.extensions["gateway.db"]


def _config():
    return current_app.extensions["gateway.config"]


def _page_url(session_id: str) -> str:
    return url_for("checkout_pages.pay_page", session_id=session_id, _external=True)


def page_state(view: checkout_service.CustomerView, handover: Handover | None) -> str:
    """One word for what the page shows; the script reloads when it changes."""
    if view.status in (CheckoutSessionStatus.COMPLETE, CheckoutSessionStatus.EXPIRED):
        return view.status
    if view.can_pay:
        return "pay"
    return "handover" if handover else "in_flight"


def _load(session_id: str):
    with _db().transaction() as session:
        view = checkout_service.customer_view(session, session_id)
    handover = handover_for(view, _config(), _page_url(session_id))
    return view, handover


def _render(session_id: str, error: str | None = None, status: int = 200, vpa: str = ""):
    view, handover = _load(session_id)
    state = page_state(view, handover)
    if handover and handover.kind == "form" and handover.origin:
        g.csp_form_action = (handover.origin,)
    if handover and handover.kind == "cashfree" and handover.origin:
        g.csp_script_src = (handover.origin,)
    return render_template(
        "checkout/pay.html", view=view, cs=view.session, handover=handover, state=state,
        error=error, vpa=vpa, provider_name=PROVIDER_NAMES.get(view.session.provider,
                                                               view.session.provider),
        test_mode=not view.session.livemode, sandbox=view.session.provider == "sandbox"), status


@pages.get("/pay/<session_id>")
def pay_page(session_id):
    return _render(session_id)


@pages.get("/pay/<session_id>/status")
def pay_status(session_id):
    view, handover = _load(session_id)
    state = page_state(view, handover)
    body = {"object": "checkout_status", "state": state, "status": view.status,
            "payment_status": view.payment_status,
            "redirect": view.success_redirect if state == "complete" else None}
    return jsonify(body)


def _payment_method(form) -> dict:
    kind = form.get("method")
    if kind == "upi":
        raw = {"type": "upi", "vpa": form.get("vpa", "").strip()}
    elif kind == "card":
        token = form.get("token", "").strip()
        if looks_like_card_number(token):
            raise InvalidRequest("Card numbers are not accepted here; use a card token.",
                                 code="raw_card_data_not_allowed", param="token")
        raw = {"type": "card", "token": token}
    else:
        raise InvalidRequest("Choose UPI or card.", code="parameter_invalid", param="method")
    try:
        return PaymentMethodSchema().load(raw)
    except ValidationError as exc:
        raise validation_to_gateway_error(exc) from None


@pages.post("/pay/<session_id>")
def pay_submit(session_id):
    vpa = request.form.get("vpa", "") if request.form.get("method") == "upi" else ""
    try:
        method = _payment_method(request.form)
        with _db().transaction() as session:
            checkout_service.pay(session, _config(), session_id, method)
    except GatewayError as exc:
        if exc.status == 404:
            raise
        return _render(session_id, error=exc.message, status=exc.status, vpa=vpa[:256])
    return redirect(url_for("checkout_pages.pay_page", session_id=session_id), 303)


@pages.post("/pay/<session_id>/razorpay")
@csrf_exempt  # posted by Razorpay's page; its HMAC signature is the proof
def razorpay_callback(session_id):
    names = ("razorpay_payment_id", "razorpay_order_id", "razorpay_signature")
    try:
        handoff = RazorpayCheckoutVerificationSchema().load(
            {name: request.form[name] for name in names if name in request.form})
    except ValidationError as exc:
        raise validation_to_gateway_error(exc) from None
    with _db().transaction() as session:
        view = checkout_service.customer_view(session, session_id)
    payment_id = view.session.payment_id
    if payment_id is None:
        raise Conflict("This checkout session has no payment at Razorpay.",
                       code="payment_not_in_checkout")
    verify_razorpay_checkout(_db(), _config(), view.session.merchant_id, payment_id, handoff)
    return redirect(url_for("checkout_pages.pay_page", session_id=session_id), 303)
