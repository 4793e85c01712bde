"""The signed-in user: who am I, and changing my password."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_principal, requires, users_only
from api.responses import config, db, json_response
from api.schemas.accounts import PasswordChangeSchema, UserSchema
from shared.users import service as user_service

blp = Blueprint("me", __name__, description="The signed-in user")


@blp.route("/me")
class Me(MethodView):
    @requires("me.read")
    @users_only
    @blp.response(200, UserSchema)
    def get(self):
        """The user of this access token"""
        principal = current_principal()
        with db().transaction() as session:
            user = user_service.get_user(session, principal.merchant_id, principal.user_id)
            return json_response(user_service.user_object(user))


@blp.route("/me/password")
class MyPassword(MethodView):
    @requires("me.write")
    @users_only
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, UserSchema)
    def post(self, data):
        """Change my password; every session of mine ends (sign in again)"""
        principal = current_principal()
        with db().transaction() as session:
            user = user_service.get_user(session, principal.merchant_id, principal.user_id,
                                         lock=True)
            user_service.change_password(session, config(), user, data["current_password"],
                                         data["new_password"], actor=principal.actor)
            body = user_service.user_object(user)
        return json_response(body)
