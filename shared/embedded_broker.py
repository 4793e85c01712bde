"""The development broker: kombu's SQLAlchemy transport on a SQLite file under ``var/``.

Every message is a row written in a transaction, so a reader never sees half a message (the
filesystem transport could, and its worker then died on a ``JSONDecodeError``). The file is in
WAL mode so the API, the workers and beat write to it side by side; SQLite's busy timeout makes
a writer wait for the lock instead of failing. kombu marks a taken message invisible and never
deletes it: ``purge_taken`` (run by ``gateway dev``) keeps the file small.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy

# kombu's own alias is "sqla"; ours is the same transport polling faster (see Transport).
ALIAS = "gwsqla"
SCHEME = ALIAS + "+sqlite:///"
_SCHEMES = (SCHEME, "sqla+sqlite:///", "sqlalchemy+sqlite:///")
FILENAME = "broker.sqlite"
# A virtual transport checks its queues again only after this pause once its prefetch slots
# are full, so it caps a worker at about one task per interval per slot; kombu's 1 s default
# made a dev worker fall behind two payments a second.
POLLING_INTERVAL_S = 0.1
# Seconds a writer waits for SQLite's lock before giving up (the API's publish then falls back
# to the periodic outbox relay, a worker's poll to its next poll).
BUSY_TIMEOUT_S = 30


class Transport(kombu_sqlalchemy.Transport):
    polling_interval = POLLING_INTERVAL_S


TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")


def default_url(var_dir: str) -> str:
    return SCHEME + os.path.join(os.path.abspath(var_dir), FILENAME)


def path_of(broker_url: str) -> str | None:
    """The SQLite file behind an embedded broker URL, or None for any other broker."""
    for scheme in _SCHEMES:
        if broker_url.startswith(scheme):
            return broker_url[len(scheme):]
    return None


def prepare(broker_url: str) -> dict:
    """Create the folder, switch the file to WAL once (the mode is stored in the file) and
    return the transport options for Celery's ``broker_transport_options``."""
    path = path_of(broker_url)
    if path is None:
        raise ValueError(f"not an embedded broker URL: {broker_url!r}")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    # Everything here is handed to sqlalchemy.create_engine by kombu.
    return {"connect_args": {"timeout": BUSY_TIMEOUT_S}, "pool_pre_ping": True}


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S)


def _tables_exist(conn: sqlite3.Connection) -> bool:
    names = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    return {"kombu_queue", "kombu_message"} <= names


def queue_depths(broker_url: str, queues: tuple[str, ...]) -> dict:
    """Waiting messages per queue and the age of the oldest (from the ``enqueued_at`` header
    the publisher sets), read in one short transaction."""
    result: dict[str, dict] = {q: {"depth": 0, "oldest_age_s": None} for q in queues}
    path = path_of(broker_url)
    if path is None or not os.path.exists(path):
        return result
    now = time.time()
    conn = _connect(path)
    try:
        if not _tables_exist(conn):
            return result
        rows = conn.execute(
            "SELECT q.name, COUNT(m.id), MIN(m.id) FROM kombu_message m "
            "JOIN kombu_queue q ON q.id = m.queue_id WHERE m.visible = 1 GROUP BY q.name"
        ).fetchall()
        for name, depth, oldest_id in rows:
            if name not in result:
                continue
            result[name]["depth"] = depth
            payload = conn.execute("SELECT payload FROM kombu_message WHERE id = ?",
                                   (oldest_id,)).fetchone()
            result[name]["oldest_age_s"] = _age(payload[0] if payload else None, now)
    finally:
        conn.close()
    return result


def _age(payload: str | None, now: float) -> float | None:
    if payload is None:
        return None
    try:
        enqueued_at = json.loads(payload).get("headers", {}).get("enqueued_at")
    except (ValueError, AttributeError):
        return None
    if not isinstance(enqueued_at, (int, float)) or isinstance(enqueued_at, bool):
        return None
    return round(max(0.0, now - enqueued_at), 3)


def purge_taken(broker_url: str) -> int:
    """Delete the messages workers already took (kombu keeps them, invisible). Returns how
    many rows went."""
    path = path_of(broker_url)
    if path is None or not os.path.exists(path):
        return 0
    conn = _connect(path)
    try:
        if not _tables_exist(conn):
            return 0
        with conn:
            return conn.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount
    finally:
        conn.close()


def problem(broker_url: str) -> str | None:
    """Why the embedded broker cannot take messages, or None (for ``/ready``)."""
    path = path_of(broker_url)
    if path is None:
        return "not an embedded broker"
    folder = os.path.dirname(path) or "."
    if not os.access(folder, os.W_OK):
        return "broker folder not writable"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "broker file not writable"
    return None
