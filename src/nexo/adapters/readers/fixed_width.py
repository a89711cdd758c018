"""Fixed-width records (mainframe exports): columns by position.

Records are lines, or, for EBCDIC code pages (and whenever ``record_length`` is given),
fixed-length runs of bytes without line ends, as mainframes write them.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from pathlib import Path

from nexo.adapters.readers.base import BAD, RawRow, ReadInfo, clip, open_text, unmark
from nexo.adapters.spec import FixedWidthFormat

EBCDIC = frozenset({"cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140"})


def is_ebcdic(encoding: str) -> bool:
    return codecs.lookup(encoding).name in EBCDIC


def record_length(fmt: FixedWidthFormat) -> int | None:
    """Bytes per record when records have no line ends; None for line-delimited records."""
    if fmt.record_length:
        return fmt.record_length
    if is_ebcdic(fmt.encoding):
        return max(c.start - 1 + c.width for c in fmt.columns)
    return None


def _row(number: int, raw: str, text: str, fmt: FixedWidthFormat, short: bool) -> RawRow:
    min_length = max(c.start for c in fmt.columns)
    if BAD in raw:
        problem = ("encoding_error", f"bytes that are not {fmt.encoding}")
    elif "\x00" in text:
        problem = ("parse_error", "NUL byte in record")
    elif short or len(text) < min_length:
        problem = ("record_length", f"{len(text)} characters, layout needs at least {min_length}")
    else:
        values = {c.name: text[c.start - 1 : c.start - 1 + c.width] for c in fmt.columns}
        return RawRow(number, raw, values)  # type: ignore[arg-type]
    return RawRow(number, clip(unmark(raw)), {}, problem)


def read_fixed_width(
    path: Path | str, fmt: FixedWidthFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    assert isinstance(path, Path)
    info.columns = [c.name for c in fmt.columns]
    length = record_length(fmt)
    number = 0
    if length is None:
        with open_text(path, fmt.encoding) as fh:
            for line in fh:
                text = line.rstrip("\r\n")
                if text.strip():
                    number += 1
                    yield _row(number, line, text, fmt, short=False)
        return
    with path.open("rb") as fh:
        while chunk := fh.read(length):
            text = chunk.decode(fmt.encoding, errors="nexo-mark")
            if not text.strip():
                continue
            number += 1
            yield _row(number, text, text.rstrip("\r\n\x85"), fmt, short=len(chunk) < length)


def reparse_fixed_width(
    raw: str, fmt: FixedWidthFormat, fields: Sequence[str], columns: list[str] | None
) -> RawRow:
    return _row(0, raw, raw.rstrip("\r\n\x85"), fmt, short=False)
