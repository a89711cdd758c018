"""Fixtures of the quality tests (factories are in quality_factories.py)."""

from __future__ import annotations

import pytest

from nexo.quality.domain import RuleSet
from nexo.quality.rules import load_rules


@pytest.fixture(scope="session")
def shipped() -> RuleSet:
    """The rules shipped with Nexo."""
    return load_rules()
