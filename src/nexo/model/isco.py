"""ISCO-08, the International Standard Classification of Occupations (ILO), as a code list."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class IscoGroup:
    code: str
    level: int  # 1 major, 2 sub-major, 3 minor, 4 unit group
    title: str
    parent: str | None


@lru_cache(maxsize=1)
def isco08() -> dict[str, IscoGroup]:
    """All 619 ISCO-08 groups by code (leading zeros kept)."""
    text = resources.files("nexo.model").joinpath("data/isco08.csv").read_text(encoding="utf-8")
    return {
        row["code"]: IscoGroup(row["code"], int(row["level"]), row["title"], row["parent"] or None)
        for row in csv.DictReader(text.splitlines())
    }


def unit_groups() -> list[IscoGroup]:
    return [g for g in isco08().values() if g.level == 4]


def is_isco08(code: str) -> bool:
    return code in isco08()
