"""List pages: filters and the cursor live in the URL, parsed by the API's own list schemas,
so a reload or a shared link shows the same page."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import request, url_for

from shared.errors import InvalidRequest
from web.formatting import zone
from web.forms import load


def date_bound(value: str, tz_name: str | None, param: str, *, end: bool = False) -> str:
    """A day picked in the user's time zone as the ISO instant the API filters take; an end
    day is included (the bound is the next midnight)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{param} must be a date (YYYY-MM-DD).", param=param) from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=zone(tz_name)).isoformat()


def list_args(schema, names: tuple[str, ...], extra: dict | None = None) -> dict:
    raw = {name: request.args[name] for name in names + ("limit", "starting_after")
           if request.args.get(name)}
    raw.update(extra or {})
    return load(schema, raw)


def _kept(values: dict) -> dict[str, Any]:
    """The current filters (without the cursor) plus the route's own values."""
    kept: dict[str, Any] = {k: v for k, v in request.args.items()
                            if k != "starting_after" and v != ""}
    kept.update(values)
    return kept


def next_page_url(endpoint: str, page, **values) -> str | None:
    if not page.has_more or not page.rows:
        return None
    return url_for(endpoint, **_kept(values), starting_after=page.rows[-1].id)


def first_page_url(endpoint: str, **values) -> str | None:
    if not request.args.get("starting_after"):
        return None
    return url_for(endpoint, **_kept(values))
