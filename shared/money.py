"""Currencies and minor units. Amounts are always integers in the currency's minor unit; the
exponent comes from ISO-4217 data (the ``iso4217`` package), never from a hand-typed table."""
from __future__ import annotations

from decimal import Decimal
from functools import cache

from iso4217 import Currency


@cache
def exponent(code: str) -> int | None:
    """The ISO-4217 minor-unit exponent (JPY 0, INR 2, KWD 3), or None if ``code`` is not a
    currency money can be paid in (unknown, or a fund/metal code without minor units)."""
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        return None
    try:
        currency = Currency(code)
    except ValueError:
        return None
    return currency.exponent


def is_payable_currency(code: str) -> bool:
    return exponent(code) is not None


def to_major_string(amount: int, code: str) -> str:
    """Minor units to the exact decimal string some providers want ("100.50"), no floats."""
    exp = exponent(code)
    if exp is None:
        raise ValueError(f"{code} has no minor unit")
    value = Decimal(amount).scaleb(-exp)
    return f"{value:.{exp}f}"


def from_major_string(value: str | int | Decimal, code: str) -> int:
    """An exact decimal in major units back to integer minor units; refuses sub-minor parts."""
    exp = exponent(code)
    if exp is None:
        raise ValueError(f"{code} has no minor unit")
    minor = Decimal(str(value)).scaleb(exp)
    if minor != minor.to_integral_value():
        raise ValueError(f"{value} {code} is not a whole number of minor units")
    return int(minor)
