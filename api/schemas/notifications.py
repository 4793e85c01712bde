"""Notification settings and notification schemas: validation and OpenAPI at once."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import ListArgs
from api.schemas.payments import E164
from shared.notifications.models import CHANNELS
from shared.notifications.states import NOTIFICATION_STATUSES


class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, "yes" or null."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


def _e164(value: str) -> bool:
    if not E164.match(value):
        raise ValidationError("Must be an E.164 number, e.g. +14155550123.")
    return True


class NotificationSettingsUpdateSchema(Schema):
    customer_email_receipts = StrictBoolean(metadata={
        "description": "Email the customer a receipt when a payment or refund completes."})
    customer_sms_receipts = StrictBoolean(metadata={
        "description": "Text the customer a receipt (needs customer.phone on the payment)."})
    merchant_email_alerts = StrictBoolean(metadata={
        "description": "Email the merchant when an endpoint is disabled or a payout ends."})
    alert_phone = fields.String(allow_none=True, validate=_e164, metadata={
        "description": "Also send merchant alerts to this number by SMS."})


class NotificationSettingsSchema(NotificationSettingsUpdateSchema):
    object = fields.Constant("notification_settings")
    merchant_id = fields.String()


class NotificationSchema(Schema):
    id = fields.String()
    object = fields.Constant("notification")
    kind = fields.String()
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    recipient = fields.String()
    subject = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(NOTIFICATION_STATUSES))
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    created_at = fields.String()
    sent_at = fields.String(allow_none=True)


class NotificationListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(NOTIFICATION_STATUSES))
    object_id = fields.String(validate=validate.Length(1, 64))
