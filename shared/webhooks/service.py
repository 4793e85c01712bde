"""Webhook endpoints and their delivery logs, as a merchant manages them (SPEC "Webhook
endpoints"). Services flush; the request commits."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.config import Config
from shared.db import utcnow
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ids import new_id
from shared.merchants.livemode import in_mode
from shared.merchants.models import Merchant
from shared.pagination import Page, keyset_page
from shared.webhooks import delivery, signer, subscriptions
from shared.webhooks.models import Event, WebhookEndpoint, WebhookLog
from shared.webhooks.representation import webhook_endpoint_object
from shared.webhooks.states import EndpointStatus
from shared.webhooks.url_policy import validate_endpoint_url

# Every event is copied to every endpoint: a cap keeps one merchant from multiplying the
# delivery load without bound.
MAX_ENDPOINTS_PER_MERCHANT = 16


def normalize_event_filter(events: list[str]) -> list[str]:
    unique = list(dict.fromkeys(events))
    if "*" in unique and len(unique) > 1:
        raise InvalidRequest('"*" subscribes to every event and cannot be combined with '
                             "event types.", param="events")
    return unique


def create_endpoint(session: Session, config: Config, merchant_id: str,
                    data: dict) -> WebhookEndpoint:
    # The merchant row is the lock that makes "count, then insert" one step: concurrent
    # creates cannot together pass the limit.
    session.get(Merchant, merchant_id, with_for_update=True)
    count = session.execute(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.merchant_id == merchant_id,
        WebhookEndpoint.status != EndpointStatus.DELETED)
    ).scalar_one()
    if count >= MAX_ENDPOINTS_PER_MERCHANT:
        raise InvalidRequest(f"A merchant can have at most {MAX_ENDPOINTS_PER_MERCHANT} "
                             "webhook endpoints.", code="endpoint_limit_reached")
    now = utcnow()
    endpoint = WebhookEndpoint(
        id=new_id("webhook_endpoint"), merchant_id=merchant_id,
        url=validate_endpoint_url(data["url"], config.is_production),
        events=normalize_event_filter(data["events"]), description=data.get("description"),
        status=EndpointStatus.ENABLED, secret=signer.new_secret(),
        metadata_=data.get("metadata") or {},
        livemode=bool(data.get("livemode")), created_at=now, updated_at=now)
    session.add(endpoint)
    session.flush()
    subscriptions.invalidate(merchant_id)
    return endpoint


def get_endpoint(session: Session, merchant_id: str, endpoint_id: str, *,
                 lock: bool = False, livemode: bool | None = None) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if endpoint is None or endpoint.merchant_id != merchant_id or \
            endpoint.status == EndpointStatus.DELETED or not in_mode(endpoint, livemode):
        raise NotFound(f"No such webhook endpoint: {endpoint_id!r}.", param="id")
    return endpoint


def list_endpoints(session: Session, merchant_id: str, args: dict) -> Page:
    mode = [] if args.get("livemode") is None else \
        [WebhookEndpoint.livemode == args["livemode"]]
    return keyset_page(session, WebhookEndpoint, merchant_id,
                       [WebhookEndpoint.status != EndpointStatus.DELETED, *mode], args["limit"],
                       args.get("starting_after"))


def update_endpoint(session: Session, config: Config, merchant_id: str, endpoint_id: str,
                    data: dict) -> WebhookEndpoint:
    endpoint = get_endpoint(session, merchant_id, endpoint_id, lock=True)
    if "url" in data:
        endpoint.url = validate_endpoint_url(data["url"], config.is_production)
    if "events" in data:
        endpoint.events = normalize_event_filter(data["events"])
    if "description" in data:
        endpoint.description = data["description"]
    if "metadata" in data:
        endpoint.metadata_ = data["metadata"]
    if "status" in data and data["status"] != endpoint.status:
        endpoint.status = data["status"]
        endpoint.disabled_reason = "Disabled by the merchant." \
            if data["status"] == EndpointStatus.DISABLED else None
    endpoint.updated_at = utcnow()
    subscriptions.invalidate(merchant_id)
    return endpoint


def delete_endpoint(session: Session, merchant_id: str, endpoint_id: str) -> dict:
    endpoint = get_endpoint(session, merchant_id, endpoint_id, lock=True)
    # The row stays so its delivery logs remain readable; attempts still queued for it end
    # dead when a worker picks them up. The secrets go now.
    endpoint.status = EndpointStatus.DELETED
    endpoint.secret = ""
    endpoint.previous_secret = None
    endpoint.previous_secret_expires_at = None
    endpoint.updated_at = utcnow()
    subscriptions.invalidate(merchant_id)
    return {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}


def rotate_secret(session: Session, config: Config, merchant_id: str,
                  endpoint_id: str) -> WebhookEndpoint:
    """A new secret; the current one keeps signing beside it for the overlap window so the
    merchant can deploy the new one without dropping deliveries. A second rotation inside
    the window retires the oldest secret at once."""
    endpoint = get_endpoint(session, merchant_id, endpoint_id, lock=True)
    now = utcnow()
    if config.webhook_rotation_overlap_s > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(
            seconds=config.webhook_rotation_overlap_s)
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = signer.new_secret()
    endpoint.updated_at = now
    return endpoint


def send_test_event(session: Session, merchant_id: str, endpoint_id: str) -> WebhookLog:
    """A ``ping`` event for this endpoint only (it is not fanned out to the others)."""
    endpoint = get_endpoint(session, merchant_id, endpoint_id, lock=True)
    if endpoint.status != EndpointStatus.ENABLED:
        raise Conflict(f"The endpoint is {endpoint.status}; enable it to send a test event.",
                       code="endpoint_disabled")
    now = utcnow()
    event = Event(id=new_id("event"), merchant_id=merchant_id, type="ping",
                  object_id=endpoint.id, data={"object": webhook_endpoint_object(endpoint)},
                  livemode=endpoint.livemode, created_at=now)
    session.add(event)
    session.flush()
    return delivery.start_attempt(session, event.id, endpoint, 1, now)


def get_log(session: Session, merchant_id: str, log_id: str, *,
            livemode: bool | None = None) -> WebhookLog:
    row = session.get(WebhookLog, log_id)
    if row is None or row.merchant_id != merchant_id or (
            livemode is not None and not in_mode(
                session.get(WebhookEndpoint, row.endpoint_id), livemode)):
        raise NotFound(f"No such webhook log: {log_id!r}.", param="id")
    return row


def list_logs(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    for name in ("event_id", "endpoint_id", "status"):
        if args.get(name):
            filters.append(getattr(WebhookLog, name) == args[name])
    if args.get("livemode") is not None:  # a log is in the mode of its endpoint
        filters.append(WebhookLog.endpoint_id.in_(select(WebhookEndpoint.id).where(
            WebhookEndpoint.merchant_id == merchant_id,
            WebhookEndpoint.livemode == args["livemode"])))
    return keyset_page(session, WebhookLog, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def retry_log(session: Session, merchant_id: str, log_id: str) -> WebhookLog:
    row = get_log(session, merchant_id, log_id)
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    if endpoint is None:
        # endpoint_id is a foreign key and endpoints are only ever soft-deleted.
        raise RuntimeError(f"webhook log {log_id} names endpoint {row.endpoint_id}, "
                           "which does not exist")
    if endpoint.status == EndpointStatus.DELETED:
        raise NotFound(f"The endpoint of {log_id!r} was deleted.", param="id")
    return delivery.retry_now(session, row)
