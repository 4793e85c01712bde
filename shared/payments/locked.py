"""A payment row locked for the worker's two transactions, read and written with Core
statements instead of the ORM's unit of work (measured: loading and flushing a ``Payment``
instance was the largest single cost of a worker's payment).

``LockedPayment`` has the attributes of ``Payment`` (``metadata_`` included), so the status
machine, the risk rules, the ledger and ``representation.payment_object`` take it as they
take the ORM object; ``save`` writes back, in one UPDATE, the columns whose values changed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Select, String, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from shared.db import any_of, execute_in
from shared.notifications.models import NotificationSettings
from shared.payments.models import Payment

_TABLE = cast(Table, Payment.__table__)
# column name -> attribute name ("metadata" is ``Payment.metadata_``)
_ATTRIBUTES = {column.name: Payment.__mapper__.get_property_by_column(column).key
               for column in _TABLE.c}
_COLUMNS = {attribute: column for column, attribute in _ATTRIBUTES.items()}
_NOTIFY = cast(Table, NotificationSettings.__table__)


def _lock_statements(ids) -> tuple[Select, Select]:
    """The lock of the rows whose id is in ``ids``, and the settle's lock, which also reads
    whether the merchant sends receipts (the completed event's notification trigger would ask
    in a statement of its own): NULL when it has no settings. Rows are locked in id order, so
    two transactions locking overlapping sets never deadlock on them."""
    receipts = select(or_(_NOTIFY.c.customer_email_receipts,
                          _NOTIFY.c.customer_sms_receipts)).where(
        _NOTIFY.c.merchant_id == _TABLE.c.merchant_id).scalar_subquery().label("receipts_on")
    return (select(_TABLE).where(ids).order_by(_TABLE.c.id).with_for_update(),
            select(_TABLE, receipts).where(ids).order_by(_TABLE.c.id)
            .with_for_update(of=_TABLE))


# PostgreSQL: the ids as one array parameter (= ANY), so the statement has one text whatever
# their number and runs on the session's psycopg connection (``execute_in``); SQLite: IN.
_LOCKS = {dialect: _lock_statements(ids)
          for dialect, ids in any_of(_TABLE.c.id, "payment_ids", String).items()}
# The SET clause is made of the columns passed at execution (compiled once per set of columns).
_SAVE = update(_TABLE).where(_TABLE.c.id == bindparam("locked_payment_id"))


class LockedPayment:
    """One payment row, locked ``FOR UPDATE`` by the transaction that loaded it."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self._loaded = dict(values)

    if TYPE_CHECKING:  # the columns are instance attributes set in __init__
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    @classmethod
    def lock(cls, session: Session, payment_id: str, *,
             with_receipts: bool = False) -> LockedPayment | None:
        """The row, locked; ``with_receipts`` also sets ``receipts_on`` (True when the
        merchant sends customer receipts), read in the same statement."""
        return cls.lock_many(session, [payment_id], with_receipts=with_receipts).get(payment_id)

    @classmethod
    def lock_many(cls, session: Session, payment_ids: list[str], *,
                  with_receipts: bool = False) -> dict[str, LockedPayment]:
        """``{id: row}`` of the rows that exist, locked in id order by one statement."""
        statement = _LOCKS[session.get_bind().dialect.name][1 if with_receipts else 0]
        locked = {}
        for row in execute_in(session, statement, {"payment_ids": list(payment_ids)},
                              mappings=True):
            values = {_ATTRIBUTES[name]: row[name] for name in _ATTRIBUTES}
            if with_receipts:
                values["receipts_on"] = bool(row["receipts_on"])
            locked[row["id"]] = cls(values)
        return locked

    def changes(self) -> dict[str, Any]:
        """``{column: new value}`` of what changed since the row was loaded (or saved)."""
        return {_COLUMNS[attribute]: value for attribute, value in vars(self).items()
                if attribute in _COLUMNS and value != self._loaded[attribute]}

    def save(self, session: Session) -> None:
        changed = self.changes()
        if changed:
            execute_in(session, _SAVE, {**changed, "locked_payment_id": self.id})
            self._loaded.update({_ATTRIBUTES[column]: v for column, v in changed.items()})


# What the status machine accepts: the ORM object (webhooks, verify, reconciliation) or the
# worker's locked row.
PaymentRow = Payment | LockedPayment
