"""The audit log: who changed what. Rows are written in the transaction of the change they
describe, so a change and its row commit together or not at all."""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.audit.models import AuditLog
from shared.db import utcnow
from shared.ids import new_id
from shared.pagination import Page, keyset_page


@dataclass(frozen=True)
class Actor:
    """Who made a change: ``type`` user | api_key | operator | system, and their id."""
    type: str
    id: str | None


@dataclass(frozen=True)
class RequestOrigin:
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


# Set by the HTTP layer for the length of a request; the CLI and workers leave it empty.
request_origin_var: ContextVar[RequestOrigin | None] = ContextVar("audit_request_origin",
                                                                  default=None)
_NO_ORIGIN = RequestOrigin()

CLI_ACTOR = Actor("operator", "cli")
SYSTEM_ACTOR = Actor("system", None)


def record_audit(session: Session, *, actor: Actor, action: str, object_id: str | None,
                 merchant_id: str | None, object_type: str | None = None,
                 details: dict | None = None) -> AuditLog:
    """Append one row. ``details`` must never hold a secret (keys, passwords, tokens)."""
    origin = request_origin_var.get() or _NO_ORIGIN
    row = AuditLog(id=new_id("audit_log"), merchant_id=merchant_id, actor_type=actor.type,
                   actor_id=actor.id, action=action,
                   object_type=object_type or _object_type(object_id), object_id=object_id,
                   request_id=origin.request_id, ip=origin.ip,
                   user_agent=(origin.user_agent or None) and origin.user_agent[:500],
                   details=details or {}, created_at=utcnow())
    session.add(row)
    return row


_PREFIX_TYPES = {"ord": "order", "pay": "payment", "rfnd": "refund", "evt": "event",
                 "we": "webhook_endpoint", "whl": "webhook_log", "mer": "merchant",
                 "key": "api_key", "usr": "user", "ses": "session", "cs": "checkout_session"}


def _object_type(object_id: str | None) -> str | None:
    if not object_id or "_" not in object_id:
        return None
    return _PREFIX_TYPES.get(object_id.split("_", 1)[0])


def list_audit_logs(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("action"):
        filters.append(AuditLog.action == args["action"])
    if args.get("actor_id"):
        filters.append(AuditLog.actor_id == args["actor_id"])
    if args.get("object_id"):
        filters.append(AuditLog.object_id == args["object_id"])
    return keyset_page(session, AuditLog, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def audit_log_object(row: AuditLog) -> dict:
    from shared.representation import iso
    return {"id": row.id, "object": "audit_log", "merchant_id": row.merchant_id,
            "actor": {"type": row.actor_type, "id": row.actor_id}, "action": row.action,
            "object_type": row.object_type, "object_id": row.object_id,
            "request_id": row.request_id, "ip": row.ip, "user_agent": row.user_agent,
            "details": row.details or {}, "created_at": iso(row.created_at),
            "created": iso(row.created_at)}
