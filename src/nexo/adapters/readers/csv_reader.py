"""CSV and TSV: any delimiter and quoting, any encoding, with or without a header or BOM.

Lines are decoded one at a time (a bad byte spoils one row, not the file) and parsed by the
standard library's C parser. A quoted field still open after ``max_record_lines`` lines is an
unbalanced quote: its first line is quarantined and reading resumes on the next line, so one
stray quote cannot swallow the rest of the file.
"""

from __future__ import annotations

import csv
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nexo.adapters.readers.base import BAD, RawRow, ReadInfo, clip, open_text, unmark
from nexo.adapters.spec import CsvFormat
from nexo.errors import MappingError

FIELD_LIMIT = 10_000_000
csv.field_size_limit(min(sys.maxsize, FIELD_LIMIT))


class _Runaway(Exception):
    """A record went on for more lines than a record may have."""


class _Feed:
    """The lines the CSV parser reads, remembering those of the current record."""

    def __init__(self, lines: Iterator[str], limit: int) -> None:
        self.source, self.limit = lines, limit
        self.pending: deque[str] = deque()
        self.buf: list[str] = []
        self.taken = 0  # lines given to the parser (less those given back after a runaway)

    def lines(self) -> Iterator[str]:
        buf, pending, limit = self.buf, self.pending, self.limit
        while pending:
            buf.append(pending.popleft())
            self.taken += 1
            if len(buf) > limit:
                raise _Runaway
            yield buf[-1]
        for line in self.source:
            buf.append(line)
            self.taken += 1
            if len(buf) > limit:
                raise _Runaway
            yield line

    def take(self) -> str:
        buf = self.buf
        text = buf[0] if len(buf) == 1 else "".join(buf)
        buf.clear()
        return text


def dialect(fmt: CsvFormat) -> dict[str, Any]:
    return {
        "delimiter": fmt.delimiter,
        "quotechar": fmt.quotechar,
        "quoting": csv.QUOTE_NONE if fmt.quoting == "none" else csv.QUOTE_MINIMAL,
        "escapechar": fmt.escapechar,
        "strict": False,
    }


def check(number: int, raw: str, cells: list[str], header: list[str], fmt: CsvFormat) -> RawRow:
    """A parsed record as a row, or as a problem row when it cannot be trusted."""
    if BAD in raw:
        problem = ("encoding_error", f"bytes that are not {fmt.encoding}")
    elif "\x00" in raw:
        problem = ("parse_error", "NUL byte in row")
    elif len(cells) != len(header):
        problem = ("field_count", f"{len(cells)} fields, header has {len(header)}")
    else:
        return RawRow(number, raw, dict(zip(header, cells, strict=True)))
    # what could be split is kept, to find the row's record id; it is never mapped
    return RawRow(number, clip(unmark(raw)), dict(zip(header, cells, strict=False)), problem)


def read_csv(
    path: Path | str, fmt: CsvFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    assert isinstance(path, Path)
    info.columns = list(fmt.columns) if fmt.columns else None
    with open_text(path, fmt.encoding) as fh:
        yield from records(iter(fh), fmt, info, path.name)


def records(
    lines: Iterator[str], fmt: CsvFormat, info: ReadInfo, name: str, number: int = 0
) -> Iterator[RawRow]:
    """The rows of CSV text given line by line (each with its ``\\n``), numbered after
    ``number``; the header is read from the first line unless ``info.columns`` holds it.
    ``info.lines`` counts the lines taken so far, up to the end of the last row yielded."""
    opts = dialect(fmt)
    header = info.columns
    feed = _Feed(lines, fmt.max_record_lines)
    reader = csv.reader(feed.lines(), **opts)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _Runaway:
            first, *rest = feed.buf
            feed.buf.clear()
            feed.pending.extendleft(reversed(rest))
            feed.taken -= len(rest)
            reader = csv.reader(feed.lines(), **opts)
            if header is None and fmt.header:
                raise MappingError(
                    f"{name}: the header line has a quote that is never closed"
                ) from None
            number += 1
            info.lines = feed.taken
            yield RawRow(
                number,
                clip(unmark(first)),
                {},
                (
                    "unbalanced_quote",
                    f"a quoted field opened in this line is still open "
                    f"{fmt.max_record_lines} lines later",
                ),
            )
            continue
        except csv.Error as e:
            raw = feed.take()
            if header is None and fmt.header:
                raise MappingError(f"{name}: the header line cannot be read: {e}") from e
            number += 1
            info.lines = feed.taken
            yield RawRow(number, clip(unmark(raw)), {}, ("parse_error", f"CSV: {e}"))
            continue
        raw = feed.take()
        if not cells or (cells == [""] and not raw.strip("\r\n")):
            continue  # blank line
        if header is None:
            if fmt.header:
                header = [unmark(c).strip() for c in cells]
                info.columns = header
                continue
            header = [str(i + 1) for i in range(len(cells))]
            info.columns = header
        number += 1
        info.lines = feed.taken
        yield check(number, raw, cells, header, fmt)


def reparse_csv(
    raw: str, fmt: CsvFormat, fields: Sequence[str], columns: list[str] | None
) -> RawRow:
    header = columns or (list(fmt.columns) if fmt.columns else None)
    if not header:
        return RawRow(0, raw, {}, ("parse_error", "the input's header is not known"))
    try:
        records = list(csv.reader(raw.splitlines(keepends=True), **dialect(fmt)))
    except csv.Error as e:
        return RawRow(0, raw, {}, ("parse_error", f"CSV: {e}"))
    records = [r for r in records if r]
    if len(records) != 1:
        return RawRow(0, raw, {}, ("parse_error", f"{len(records)} records in the raw text"))
    return check(0, raw, records[0], header, fmt)
