"""Input the database or the JSON parser cannot take, refused with a 400 before anything
else runs (authentication, provider webhook checks, any SQL):

- a NUL character in any string: the path (ids), the query (``starting_after``), a header
  (an ``Idempotency-Key``, a Basic key id) or anywhere in a JSON body, keys included.
  PostgreSQL text cannot hold NUL, so these used to be 500s with a traceback.
- JSON nested deeper than ``MAX_JSON_DEPTH``: Python's parser raises ``RecursionError``
  (a 500) on deep input, so depth is measured on the raw bytes before parsing. This also
  covers provider webhooks, before their signature or credential checks.

Provider webhooks are verified over their exact bytes: only a raw NUL byte is refused there
(an escaped ``\\u0000`` inside a provider's JSON is stored as the text it is).
"""
from __future__ import annotations

import base64
import binascii

from flask import request

from shared.errors import InvalidRequest

MAX_JSON_DEPTH = 32
_NUL = "\x00"


def _nul(param: str | None, where: str) -> InvalidRequest:
    return InvalidRequest(f"NUL characters are not allowed in {where}.",
                          code="parameter_invalid", param=param)


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of ``raw`` (outside strings) nest deeper than ``limit``."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:      # backslash
                escaped = True
            elif byte == 0x22:      # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _first_nul_path(value, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding a NUL, iteratively."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if _NUL in item:
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _NUL in key:
                    return where or None
                stack.append((child, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            stack.extend((child, where) for child in item)
    return None


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None  # authentication answers that one with its own 401


def check_request(body_methods: frozenset[str] | set[str], webhook_prefix: str) -> None:
    """Raise InvalidRequest for NUL characters or too deep JSON anywhere in the request."""
    if _NUL in request.path:
        raise _nul(None, "the path")
    for key, value in request.args.items(multi=True):
        if _NUL in key or _NUL in value:
            raise _nul(key if _NUL not in key else None, "the query string")
    for name, value in request.headers.items():
        if _NUL in value:
            raise _nul(None, f"the {name} header")
    decoded = _basic_user(request.headers.get("Authorization", ""))
    if decoded is not None and _NUL in decoded:
        raise _nul(None, "the credentials")
    if request.method not in body_methods:
        return
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and \
            request.content_length > limit:
        return  # refused as 413 by the body check (or on reading, for webhooks)
    raw = request.get_data(cache=True)
    if not raw:
        return
    if json_depth_exceeds(raw):
        raise InvalidRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not "
                             "accepted.", code="json_too_deep")
    if request.path.startswith(webhook_prefix):
        if b"\x00" in raw:
            raise _nul(None, "the body")
        return
    parsed = request.get_json(silent=True, cache=True)
    if parsed is None:
        return  # not JSON: the body check answers that
    path = _first_nul_path(parsed)
    if path is not None or (isinstance(parsed, str) and _NUL in parsed):
        raise _nul(path, path or "the body")
