"""Sign in, register and sign out, through the accounts service (``shared.users``)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from api.schemas.accounts import RegisterSchema
from shared.errors import GatewayError
from shared.users import service as users
from web.dashboard.blueprint import dashboard
from web.dashboard.session_auth import (
    config,
    current_principal,
    db,
    login_required,
    sign_in,
    sign_out,
)
from web.forms import filled, load


def _next_page() -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    # Only pages of the dashboard itself: never an open redirect.
    if target.startswith("/dashboard/") and not target.startswith("//"):
        return target
    return url_for("dashboard.overview")


@dashboard.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_principal() is not None:
            return redirect(url_for("dashboard.overview"))
        return render_template("dashboard/login.html", next=request.args.get("next", ""),
                               signup=config().allow_signup)
    email, password = request.form.get("email", ""), request.form.get("password", "")
    live = request.form.get("livemode") == "on"
    try:
        issued = users.run_keeping_failures(
            db(), lambda s: users.login(s, config(), email, password, livemode=live))
    except GatewayError as exc:
        response = render_template("dashboard/login.html", error=exc.message, email=email[:320],
                                   next=request.form.get("next", ""),
                                   signup=config().allow_signup)
        headers = getattr(exc, "headers", None) or {}
        return response, exc.status, headers
    sign_in(issued)
    return redirect(_next_page(), 303)


@dashboard.route("/register", methods=["GET", "POST"])
def register():
    if request.method == "GET":
        return render_template("dashboard/register.html", signup=config().allow_signup)
    form = request.form
    try:
        data = load(RegisterSchema(), filled(form, "merchant_name", "email", "password"))
        with db().transaction() as s:
            issued = users.register(s, config(), merchant_name=data["merchant_name"],
                                    email=data["email"], password=data["password"])
    except GatewayError as exc:
        return render_template("dashboard/register.html", error=exc.message, form=form,
                               signup=config().allow_signup), exc.status
    sign_in(issued)
    return redirect(url_for("dashboard.overview"), 303)


@dashboard.post("/logout")
@login_required("me.read")
def logout():
    principal = current_principal()
    with db().transaction() as s:
        users.end_session(s, principal)
    sign_out()
    return redirect(url_for("dashboard.login"), 303)


@dashboard.get("/")
def home():
    return redirect(url_for("dashboard.overview"))
