"""JSON (an array of records somewhere in one document) and NDJSON (one record per line).

JSON is streamed with ijson: one record in memory at a time, whatever the file's size. Fields
are dotted paths into a record (``name.family``, ``phones.0``); numbers, booleans, objects and
arrays become text (objects and arrays as compact JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nexo.adapters.readers.base import (
    BAD,
    UTF8_BOM,
    RawRow,
    ReadInfo,
    as_text,
    clip,
    json_raw,
    open_text,
    typed_row,
    unmark,
)
from nexo.adapters.spec import JsonFormat, NdjsonFormat

_NOTHING = object()


def _path(value: Any, path: str) -> Any:
    """Follow a dotted path into parsed JSON; ``_NOTHING`` when it leads nowhere."""
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _NOTHING)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else _NOTHING
        else:
            return _NOTHING
        if value is _NOTHING:
            return value
    return value


def _values(record: dict[str, Any], fields: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for f in fields:
        v = _path(record, f)
        out[f] = None if v is _NOTHING else as_text(v)
    return out


def _row(number: int, raw: str, record: Any, fields: Sequence[str]) -> RawRow:
    if not isinstance(record, dict):
        return RawRow(
            number,
            clip(raw),
            {},
            ("parse_error", f"a record must be an object, not {record!r}"[:200]),
        )
    return typed_row(number, raw, _values(record, fields))


class _Counting:
    """A binary file that remembers how far it has been read (to cut the unread tail)."""

    def __init__(self, path: Path) -> None:
        self.fh = path.open("rb")
        self.position = 0
        if self.fh.peek(3)[:3] == UTF8_BOM:
            self.read(3)

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.position += len(data)
        return data

    def close(self) -> None:
        self.fh.close()


def read_json(
    path: Path | str, fmt: JsonFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    import ijson

    assert isinstance(path, Path)
    info.tabular = False
    prefix = f"{fmt.record_path}.item" if fmt.record_path else "item"
    fh = _Counting(path)
    number, buf_size = 0, 64 * 1024
    try:
        for record in ijson.items(fh, prefix, buf_size=buf_size):
            number += 1
            yield _row(number, json_raw(record), record, fields)
    except (ijson.JSONError, ValueError, UnicodeDecodeError) as e:
        number += 1
        yield RawRow(
            number,
            clip(_tail(path, max(0, fh.position - buf_size))),
            {},
            ("malformed_json", f"JSON is not well formed near byte {fh.position}: {e}"[:2000]),
        )
    finally:
        fh.close()


def _tail(path: Path, offset: int) -> str:
    """The input from ``offset`` on (at most a little over the raw-text limit)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(1_100_000).decode("utf-8", errors="replace")


def read_ndjson(
    path: Path | str, fmt: NdjsonFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    assert isinstance(path, Path)
    info.tabular = False
    number = 0
    with open_text(path, fmt.encoding) as fh:
        for line in fh:
            if not line.strip():
                continue
            number += 1
            yield _line(number, line, fmt, fields)


def _line(number: int, line: str, fmt: NdjsonFormat, fields: Sequence[str]) -> RawRow:
    if BAD in line:
        return RawRow(
            number, clip(unmark(line)), {}, ("encoding_error", f"bytes that are not {fmt.encoding}")
        )
    try:
        document = json.loads(line)
    except (ValueError, RecursionError) as e:
        return RawRow(number, clip(line), {}, ("parse_error", f"not JSON: {e}"[:500]))
    record = _path(document, fmt.record_path)
    if record is _NOTHING:
        return RawRow(number, clip(line), {}, ("parse_error", f"no {fmt.record_path!r} in line"))
    return _row(number, line, record, fields)


def reparse_json(
    raw: str, fmt: JsonFormat, fields: Sequence[str], columns: list[str] | None
) -> RawRow:
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError) as e:
        return RawRow(0, raw, {}, ("malformed_json", f"not JSON: {e}"[:500]))
    return _row(0, raw, record, fields)


def reparse_ndjson(
    raw: str, fmt: NdjsonFormat, fields: Sequence[str], columns: list[str] | None
) -> RawRow:
    return _line(0, raw, fmt, fields)
