"""Reading one object on behalf of a merchant: another merchant's object does not exist."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.merchants.livemode import in_mode


def get_owned(session: Session, model, merchant_id: str, object_id: str, noun: str, *,
              lock: bool = False, param: str = "id", livemode: bool | None = None):
    """``livemode``: the caller's mode; an object of the other mode does not exist either."""
    obj = session.get(model, object_id, with_for_update=lock)
    if obj is None or obj.merchant_id != merchant_id or not in_mode(obj, livemode):
        raise NotFound(f"No such {noun}: {object_id!r}.", param=param)
    return obj
