"""How amounts and times look on the web pages. Amounts use the currency's ISO-4217 exponent
(``shared.money``), never floats."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from shared.money import exponent

# Display only: the code is shown for every other currency.
_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def format_money(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    exp = exponent(currency)
    if exp is None:
        return f"{amount} {currency}"
    value = Decimal(amount).scaleb(-exp)
    text = f"{abs(value):,.{exp}f}"
    sign = "-" if value < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_time(value: datetime | None, zone_name: str | None = None) -> str:
    if value is None:
        return ""
    return value.astimezone(zone(zone_name)).strftime("%d %b %Y, %H:%M %Z")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["when"] = format_time
