"""Notification settings (receipts, alerts) and the record of every notification sent."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import merchant_id, requires
from api.responses import db, json_response
from api.schemas.common import list_envelope
from api.schemas.notifications import (
    NotificationListArgs,
    NotificationSchema,
    NotificationSettingsSchema,
    NotificationSettingsUpdateSchema,
)
from shared.notifications import service as notification_service

blp = Blueprint("notifications", __name__,
                description="Email and SMS notifications: settings and delivery records")


@blp.route("/notification_settings")
class NotificationSettings(MethodView):
    @requires("merchant_settings.read")
    @blp.response(200, NotificationSettingsSchema)
    def get(self):
        """Which receipts and alerts this merchant sends"""
        with db().transaction() as session:
            return json_response(notification_service.get_settings(session, merchant_id()))

    @requires("merchant_settings.write")
    @blp.arguments(NotificationSettingsUpdateSchema)
    @blp.response(200, NotificationSettingsSchema)
    def patch(self, data):
        """Turn customer receipts and merchant alerts on or off"""
        with db().transaction() as session:
            body = notification_service.update_settings(session, merchant_id(), data)
        return json_response(body)


@blp.route("/notifications")
class Notifications(MethodView):
    @requires("notifications.read")
    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, NotificationSchema(many=True))
    def get(self, args):
        """Every notification with its status and attempts, newest first"""
        with db().transaction() as session:
            page = notification_service.list_notifications(session, merchant_id(), args)
            return json_response(list_envelope(
                [notification_service.notification_object(n) for n in page.rows],
                page.has_more))


@blp.route("/notifications/<notification_id>")
class NotificationById(MethodView):
    @requires("notifications.read")
    @blp.response(200, NotificationSchema)
    def get(self, notification_id):
        """One notification"""
        with db().transaction() as session:
            return json_response(notification_service.notification_object(
                notification_service.get_notification(session, merchant_id(),
                                                      notification_id)))
