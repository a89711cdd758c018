"""Alembic environment: Nexo passes its engine in ``config.attributes['engine']``."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Engine

from nexo.store.base import UtcDateTime
from nexo.store.registry import load_all_tables

target_metadata = load_all_tables()


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render Nexo's column types as plain SQLAlchemy types in migration files."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    engine: Engine | None = context.config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("run migrations through nexo.store.migrate (nexo db upgrade)")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
