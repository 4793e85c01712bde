from __future__ import annotations

from sqlalchemy.orm import Session

from shared.audit.models import AuditLog
from shared.db import utcnow


def record_audit(session: Session, *, actor: str, action: str, object_type: str,
                 object_id: str, merchant_id: str | None = None,
                 details: dict | None = None) -> None:
    session.add(AuditLog(actor=actor, action=action, object_type=object_type,
                         object_id=object_id, merchant_id=merchant_id,
                         details=details or {}, created_at=utcnow()))
