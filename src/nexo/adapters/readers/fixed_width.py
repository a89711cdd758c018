"""Fixed-width records (mainframe exports): one record per line, columns by position."""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from pathlib import Path

from nexo.adapters.readers.base import DecodedLines, RawRow, clip
from nexo.adapters.spec import Column, FormatSpec


def read_fixed_width(path: Path, fmt: FormatSpec, fields: Sequence[str]) -> Iterator[RawRow]:
    columns = [c for c in fmt.columns or [] if isinstance(c, Column)]
    slices = [(c.name, c.start - 1, c.start - 1 + c.width) for c in columns]
    min_length = max(c.start for c in columns)
    ebcdic = codecs.lookup(fmt.encoding).name.startswith("cp0") or fmt.encoding.lower() in (
        "cp037",
        "cp500",
        "cp1140",
        "cp273",
        "cp1047",
    )
    lines = _ebcdic_records(path, fmt, columns) if ebcdic else DecodedLines(path, fmt.encoding)
    number = 0
    for line in lines:
        raw, bad = lines.take() if isinstance(lines, DecodedLines) else (line, False)
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        number += 1
        if bad:
            yield RawRow(
                number, clip(raw), {}, ("encoding_error", f"bytes that are not {fmt.encoding}")
            )
        elif "\x00" in text:
            yield RawRow(number, clip(raw), {}, ("parse_error", "NUL byte in record"))
        elif len(text) < min_length:
            yield RawRow(
                number,
                clip(raw),
                {},
                ("record_length", f"{len(text)} characters, layout needs at least {min_length}"),
            )
        else:
            yield RawRow(number, raw, {name: text[a:b] for name, a, b in slices})


def _ebcdic_records(path: Path, fmt: FormatSpec, columns: list[Column]) -> Iterator[str]:
    """EBCDIC files have no line ends: records are the layout's length, back to back."""
    length = max(c.start - 1 + c.width for c in columns)
    with path.open("rb") as fh:
        while chunk := fh.read(length):
            yield chunk.decode(fmt.encoding, errors="replace")
