"""Reference data for mappings: built-in tables and lookup tables read from CSV files.

Built-in tables can be named in ``code_list``, ``crosswalk`` and ``lookup`` steps without
declaring them: ``{lookup: isco08}`` keeps a valid ISCO-08 code and rejects (or flags) any
other. A mapping's own ``code_lists`` and ``reference`` tables take precedence over built-ins of
the same name.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from nexo.errors import MappingError
from nexo.model.isco import isco08


@cache
def _isco(level: int | None, value: str) -> MappingProxyType[str, str]:
    groups = isco08().values()
    return MappingProxyType(
        {
            g.code: g.code if value == "code" else g.title
            for g in groups
            if level is None or g.level == level
        }
    )


BUILTIN_TABLES: dict[str, tuple[str, Callable[[], MappingProxyType[str, str]]]] = {
    "isco08": ("ISCO-08 codes of any level (1 to 4 digits), kept as they are",
               lambda: _isco(None, "code")),
    "isco08_unit": ("ISCO-08 unit groups (4 digits) only", lambda: _isco(4, "code")),
    "isco08_title": ("ISCO-08 code to its English title", lambda: _isco(None, "title")),
}  # fmt: skip
"""name → (description, table)."""


def builtin_table(name: str) -> MappingProxyType[str, str] | None:
    entry = BUILTIN_TABLES.get(name)
    return entry[1]() if entry else None


def reference_header(path: Path, encoding: str) -> list[str]:
    """The column names of a reference CSV (reads the first line only)."""
    with path.open(encoding=encoding, newline="") as f:
        return [c.strip() for c in next(csv.reader(f), [])]


def load_reference(path: Path, key: str, value: str, encoding: str, name: str) -> dict[str, Any]:
    """A reference table: ``key`` column → ``value`` column (the whole file: tables are small)."""
    try:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            if key not in header or value not in header:
                raise MappingError(
                    f"reference {name}: {path.name} has no column {key!r} or {value!r}",
                    hint=f"its columns are: {', '.join(header)}",
                )
            return {r[key]: r[value] for r in reader}
    except OSError as e:
        raise MappingError(f"reference {name}: cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise MappingError(f"reference {name}: {path.name} is not {encoding}: {e.reason}") from e
