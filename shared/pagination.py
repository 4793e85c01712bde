"""Newest-first keyset pages on ``(merchant_id, id)``: ids are time-ordered, so a page is an
index range scan whose cost does not depend on how deep the cursor is or how big the table is."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import NotFound


@dataclass
class Page:
    rows: list[Any]
    has_more: bool


def keyset_page(session: Session, model, merchant_id: str, filters: list, limit: int,
                starting_after: str | None) -> Page:
    query = select(model).where(model.merchant_id == merchant_id, *filters)
    if starting_after:
        # The cursor must be one of this merchant's objects of this kind: an unknown one is
        # a 404, never silently the whole list (one primary-key lookup).
        known = session.scalar(select(model.id).where(model.id == starting_after,
                                                      model.merchant_id == merchant_id))
        if known is None:
            raise NotFound(f"No such object for starting_after: {starting_after!r}.",
                           param="starting_after")
        query = query.where(model.id < starting_after)
    rows = session.scalars(query.order_by(model.id.desc()).limit(limit + 1)).all()
    return Page(rows=list(rows[:limit]), has_more=len(rows) > limit)
