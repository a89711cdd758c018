"""Imports every part's tables so that ``Base.metadata`` knows them all (Alembic, tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from nexo.store.base import Base


def load_all_tables() -> MetaData:
    import nexo.adapters.tables  # noqa: F401
    import nexo.audit.tables  # noqa: F401
    import nexo.auth.tables  # noqa: F401
    import nexo.dci.tables  # noqa: F401
    import nexo.linkage.tables  # noqa: F401
    import nexo.policy.tables  # noqa: F401
    import nexo.quality.tables  # noqa: F401
    import nexo.store.tables  # noqa: F401

    return Base.metadata
