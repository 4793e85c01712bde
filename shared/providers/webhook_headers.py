"""Reading inbound webhook headers the same way in every provider module.

Flask hands us a case-insensitive ``Headers`` object, tests and the worker may hand a plain
dict; HTTP header names are case-insensitive either way.
"""
from __future__ import annotations

from collections.abc import Mapping


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in any spelling of its case, or None."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
