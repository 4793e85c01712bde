"""Accounts: sign-up, login, sessions, users, API keys and the audit log."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import ListArgs
from shared.users.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from shared.users.roles import USER_ROLES
from shared.users.states import USER_STATUSES


class Text(fields.String):
    """A string without NUL characters (PostgreSQL text cannot hold them)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        return text


class EmailText(fields.Email, Text):
    pass


Email = lambda **kw: EmailText(validate=validate.Length(3, 320), **kw)  # noqa: E731
Password = lambda **kw: Text(  # noqa: E731
    validate=validate.Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH), **kw)
Name = lambda **kw: Text(validate=validate.Length(1, 200), **kw)  # noqa: E731


class StrictBoolean(fields.Boolean):
    """A JSON true or false only (marshmallow's Boolean also takes "yes", "on", 1, ...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class RegisterSchema(Schema):
    merchant_name = Name(required=True)
    email = Email(required=True)
    password = Password(required=True)
    name = Name()


class LoginSchema(Schema):
    # Any string is looked up (and answered invalid_credentials), so the schema does not
    # tell which emails could exist; only types and sizes are checked here.
    email = Text(required=True, validate=validate.Length(1, 320))
    password = Text(required=True, validate=validate.Length(1, MAX_PASSWORD_LENGTH))
    livemode = StrictBoolean(load_default=False, metadata={
        "description": "Sign in to live mode (default: test mode)."})


class RefreshSchema(Schema):
    refresh_token = Text(required=True, validate=validate.Length(1, 200))


class UserSchema(Schema):
    id = fields.String()
    object = fields.Constant("user")
    merchant_id = fields.String()
    email = fields.String()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(USER_ROLES))
    status = fields.String(validate=validate.OneOf(USER_STATUSES))
    created = fields.String()
    created_at = fields.String()
    last_login = fields.String(allow_none=True)


class SessionSchema(Schema):
    id = fields.String()
    object = fields.Constant("session")
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer()
    livemode = fields.Boolean()
    user = fields.Nested(UserSchema)


class LogoutSchema(Schema):
    """Logout takes no parameters: it ends the session of the access token used."""


class LoggedOutSchema(Schema):
    object = fields.Constant("session")
    revoked = fields.Boolean()


class PasswordChangeSchema(Schema):
    current_password = Text(required=True, validate=validate.Length(1, MAX_PASSWORD_LENGTH))
    new_password = Password(required=True)


class UserCreateSchema(Schema):
    email = Email(required=True)
    name = Name(required=True)
    role = fields.String(required=True, validate=validate.OneOf(USER_ROLES))
    password = Password(required=True)


class UserUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf(USER_ROLES))
    status = fields.String(validate=validate.OneOf(USER_STATUSES))


class ApiKeyCreateSchema(Schema):
    livemode = StrictBoolean(metadata={
        "description": "Issue a live key (sk_live_); default: the mode of the caller."})


class ApiKeySchema(Schema):
    id = fields.String()
    object = fields.Constant("api_key")
    prefix = fields.String()
    livemode = fields.Boolean()
    created_at = fields.String()
    revoked_at = fields.String(allow_none=True)
    secret = fields.String(metadata={"description": "Only in the answer to create."})


class AccountListArgs(ListArgs):
    starting_after = Text(validate=validate.Length(1, 64))


class AuditLogListArgs(AccountListArgs):
    action = Text(validate=validate.Length(1, 64))
    actor_id = Text(validate=validate.Length(1, 64))
    object_id = Text(validate=validate.Length(1, 64))


class AuditLogSchema(Schema):
    id = fields.String()
    object = fields.Constant("audit_log")
    merchant_id = fields.String(allow_none=True)
    actor = fields.Dict()
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    details = fields.Dict()
    created = fields.String()
    created_at = fields.String()
