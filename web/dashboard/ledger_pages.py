"""Balance and payouts: the available and pending balance per currency, the balance
transactions behind it, and payouts (requested from the page by the roles that may). Every
read and change goes through ``shared.ledger`` as the API's does; the roles table decides who
sees what."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from api.schemas.ledger import (
    TXN_TYPES,
    BalanceTransactionListArgs,
    PayoutCreateSchema,
    PayoutListArgs,
)
from shared.errors import GatewayError, InvalidRequest
from shared.ledger import balance as balance_service
from shared.ledger import payouts as payout_service
from shared.ledger.states import PAYOUT_STATUSES
from shared.money import from_major_string
from web.dashboard.blueprint import dashboard
from web.dashboard.listing import first_page_url, list_args, next_page_url
from web.dashboard.session_auth import audit, db, livemode, login_required, merchant_id
from web.forms import filled, load


def _balance_rows(figures: dict) -> list[dict]:
    """One row per currency: ``{"currency", "available", "pending"}`` (the service lists
    both sides for every currency it knows)."""
    pending = {p["currency"]: p["amount"] for p in figures["pending"]}
    return [{"currency": a["currency"], "available": a["amount"],
             "pending": pending.get(a["currency"], 0)} for a in figures["available"]]


@dashboard.get("/balance")
@login_required("balance.read")
def balance_page():
    args = list_args(BalanceTransactionListArgs(), ("type", "payout_id"))
    with db().transaction() as s:
        figures = balance_service.get_balance(s, merchant_id(), livemode())
        page = balance_service.list_balance_transactions(s, merchant_id(), args, livemode())
    return render_template("dashboard/balance.html", balances=_balance_rows(figures),
                           page=page, types=TXN_TYPES,
                           next_url=next_page_url("dashboard.balance_page", page),
                           first_url=first_page_url("dashboard.balance_page"),
                           active="balance")


@dashboard.get("/payouts")
@login_required("payouts.read")
def payouts_page():
    args = list_args(PayoutListArgs(), ("status",))
    with db().transaction() as s:
        page = payout_service.list_payouts(s, merchant_id(), args, livemode())
        figures = balance_service.get_balance(s, merchant_id(), livemode())
    return render_template("dashboard/payouts.html", page=page,
                           statuses=PAYOUT_STATUSES,
                           balances=_balance_rows(figures),
                           next_url=next_page_url("dashboard.payouts_page", page),
                           first_url=first_page_url("dashboard.payouts_page"),
                           active="payouts")


@dashboard.post("/payouts")
@login_required("payouts.write")
def request_payout():
    form = filled(request.form, "amount", "currency")
    try:
        # The currency first, by the API's own field, so the amount is read in a real one.
        currency = load(PayoutCreateSchema(partial=("amount",)),
                        {"currency": form.get("currency", "")})["currency"]
        data: dict = {"currency": currency}
        if "amount" in form:
            # The amount as the refund form takes it: the currency's major unit, with at most
            # its minor-unit decimals.
            try:
                data["amount"] = from_major_string(form["amount"].replace(",", ""), currency)
            except (ValueError, ArithmeticError):
                raise InvalidRequest(f"amount must be a number of {currency} with at most "
                                     "its minor-unit decimals.", param="amount") from None
        data = load(PayoutCreateSchema(), data)
        with db().transaction() as s:
            payout = payout_service.create_payout(s, merchant_id(), data, livemode=livemode())
            audit(s, "payout.create", payout.id)
            payout_id = payout.id
        flash(f"Payout {payout_id} requested; the bank is asked in the background.", "ok")
    except GatewayError as exc:
        flash(exc.message, "error")
    return redirect(url_for("dashboard.payouts_page"), 303)
