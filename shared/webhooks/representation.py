"""The API representation of webhook endpoints and delivery logs."""
from __future__ import annotations

from shared.representation import iso


def webhook_endpoint_object(endpoint, *, with_secret: bool = False) -> dict:
    body = {"id": endpoint.id, "object": "webhook_endpoint", "url": endpoint.url,
            "events": list(endpoint.events or []), "description": endpoint.description,
            "status": endpoint.status, "disabled_reason": endpoint.disabled_reason,
            "metadata": endpoint.metadata_ or {}, "livemode": bool(endpoint.livemode),
            "previous_secret_expires_at": iso(endpoint.previous_secret_expires_at),
            "created_at": iso(endpoint.created_at), "updated_at": iso(endpoint.updated_at)}
    if with_secret:
        # Shown once, when created or rotated; GET never returns it.
        body["secret"] = endpoint.secret
    return body


def webhook_log_object(log) -> dict:
    return {"id": log.id, "object": "webhook_log", "event_id": log.event_id,
            "endpoint_id": log.endpoint_id, "attempt": log.attempt, "status": log.status,
            "response_status": log.response_status, "response_ms": log.response_ms,
            "response_body": log.response_body, "error": log.error,
            "next_retry_at": iso(log.next_retry_at), "created_at": iso(log.created_at)}
