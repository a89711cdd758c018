"""CSV and TSV: any delimiter and quoting, any encoding, with or without a header or BOM."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from nexo.adapters.readers.base import DecodedLines, RawRow, clip
from nexo.adapters.spec import FormatSpec

FIELD_LIMIT = 10_000_000
csv.field_size_limit(min(sys.maxsize, FIELD_LIMIT))


def read_csv(path: Path, fmt: FormatSpec, fields: Sequence[str]) -> Iterator[RawRow]:
    lines = DecodedLines(path, fmt.encoding)
    reader = csv.reader(lines, delimiter=fmt.delimiter, quotechar=fmt.quotechar, strict=False)
    header: list[str] | None = [str(c) for c in fmt.columns] if fmt.columns else None
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            number += 1
            raw, _ = lines.take()
            yield RawRow(number, clip(raw), {}, ("parse_error", f"CSV: {e}"))
            continue
        raw, bad = lines.take()
        if not cells or cells == [""] and not raw.strip("\r\n"):
            continue  # blank line
        if header is None and fmt.header:
            header = [c.strip() for c in cells]
            continue
        number += 1
        if header is None:
            header = [str(i + 1) for i in range(len(cells))]
        if bad:
            yield RawRow(
                number, clip(raw), {}, ("encoding_error", f"bytes that are not {fmt.encoding}")
            )
        elif "\x00" in raw:
            yield RawRow(number, clip(raw), {}, ("parse_error", "NUL byte in row"))
        elif len(cells) != len(header):
            yield RawRow(
                number,
                clip(raw),
                {},
                ("field_count", f"{len(cells)} fields, header has {len(header)}"),
            )
        else:
            yield RawRow(number, raw, dict(zip(header, cells, strict=True)))
