"""Administration: the merchant's users (invite with a role, change role or status) and the
audit log, through the accounts and audit services."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from api.schemas.accounts import AuditLogListArgs, UserCreateSchema, UserUpdateSchema
from api.schemas.common import ListArgs
from shared.audit import service as audit_service
from shared.errors import GatewayError
from shared.users import service as users
from shared.users.roles import USER_ROLES
from web.dashboard.blueprint import dashboard
from web.dashboard.listing import first_page_url, list_args, next_page_url
from web.dashboard.session_auth import config, current_principal, db, login_required, merchant_id
from web.forms import filled, load


@dashboard.get("/users")
@login_required("users.read")
def users_page():
    args = list_args(ListArgs(), ())
    with db().transaction() as s:
        page = users.list_users(s, merchant_id(), args)
    return render_template("dashboard/users.html", page=page, roles=USER_ROLES,
                           next_url=next_page_url("dashboard.users_page", page),
                           first_url=first_page_url("dashboard.users_page"), active="users")


@dashboard.post("/users")
@login_required("users.write")
def create_user():
    try:
        data = load(UserCreateSchema(), filled(request.form, "email", "name", "role",
                                               "password"))
        with db().transaction() as s:
            user = users.create_user(s, config(), merchant_id(), email=data["email"],
                                     name=data["name"], role=data["role"],
                                     password=data["password"],
                                     actor=current_principal().actor)
        flash(f"{user.email} can now sign in as {user.role}.", "ok")
    except GatewayError as exc:
        flash(exc.message, "error")
    return redirect(url_for("dashboard.users_page"), 303)


@dashboard.post("/users/<user_id>")
@login_required("users.write")
def update_user(user_id):
    principal = current_principal()
    try:
        data = load(UserUpdateSchema(), filled(request.form, "role", "status"))
        with db().transaction() as s:
            users.update_user(s, merchant_id(), user_id, data, actor=principal.actor,
                              actor_role=principal.role)
        flash("User updated.", "ok")
    except GatewayError as exc:
        flash(exc.message, "error")
    return redirect(url_for("dashboard.users_page"), 303)


@dashboard.get("/audit_log")
@login_required("audit_logs.read")
def audit_log():
    args = list_args(AuditLogListArgs(), ("action", "actor_id", "object_id"))
    with db().transaction() as s:
        page = audit_service.list_audit_logs(s, merchant_id(), args)
    return render_template("dashboard/audit_log.html", page=page,
                           next_url=next_page_url("dashboard.audit_log", page),
                           first_url=first_page_url("dashboard.audit_log"), active="audit")
