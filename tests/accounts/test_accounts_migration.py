"""Migration 0006_accounts on PostgreSQL: existing audit rows keep their order under aud_ ids
with a typed actor, and the revision goes down and up again."""
from __future__ import annotations

import psycopg
from alembic import command
from sqlalchemy import create_engine, text

from shared.migrate import alembic_config, check, upgrade


def test_audit_rows_survive_and_the_revision_is_reversible(postgres):
    admin = postgres.url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS accounts_migration")
        conn.execute("CREATE DATABASE accounts_migration")
    url = postgres.url.rsplit("/", 1)[0] + "/accounts_migration"
    upgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        for actor in ("key_abc", "cli"):
            conn.execute(text(
                "INSERT INTO audit_logs (merchant_id, actor, action, object_type, object_id, "
                "details, created_at) VALUES (NULL, :actor, 'api_key.created', 'api_key', "
                "'key_abc', '{}', now())"), {"actor": actor})
    upgrade(url)
    with engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT id, actor_type, actor_id FROM audit_logs ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("aud_00000000000000000000000001", "api_key", "key_abc"),
        ("aud_00000000000000000000000002", "operator", "cli")]
    check(url)
    command.downgrade(alembic_config(url), "0004")
    upgrade(url)
    check(url)
    engine.dispose()
