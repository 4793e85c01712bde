"""Webhook endpoint, event and delivery-log schemas: validation and OpenAPI at once."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import ListArgs, always_present
from api.schemas.fields import Metadata, ObjectId
from shared.events.service import EVENT_TYPES
from shared.webhooks.states import LOG_STATUSES, SETTABLE_ENDPOINT_STATUSES
from shared.webhooks.url_policy import MAX_URL_LENGTH

EVENT_FILTER_VALUES = (*EVENT_TYPES, "*")


def EventFilter(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(EVENT_FILTER_VALUES)),
        validate=validate.Length(1, len(EVENT_FILTER_VALUES)), **kwargs)


def EndpointUrl(**kwargs) -> fields.String:
    return fields.String(validate=validate.Length(1, MAX_URL_LENGTH), **kwargs)


class WebhookEndpointCreateSchema(Schema):
    url = EndpointUrl(required=True)
    events = EventFilter(required=True, metadata={
        "description": 'Event types to receive, or ["*"] for all of them.'})
    description = fields.String(validate=validate.Length(max=500), allow_none=True)
    metadata = Metadata()


class WebhookEndpointUpdateSchema(Schema):
    url = EndpointUrl()
    events = EventFilter()
    status = fields.String(validate=validate.OneOf(SETTABLE_ENDPOINT_STATUSES))
    description = fields.String(validate=validate.Length(max=500), allow_none=True)
    metadata = Metadata()


class NoBodySchema(Schema):
    """Actions that take no parameters still refuse unknown ones."""


@always_present("secret")
class WebhookEndpointSchema(Schema):
    id = fields.String()
    object = fields.Constant("webhook_endpoint")
    livemode = fields.Boolean()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(SETTABLE_ENDPOINT_STATUSES))
    disabled_reason = fields.String(allow_none=True)
    metadata = fields.Dict()
    secret = fields.String(metadata={"description": "Only in the answers to create and "
                                                    "rotate_secret."})
    previous_secret_expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


@always_present()
class DeletedSchema(Schema):
    id = fields.String()
    object = fields.String()
    deleted = fields.Boolean()


@always_present()
class EventSchema(Schema):
    id = fields.String()
    object = fields.Constant("event")
    livemode = fields.Boolean()
    type = fields.String(validate=validate.OneOf(EVENT_TYPES))
    created_at = fields.String()
    data = fields.Dict()


class EventListArgs(ListArgs):
    type = fields.String(validate=validate.OneOf(EVENT_TYPES))


@always_present()
class WebhookLogSchema(Schema):
    id = fields.String()
    object = fields.Constant("webhook_log")
    event_id = fields.String()
    endpoint_id = fields.String()
    attempt = fields.Integer()
    status = fields.String(validate=validate.OneOf(LOG_STATUSES))
    response_status = fields.Integer(allow_none=True)
    response_ms = fields.Integer(allow_none=True)
    response_body = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    next_retry_at = fields.String(allow_none=True)
    created_at = fields.String()


class WebhookLogListArgs(ListArgs):
    event_id = ObjectId("evt")
    endpoint_id = ObjectId("we")
    status = fields.String(validate=validate.OneOf(LOG_STATUSES))


@always_present()
class QueueSchema(Schema):
    depth = fields.Integer(allow_none=True)
    oldest_age_s = fields.Float(allow_none=True)


@always_present("broker_error")
class QueueStatusSchema(Schema):
    object = fields.Constant("queue_status")
    generated_at = fields.String()
    queues = fields.Dict(keys=fields.String(), values=fields.Nested(QueueSchema))
    workers = fields.Dict()
    outbox = fields.Dict()
    webhook_deliveries = fields.Dict()
    broker_error = fields.String(metadata={"description": "Only when the broker could not "
                                                          "be asked for queue depths."})
