"""Alembic environment: the URL comes from the gateway's config, the metadata from its models."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from shared.config import Config
from shared.db import UTCDateTime, normalize_url
from shared.models import Base

alembic_config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return normalize_url(alembic_config.get_main_option("sqlalchemy.url")
                         or Config.from_env().database_url)


def render_item(type_, obj, autogen_context):
    # Revisions must not import application code: UTCDateTime is a plain timezone-aware
    # DateTime in the schema.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_item=render_item, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = alembic_config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.",
                                         poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_item=render_item, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
