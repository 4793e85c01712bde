"""Opaque, prefixed, time-ordered ids (``pay_01J...``).

The body is a ULID: 48 bits of milliseconds then 80 random bits in Crockford base32, so ids
sort by creation time. Lists are newest-first keyset pages on ``(merchant_id, id)``: the cost
of a page does not grow with the table and no created_at lookup is needed for a cursor.
"""
from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

PREFIXES = {
    "order": "ord", "payment": "pay", "refund": "rfnd", "event": "evt",
    "webhook_endpoint": "we", "webhook_log": "whl", "merchant": "mer", "api_key": "key",
    "user": "usr", "audit_log": "aud", "refresh_token": "rtk", "session": "ses",
    "checkout_session": "cs", "balance_transaction": "txn", "payout": "po",
}


_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]  # 10 bits per lookup


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length >> 1):
        chars.append(_PAIRS[value & 1023])
        value >>= 10
    if length & 1:
        chars.append(_ALPHABET[value & 31])
    return "".join(reversed(chars))


_lock = threading.Lock()
_last = [0, 0]  # ms, random part of the last id made in this process


def ulid(now_ms: int | None = None) -> str:
    """Monotonic within a process: ids made in the same millisecond (an event and the
    change that caused it) still sort in the order they were made."""
    return ulids(1, now_ms)[0]


def ulids(count: int, now_ms: int | None = None) -> list[str]:
    """``count`` consecutive ULIDs (one clock read and one lock for all of them)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last[0] and now_ms is None:
            ms, rand = _last[0], _last[1] + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        _last[0], _last[1] = ms, rand + count - 1
    stamp = _encode(ms, 10)
    low = rand & 1023
    if count > 1 and low + count <= 1024:
        # Consecutive bodies differ only in their last pair of characters (10 bits): encode
        # the rest once (a POST /payments makes 16 webhook-log ids).
        head = stamp + _encode(rand >> 10, 14)
        return [head + _PAIRS[low + i] for i in range(count)]
    return [stamp + _encode(rand + i, 16) for i in range(count)]


def new_id(kind: str, now_ms: int | None = None) -> str:
    return f"{PREFIXES[kind]}_{ulid(now_ms)}"


def new_ids(kind: str, count: int) -> list[str]:
    prefix = PREFIXES[kind] + "_"
    return [prefix + body for body in ulids(count)]


def id_floor(kind: str, ms: int) -> str:
    """The smallest id of ``kind`` created at or after ``ms``: turns created[gte]/[lt] filters
    into a range on the primary-key index."""
    return f"{PREFIXES[kind]}_{_encode(ms, 10)}{'0' * 16}"
