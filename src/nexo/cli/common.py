"""What several commands share: the store from settings, key=value options."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from nexo.config import get_settings
from nexo.errors import UsageError
from nexo.store import bulk
from nexo.store.engine import make_engine, session_factory
from nexo.store.migrate import upgrade


def open_store(
    *, migrate: bool = True, restore_indexes: bool = False
) -> tuple[str, sessionmaker[Session]]:
    """The store, migrated; with ``restore_indexes`` (commands that serve readers), also with
    any reader-only index a killed bulk load left missing built again (decision 0056)."""
    url = get_settings().effective_database_url
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    if restore_indexes:
        bulk.restore(engine)
    return url, session_factory(engine)


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"{option} {pair!r} is not NAME=VALUE", hint=f"e.g. {option} encoding=cp949"
            )
        out[key.strip()] = value
    return out
