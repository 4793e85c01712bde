"""Engine, sessions, the declarative Base and the transaction scope (STYLE 4).

Services flush, they never commit; ``Database.transaction()`` is the request or task boundary
that commits or rolls back. After a successful commit the outbox relay publishes whatever the
transaction enqueued (see ``shared.outbox``).

This module imports no domain: every mapper must be configured before the first flush
(foreign keys cross domains), so each entry point imports the registry ``shared.models``.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row, namedtuple_row, tuple_row
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def at_commit(session: Session, write) -> None:
    """Run ``write()`` as the last writes of ``session``'s transaction, just before COMMIT.

    For writes that lock a row many transactions share (a merchant's ledger accounts): done
    last, the lock is held for those statements and the commit only, not for the rest of the
    transaction. Nothing is lost: the writes are part of the same commit, and a rollback drops
    them with everything else."""
    session.info.setdefault("at_commit", []).append(write)


def at_commit_collect(session: Session, name: str, key, item, write) -> None:
    """Collect ``item`` (once per ``key``) for one ``write({key: item, ...})`` among the last
    writes of ``session``'s transaction (``at_commit``): what the transaction does to many
    objects the same way (post the payments a worker settles together) is written with one
    statement rather than one per object."""
    batches = session.info.setdefault("at_commit_batches", {})
    items = batches.get(name)
    if items is None:
        items = batches[name] = {}
        at_commit(session, lambda: write(batches.pop(name)))
    items.setdefault(key, item)


@event.listens_for(Session, "before_commit")
def _run_at_commit(session: Session) -> None:
    writes = session.info.get("at_commit")
    while writes:
        writes.pop(0)()


@event.listens_for(Session, "after_transaction_end")
def _drop_at_commit(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed or not
        session.info.pop("at_commit", None)
        session.info.pop("at_commit_batches", None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def normalize_url(url: str) -> str:
    """Accept the usual postgres:// spellings and always use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


T = TypeVar("T")

# The INSERT with ON CONFLICT of each database we run on (PostgreSQL; SQLite in dev).
DIALECT_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert,
                                                   "sqlite": sqlite.insert}


def per_dialect(build: Callable[[Callable[..., Any]], T]) -> dict[str, T]:
    """A statement built once for each database from its INSERT (``build(insert)``), to be
    picked at execution by ``engine.dialect.name``."""
    return {name: build(insert) for name, insert in DIALECT_INSERTS.items()}


def any_of(column, name: str, item_type) -> dict[str, Any]:
    """``column`` is one of the values bound as ``name``, per database: on PostgreSQL one array
    parameter (``= ANY``), so the statement has one text (prepared once) whatever their
    number; elsewhere an expanding IN."""
    return {"postgresql": column == any_(bindparam(name, type_=postgresql.ARRAY(item_type))),
            "sqlite": column.in_(bindparam(name, expanding=True))}


def make_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        sqlite_write_lock_at_begin(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_idle_connections(engine)
    return engine


# A pooled connection back in use within this long is trusted without a ping.
PING_AFTER_IDLE_S = 1.0


def ping_idle_connections(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    """``pool_pre_ping`` for connections that sat idle in the pool, not for every checkout:
    under load a connection comes back within milliseconds and the ping would be one more
    round trip per transaction (measured: ~5 % of an API worker's CPU on POST /payments).
    A connection that dies while in use (PostgreSQL restarted mid-request) fails that one
    statement, and SQLAlchemy then invalidates every connection the pool had opened before."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:
        at = record.info.get("checked_in_at")
        if at is None or time.monotonic() - at < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool replaces it with a fresh connection
            raise DisconnectionError("idle connection failed its ping") from exc


# Statements run on psycopg directly (Database.autocommit_execute, execute_in), compiled for
# PostgreSQL once per statement and set of parameter names.
_COMPILED: dict[tuple, Any] = {}


def bound_sql(dialect, statement, params: dict) -> tuple[str, dict]:
    """``statement`` compiled for ``dialect`` (cached) and ``params`` bound as SQLAlchemy
    binds them (its bind processors: JSON; the statement's own literal values)."""
    key = (statement, tuple(params))
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = statement.compile(dialect=dialect, column_keys=list(params))
    # Columns whose Python-side default (INSERT) or onupdate (UPDATE) SQLAlchemy's execution
    # would compute, e.g. ``updated_at``: computed here the same way.
    defaults = {column.key: _python_value(column.default)
                for column in compiled.insert_prefetch if column.key not in params}
    defaults.update({column.key: _python_value(column.onupdate)
                     for column in compiled.update_prefetch if column.key not in params})
    processors = compiled._bind_processors
    return compiled.string, {
        name: processors[name](value) if name in processors else value
        for name, value in compiled.construct_params({**params, **defaults}).items()}


def _python_value(default) -> Any:
    return default.arg(None) if default.is_callable else default.arg


def _run(engine: Engine, pooled: Any, cursor, sql: str, params: dict) -> None:
    """Execute on a psycopg cursor (of ``pooled``, a pool's connection) as SQLAlchemy would be
    seen to: the engine's ``before_cursor_execute`` listeners get the statement (tests,
    tracing), a psycopg error is raised as SQLAlchemy's (OperationalError, IntegrityError,
    ...), which the workers retry on and callers catch, the parameters kept out of its
    message; and a connection the server ended (a restart, a failover) renews the pool, as
    SQLAlchemy's own Connection does on a disconnect: every connection made before it is
    replaced at its next checkout, so the next request does not take another dead one."""
    listeners = engine.dispatch.before_cursor_execute
    if listeners:
        for listener in listeners:
            listener(None, cursor, sql, params, None, False)
    try:
        cursor.execute(sql, params)
    except psycopg.Error as exc:
        conn = cursor.connection
        if conn.broken or conn.closed:
            engine.pool._invalidate(pooled, exc, _checkin=False)
        raise DBAPIError.instance(sql, params, exc, psycopg.Error, hide_parameters=True,
                                  connection_invalidated=bool(conn.broken or conn.closed)
                                  ) from exc


def execute_in(session: Session, statement, params: dict, *, mappings: bool = False,
               named: bool = False) -> list:
    """Run a Core statement in ``session``'s transaction (``execute_on`` its connection).
    What the session holds unwritten is flushed first, as ``session.execute`` would."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return _rows(session.execute(statement, params), mappings, named)
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return execute_on(conn, statement, params, mappings=mappings, named=named)


def execute_on(conn: Connection, statement, params: dict, *, mappings: bool = False,
               named: bool = False) -> list:
    """Run a Core statement on ``conn`` (in its transaction, if it has one); its rows as
    tuples, as dicts by column name (``mappings``) or with attribute access (``named``); none
    for a statement without RETURNING. On PostgreSQL on the psycopg connection directly
    (``bound_sql``), without SQLAlchemy's per-statement execution set-up: for the statements
    run for every payment and every delivery."""
    if conn.dialect.name != "postgresql":
        return _rows(conn.execute(statement, params), mappings, named)
    sql, values = bound_sql(conn.dialect, statement, params)
    driver: Any = conn.connection.driver_connection
    factory = dict_row if mappings else namedtuple_row if named else tuple_row
    with driver.cursor(row_factory=factory) as cursor:
        _run(conn.engine, conn.connection, cursor, sql, values)
        return cursor.fetchall() if cursor.description else []


def _rows(result: Any, mappings: bool, named: bool) -> list:
    if not result.returns_rows:
        return []
    if mappings:
        return [dict(row) for row in result.mappings()]
    return list(result.all()) if named else [tuple(row) for row in result.all()]


def pyformat(sql: str) -> str:
    """SQL with ``:name`` parameters (SQLAlchemy's ``text``) in psycopg's ``%(name)s`` style,
    for ``Database.autocommit_rows``."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


def sqlite_write_lock_at_begin(engine: Engine) -> None:
    """SQLite ignores ``FOR UPDATE``, and pysqlite on its own opens a transaction only at the
    first write, so a read-modify-write could read a value another process is changing and
    write back a stale one. Every transaction here starts with ``BEGIN IMMEDIATE`` instead:
    it takes the database's write lock at once (waiting up to the busy timeout), so on SQLite
    transactions run one after another (reads outside a transaction, e.g. a backup, are not
    blocked in WAL mode). That is the embedded development mode's price for exactness;
    PostgreSQL keeps its row locks."""

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # The same pool in autocommit: for single statements that are atomic on their own
        # (no BEGIN/COMMIT round trips), e.g. shared.payments.insert.
        self.autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # Set by shared.runtime.build_runtime: an OutboxRelay, publishes committed outbox rows.
        self.outbox_relay: Any = None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        committed = session.info.pop("outbox", None)
        rows = session.info.pop("outbox_rows", None)  # written by Core statements
        if self.outbox_relay is not None:
            if committed:
                self.outbox_relay.after_commit(committed)
            if rows:
                self.outbox_relay.after_commit_rows(rows)

    @contextmanager
    def autocommit_connection(self) -> Iterator[Connection]:
        """For statements atomic on their own. On SQLite, whose every transaction starts with
        our ``BEGIN IMMEDIATE`` (which SQLAlchemy's autocommit mode would never commit), the
        block is one ordinary transaction instead."""
        if not self.is_postgres:
            with self.engine.begin() as conn:
                yield conn
            return
        with self.autocommit_engine.connect() as conn:
            yield conn

    def autocommit_execute(self, statement, params: dict) -> list:
        """One Core statement, atomic on its own, in autocommit; its rows (attribute access).
        On PostgreSQL through ``autocommit_rows``: compiled once per statement and set of
        parameter names, the parameters bound as SQLAlchemy would (its bind processors: JSON,
        literal values of the statement); elsewhere through ``autocommit_connection``."""
        if not self.is_postgres:
            with self.autocommit_connection() as conn:
                result = conn.execute(statement, params)
                return list(result.all()) if result.returns_rows else []
        sql, values = bound_sql(self.engine.dialect, statement, params)
        return self.autocommit_rows(sql, values, named=True)

    def autocommit_rows(self, sql: str, params: dict, *, named: bool = False) -> list:
        """PostgreSQL: run one statement, atomic on its own, on a pooled connection's psycopg
        connection in autocommit, without SQLAlchemy's statement machinery (its Connection and
        compiled-statement set-up were ~1/3 of the one INSERT of a POST /payments). ``sql``
        uses psycopg's ``%(name)s`` placeholders (``pyformat``). A connection the error left
        broken is dropped from the pool; psycopg's errors are raised as SQLAlchemy's."""
        pooled = self.engine.raw_connection()
        conn: Any = pooled.driver_connection  # a psycopg.Connection
        try:
            conn.autocommit = True
            with conn.cursor(row_factory=namedtuple_row if named else tuple_row) as cursor:
                _run(self.engine, pooled, cursor, sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            if conn.broken or conn.closed:
                pooled.invalidate()  # the pool as a whole was renewed by _run
            else:
                conn.autocommit = False
            pooled.close()

    def dispose(self) -> None:
        self.engine.dispose()
