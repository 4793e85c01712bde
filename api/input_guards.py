"""Input the database or the JSON parser cannot take, refused with a 400 before anything
else runs (authentication, provider webhook checks, any SQL):

- a NUL character in any string: the path (ids), the query (``starting_after``), a header
  (an ``Idempotency-Key``, a Basic key id) or anywhere in a JSON body, keys included.
  PostgreSQL text cannot hold NUL, so these used to be 500s with a traceback.
- JSON nested deeper than ``MAX_JSON_DEPTH``: Python's parser raises ``RecursionError``
  (a 500) on deep input, so depth is measured on the raw bytes before parsing. This also
  covers provider webhooks, before their signature or credential checks.

- a card number (13-19 digits, spaces or dashes allowed, passing Luhn, not glued to letters
  or other digits) in any string of a JSON body: description, metadata, customer, tokens,
  receipts, reasons. A merchant who pastes one by mistake gets ``raw_card_data_not_allowed``
  (the number is never echoed), and it is never stored nor forwarded to a provider.

Provider webhooks are verified over their exact bytes: only a raw NUL byte is refused there
(an escaped ``\\u0000`` inside a provider's JSON is stored as the text it is), and their
content is the provider's, so no card check applies.
"""
from __future__ import annotations

import base64
import binascii
import re

from flask import request

from api.schemas.payments import luhn_valid
from shared.errors import InvalidRequest

MAX_JSON_DEPTH = 32
_NUL = "\x00"


def _nul(param: str | None, where: str) -> InvalidRequest:
    return InvalidRequest(f"NUL characters are not allowed in {where}.",
                          code="parameter_invalid", param=param)


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of ``raw`` (outside strings) nest deeper than ``limit``."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the usual case, decided in C: too few brackets to nest that deep
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


# A run glued to letters or digits is part of an identifier (a hex signature, a token, an
# id), not a pasted card number: 64 hex characters hold a Luhn-valid 16-digit run about
# once in a hundred signatures.
_CARD_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")
_CARD_LIKE_BYTES = re.compile(rb"\d[\d -]{11,}\d")  # a cheap superset, linear


def contains_card_number(text: str) -> bool:
    """Whether ``text`` holds a digit run shaped like a card number that passes Luhn."""
    for match in _CARD_LIKE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def _has_nul(text: str) -> bool:
    return _NUL in text


def _find(value, test) -> tuple[bool, str | None]:
    """Whether some string (or key) of ``value`` satisfies ``test``, and the dotted path of
    the first one (a bad key reports its parent's path). Iterative: the depth is bounded
    already, and recursion is what this module protects against."""
    stack = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if test(item):
                return True, where or None
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and test(key):
                    return True, where or None
                stack.append((child, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            stack.extend((child, where) for child in item)
    return False, None


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
    # Both walks run only when the raw bytes could hold what they look for (decided in C):
    # a NUL can only arrive escaped in valid JSON, a card number only as a digit run.
    found, path = _find(parsed, _has_nul) if b"\\u0000" in raw else (False, None)
    if found:
        raise _nul(path, path or "the body")
    found, path = (_find(parsed, contains_card_number) if _CARD_LIKE_BYTES.search(raw)
                    else (False, None))
    if found:
        if path and path.split(".")[0] == "payment_method":
            path = "payment_method"  # the contract's param for any card data in the method
        raise InvalidRequest("Raw card numbers are not accepted anywhere; use a provider "
                             "token.", code="raw_card_data_not_allowed", param=path)
