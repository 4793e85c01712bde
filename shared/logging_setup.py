"""Structured JSON logs with the request id, and a last-line filter that masks secrets.

Code must not log secrets in the first place; the filter is the safety net: API keys,
webhook secrets, bearer/basic credentials, full signatures and card-like numbers are masked
in every record, whatever logger produced it.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                             default=None)

_PATTERNS = [
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+"), r"\1_\2_[REDACTED]"),
    (re.compile(r"\bsk_[A-Za-z0-9_-]{8,}"), "sk_[REDACTED]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[REDACTED]"),
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer|basic)\s+[^\s\"',]+"),
     r"\1\2 [REDACTED]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [REDACTED]"),
    (re.compile(r"(v1[=,])[A-Za-z0-9+/=]{16,}"), r"\1[REDACTED]"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "[REDACTED-HEX]"),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[REDACTED-NUMBER]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            payload["request_id"] = request_id
        for key in ("method", "path", "status", "duration_ms", "task", "payment_id"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, separators=(",", ":"))


class RedactingFilter(logging.Filter):
    """Masks secrets for handlers that do not use JsonFormatter (e.g. Celery's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):  # logger.log(level, "%(name)s", {...}), as Celery does
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


_configured = False


def configure_logging(level: str = "INFO", stream=None) -> None:
    global _configured
    root = logging.getLogger()
    if _configured:
        root.setLevel(level)
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "stripe", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    _configured = True
