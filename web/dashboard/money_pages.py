"""Overview, payments (with their detail page and refunds), orders and refunds."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from api.schemas.orders import OrderListArgs
from api.schemas.payments import PaymentListArgs
from api.schemas.refunds import RefundCreateSchema, RefundListArgs
from shared.dashboard import queries
from shared.errors import GatewayError, InvalidRequest
from shared.money import from_major_string
from shared.orders import service as order_service
from shared.orders.states import ORDER_STATUSES
from shared.payments import service as payment_service
from shared.payments.states import PAYMENT_STATUSES, REFUND_STATUSES
from shared.refunds import service as refund_service
from web.charts import status_chart
from web.dashboard.blueprint import dashboard
from web.dashboard.listing import date_bound, first_page_url, list_args, next_page_url
from web.dashboard.session_auth import (
    audit,
    db,
    livemode,
    login_required,
    merchant_id,
    require,
    user_zone,
    with_mode,
)
from web.forms import filled, load


@dashboard.get("/overview")
@login_required()
def overview():
    with db().transaction() as s:
        figures = queries.overview(s, merchant_id(), livemode=livemode())
        recent = payment_service.list_payments(s, merchant_id(),
                                               with_mode({"limit": 5})).rows
    return render_template("dashboard/overview.html", figures=figures, recent=recent,
                           chart=status_chart(figures.days), active="overview")


@dashboard.get("/payments")
@login_required()
def payments():
    tz = user_zone()
    extra = {}
    if request.args.get("from"):
        extra["created[gte]"] = date_bound(request.args["from"], tz, "from")
    if request.args.get("to"):
        extra["created[lt]"] = date_bound(request.args["to"], tz, "to", end=True)
    args = list_args(PaymentListArgs(), ("status", "order_id"), extra)
    with db().transaction() as s:
        page = payment_service.list_payments(s, merchant_id(), with_mode(args))
    return render_template("dashboard/payments.html", page=page, statuses=PAYMENT_STATUSES,
                           next_url=next_page_url("dashboard.payments", page),
                           first_url=first_page_url("dashboard.payments"), active="payments")


@dashboard.get("/payments/<payment_id>")
@login_required()
def payment_detail(payment_id):
    with db().transaction() as s:
        payment = payment_service.get_payment(s, merchant_id(), payment_id,
                                              livemode=livemode())
        refunds = refund_service.list_refunds(s, merchant_id(), with_mode({
            "payment_id": payment_id, "limit": 100})).rows
        timeline = queries.payment_timeline(s, merchant_id(), payment_id)
        attempts = queries.payment_attempts(s, merchant_id(), payment_id)
    refundable = payment.amount - payment.amount_refund_reserved
    return render_template("dashboard/payment_detail.html", payment=payment, refunds=refunds,
                           timeline=timeline, attempts=attempts, refundable=refundable,
                           active="payments")


@dashboard.post("/payments/<payment_id>/refund")
@login_required()
def refund_payment(payment_id):
    require("refunds.write")
    with db().transaction() as s:
        currency = payment_service.get_payment(s, merchant_id(), payment_id,
                                               livemode=livemode()).currency
    form = filled(request.form, "amount", "reason")
    data = {"payment_id": payment_id, **({"reason": form["reason"]} if "reason" in form else {})}
    try:
        if "amount" in form:
            try:
                data["amount"] = from_major_string(form["amount"].replace(",", ""), currency)
            except (ValueError, ArithmeticError):
                raise InvalidRequest(f"amount must be a number of {currency} with at most "
                                     "its minor-unit decimals.", param="amount") from None
        data = with_mode(load(RefundCreateSchema(), data))
        with db().transaction() as s:
            refund = refund_service.create_refund(s, merchant_id(), data)
            audit(s, "refund.create", refund.id)
        flash(f"Refund {refund.id} created; it is processed in the background.", "ok")
    except GatewayError as exc:
        flash(exc.message, "error")
    return redirect(url_for("dashboard.payment_detail", payment_id=payment_id), 303)


@dashboard.get("/orders")
@login_required()
def orders():
    args = list_args(OrderListArgs(), ("status",))
    with db().transaction() as s:
        page = order_service.list_orders(s, merchant_id(), with_mode(args))
    return render_template("dashboard/orders.html", page=page, statuses=ORDER_STATUSES,
                           next_url=next_page_url("dashboard.orders", page),
                           first_url=first_page_url("dashboard.orders"), active="orders")


@dashboard.get("/refunds")
@login_required()
def refunds():
    args = list_args(RefundListArgs(), ("status", "payment_id"))
    with db().transaction() as s:
        page = refund_service.list_refunds(s, merchant_id(), with_mode(args))
    return render_template("dashboard/refunds.html", page=page, statuses=REFUND_STATUSES,
                           next_url=next_page_url("dashboard.refunds", page),
                           first_url=first_page_url("dashboard.refunds"), active="refunds")
