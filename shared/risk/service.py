"""The merchant's side of risk: blocklist entries (each change audited) and settings."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.audit.service import Actor, record_audit
from shared.db import utcnow
from shared.errors import Conflict
from shared.ids import ulid
from shared.ownership import get_owned
from shared.pagination import Page, keyset_page
from shared.representation import iso
from shared.risk.models import BlocklistEntry, RiskSettings
from shared.risk.signals import normalise

BLOCKLIST_PREFIX = "bl"


def blocklist_entry_object(entry: BlocklistEntry) -> dict:
    return {"id": entry.id, "object": "blocklist_entry", "type": entry.type,
            "value": entry.value, "created_at": iso(entry.created_at)}


def add_to_blocklist(session: Session, merchant_id: str, actor: Actor, kind: str,
                     value: str) -> BlocklistEntry:
    entry = BlocklistEntry(id=f"{BLOCKLIST_PREFIX}_{ulid()}", merchant_id=merchant_id,
                           type=kind, value=normalise(kind, value), created_at=utcnow())
    session.add(entry)
    try:
        session.flush()  # the unique index decides between two racing adds
    except IntegrityError:
        raise Conflict(f"That {kind} is already on the blocklist.", code="already_blocklisted",
                       param="value") from None
    record_audit(session, actor=actor, action="risk.blocklist.added",
                 object_type="blocklist_entry", object_id=entry.id, merchant_id=merchant_id,
                 details={"type": kind})
    return entry


def list_blocklist(session: Session, merchant_id: str, args: dict) -> Page:
    filters = []
    if args.get("type"):
        filters.append(BlocklistEntry.type == args["type"])
    return keyset_page(session, BlocklistEntry, merchant_id, filters, args["limit"],
                       args.get("starting_after"))


def get_blocklist_entry(session: Session, merchant_id: str, entry_id: str) -> BlocklistEntry:
    return get_owned(session, BlocklistEntry, merchant_id, entry_id, "blocklist entry")


def remove_from_blocklist(session: Session, merchant_id: str, actor: Actor,
                          entry_id: str) -> dict:
    entry = get_owned(session, BlocklistEntry, merchant_id, entry_id, "blocklist entry",
                      lock=True)
    record_audit(session, actor=actor, action="risk.blocklist.removed",
                 object_type="blocklist_entry", object_id=entry.id, merchant_id=merchant_id,
                 details={"type": entry.type})
    session.delete(entry)
    session.flush()
    return {"id": entry_id, "object": "blocklist_entry", "deleted": True}


def risk_settings_object(merchant_id: str, settings: RiskSettings | None) -> dict:
    return {"object": "risk_settings", "merchant_id": merchant_id,
            "amount_limits": dict(settings.amount_limits or {}) if settings else {}}


def get_settings(session: Session, merchant_id: str) -> dict:
    return risk_settings_object(merchant_id, session.get(RiskSettings, merchant_id))


def update_settings(session: Session, merchant_id: str, actor: Actor, data: dict) -> dict:
    settings = session.get(RiskSettings, merchant_id, with_for_update=True)
    if settings is None:
        settings = RiskSettings(merchant_id=merchant_id, amount_limits={}, updated_at=utcnow())
        session.add(settings)
    if "amount_limits" in data:
        settings.amount_limits = dict(data["amount_limits"])
    settings.updated_at = utcnow()
    session.flush()
    record_audit(session, actor=actor, action="risk.settings.updated",
                 object_type="risk_settings", object_id=merchant_id, merchant_id=merchant_id,
                 details={"amount_limits": settings.amount_limits})
    return risk_settings_object(merchant_id, settings)
