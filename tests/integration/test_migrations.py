"""Migrations are reviewed code: they apply to an empty database and match the models."""
from __future__ import annotations

import psycopg

from shared.migrate import check, upgrade


def test_migrations_apply_to_an_empty_postgres_and_match_the_models(postgres):
    admin = postgres.url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS migration_check")
        conn.execute("CREATE DATABASE migration_check")
    url = postgres.url.rsplit("/", 1)[0] + "/migration_check"
    upgrade(url)
    check(url)  # raises if autogenerate finds any difference


def test_migrations_apply_to_sqlite_for_development(tmp_path):
    url = f"sqlite:///{tmp_path}/dev.db"
    upgrade(url)
    check(url)
