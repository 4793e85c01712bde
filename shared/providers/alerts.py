"""Operator alerts for provider configuration errors (401/403, missing credentials, a request
the provider refuses as malformed) met on the worker's provider calls.

Such an error never decides a payment or refund: the object stays ``processing`` for the
sweeper (see ``shared.providers.calls.settle_provider_call``). Instead it is logged at ERROR,
counted in ``gateway_provider_config_errors_total`` and kept in ``provider_alerts`` (one row
per provider, shared by every process) so ``/ready`` shows it until a later call to that
provider succeeds. Rows carry codes and our own messages only, never a credential.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, utcnow
from shared.metrics import PROVIDER_CONFIG_ERRORS

log = logging.getLogger(__name__)

# How often one process re-checks for another process's alert to clear after a success.
_CLEAR_CHECK_S = 30.0
_last_clear_check: dict[str, float] = {}


class ProviderAlert(Base):
    __tablename__ = "provider_alerts"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(500))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def raise_alert(db, provider: str, operation: str, code: str, message: str,
                object_id: str | None) -> None:
    """Record that ``provider`` refused our configuration; the object stays processing."""
    log.error("%s %s via %s: provider configuration error %s; left processing for the "
              "sweeper, an operator must fix the provider configuration", operation,
              object_id, provider, code)
    PROVIDER_CONFIG_ERRORS.labels(provider, operation).inc()
    now = utcnow()
    with db.transaction() as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        values = {"provider": provider, "operation": operation[:32], "code": code[:64],
                  "message": message[:500], "first_seen_at": now, "last_seen_at": now}
        session.execute(dialect.insert(ProviderAlert).values(**values).on_conflict_do_update(
            index_elements=["provider"],
            set_={"operation": values["operation"], "code": values["code"],
                  "message": values["message"], "last_seen_at": now}))
    _last_clear_check.pop(provider, None)  # this process knows there is one


def clear_after_success(db, provider: str) -> None:
    """A call to ``provider`` succeeded: its alert, if any, is over. Checked at most every
    ``_CLEAR_CHECK_S`` per process, so the hot path pays nothing while nothing is wrong."""
    now = time.monotonic()
    last = _last_clear_check.get(provider)
    if last is not None and now - last < _CLEAR_CHECK_S:
        return
    _last_clear_check[provider] = now
    with db.transaction() as session:
        session.execute(delete(ProviderAlert).where(ProviderAlert.provider == provider))


def current_alerts(db) -> dict[str, dict]:
    """Every open alert by provider, for ``/ready``."""
    with db.transaction() as session:
        rows = session.scalars(select(ProviderAlert)).all()
        return {row.provider: {"code": row.code, "operation": row.operation,
                               "since": row.first_seen_at.isoformat(),
                               "last_seen": row.last_seen_at.isoformat()} for row in rows}
