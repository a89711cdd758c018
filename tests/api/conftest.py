"""The ``api`` fixture: an app over the tiny test country (see ``api_support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Api, make_api
from sqlalchemy.orm import Session, sessionmaker


@pytest.fixture
def api(factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Api]:
    yield make_api(factory, tmp_path / "home")
