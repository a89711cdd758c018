"""CSV read a block of lines at a time by Polars' parser, where that cannot change a thing.

``read_csv`` decodes and parses one line at a time in Python, which costs more per row than
mapping a clean row column-wise (``vector.py``). For a vectorised mapping of a big UTF-8 file,
the read-ahead process reads the input in blocks of lines instead. A block is *plain* when
every line in it is exactly one whole row the way ``read_csv`` reads it: no blank line, no
NUL, no carriage return but in a CRLF line end, valid UTF-8, each unquoted line holding as
many delimiters as the header has columns less one, and each line with a quote character read
by Python's ``csv`` module to the same single row, ending on that line, that Polars reads. A
plain block becomes one Polars data frame (all text) with the lines kept for the rows that need
their raw text.

Any other block (a quoted field over several lines, a short row, a bad byte...) is read by
``read_csv``'s own parser, from its first line up to the end of the row that ends at or after
its last line; then blocks resume. Every row therefore gets the number, the values, the raw
text and the problem ``read_csv`` gives it: tests compare the two readers on arbitrary bytes.

Several read-ahead processes each read the whole input and take every n-th chunk (``part``).
A chunk another process takes needs only its number of rows: when each of its lines is
certainly one row, however it is read (``_one_row_per_line``), it is passed over without
being parsed; otherwise it is read as above and dropped.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO

import polars as pl

from nexo.adapters.readers.base import RawRow, ReadInfo
from nexo.adapters.readers.csv_reader import FIELD_LIMIT, dialect, read_csv, records
from nexo.adapters.spec import CsvFormat


@dataclass(slots=True)
class PlainBlock:
    """Rows ``first``, ``first + 1``... of an input: one per line, all without a problem."""

    first: int
    frame: pl.DataFrame  # one text column per header column, in header order
    lines: list[bytes]
    header: list[str]

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def last(self) -> int:
        return self.first + len(self.lines) - 1

    def rows(self, indices: list[int]) -> list[RawRow]:
        """The rows at these positions, as ``read_csv`` gives them."""
        if not indices:
            return []
        header, lines, first = self.header, self.lines, self.first
        values = self.frame[indices].rows()
        return [
            RawRow(first + i, lines[i].decode("utf-8"), dict(zip(header, v, strict=True)))
            for i, v in zip(indices, values, strict=True)
        ]


Chunk = PlainBlock | list[RawRow]


def readable(fmt: CsvFormat, header: list[str] | None) -> bool:
    """Whether blocks of this input can be plain at all."""
    one_byte = (fmt.delimiter, fmt.quotechar)
    return (
        header is not None
        and len(set(header)) == len(header)
        and codecs.lookup(fmt.encoding).name in ("utf-8", "utf-8-sig")
        and fmt.escapechar is None
        and all(len(c) == 1 and c.isascii() and c not in "\r\n\x00" for c in one_byte)
        and fmt.delimiter != fmt.quotechar
    )


def _lines(lines: list[bytes]) -> tuple[bytes, pl.Series] | None:
    """The block's bytes and its lines as text, unless a line is one no block may hold: a NUL,
    a BOM at the start, a CR but in a CRLF line end, a blank line (``read_csv`` skips it),
    bytes that are not UTF-8, or a line near the field size limit."""
    block = b"".join(lines)
    if (
        b"\x00" in block
        or block.startswith(codecs.BOM_UTF8)
        or (b"\r" in block and block.count(b"\r") != block.count(b"\r\n"))
        or (len(block) >= FIELD_LIMIT and any(len(line) >= FIELD_LIMIT for line in lines))
    ):
        return None
    try:
        text = pl.Series(lines, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:  # (not UTF-8)
        return None
    if text.str.len_bytes().min() <= 2 and text.is_in(["\n", "\r\n"]).any():  # type: ignore[operator]
        return None
    return block, text


def _well_formed(fmt: CsvFormat, fields: int) -> str:
    """A line of ``fields`` fields, each either unquoted (no quote character or delimiter)
    or quoted whole, its quotes doubled, ending on the line. Python's ``csv`` and Polars both
    read such a line as one row, field for field."""
    quote, delim = (f"\\x{{{ord(c):X}}}" for c in (fmt.quotechar, fmt.delimiter))
    field = f"(?:[^{quote}{delim}\\r\\n]*|{quote}(?:[^{quote}\\r\\n]|{quote}{quote})*{quote})"
    return f"^{field}(?:{delim}{field}){{{fields - 1}}}\\r?\\n?$"


def _odd(text: pl.Series, fmt: CsvFormat, fields: int) -> tuple[list[int], pl.Series]:
    """The lines with a quote character that are not well formed (``_well_formed``), and
    which lines have a quote character."""
    if fmt.quoting == "none":
        return [], pl.repeat(False, len(text), eager=True)
    quoted = text.str.contains(fmt.quotechar, literal=True)
    where = quoted.arg_true()
    if where.is_empty():
        return [], quoted
    odd = where.filter(~text.gather(where).str.contains(_well_formed(fmt, fields)))
    return odd.to_list(), quoted


def _plain(lines: list[bytes], fmt: CsvFormat, header: list[str]) -> pl.DataFrame | None:
    """The block's frame when it is plain (see the module's doc), else ``None``."""
    found = _lines(lines)
    if found is None:
        return None
    block, text = found
    odd, quoted = _odd(text, fmt, len(header))
    # each line without a quote character holds one delimiter less than the header has names:
    # none holds more (Polars would not read the block), and together they hold that many
    delimiter = fmt.delimiter.encode()
    inside = text.filter(quoted).str.count_matches(fmt.delimiter, literal=True).sum()
    if block.count(delimiter) - inside != (len(header) - 1) * (len(text) - quoted.sum()):
        return None
    quoting = fmt.quoting != "none"
    try:
        frame = pl.read_csv(
            block,
            has_header=False,
            new_columns=header,
            schema=dict.fromkeys(header, pl.String),
            separator=fmt.delimiter,
            quote_char=fmt.quotechar if quoting else None,
            empty_string_is_null=False,
            comment_prefix=None,
            encoding="utf8",
            eol_char="\n",
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # noqa: BLE001 - whatever Polars cannot read (a line with a field too
        return None  # many, truncate_ragged_lines), read_csv reads
    if frame.height != len(lines) or frame.columns != header:
        return None
    if odd:
        # Python's reading of these lines must be Polars', one row per line
        cells = _python_rows([lines[i] for i in odd], fmt)
        if cells is None or frame[odd].rows() != [tuple(c) for c in cells]:
            return None
    return frame


def _python_rows(lines: list[bytes], fmt: CsvFormat) -> list[list[str]] | None:
    """Python's ``csv`` reading of these (UTF-8) lines when it reads each alone as one row,
    ending on that line; else ``None``."""
    texts = [line.decode("utf-8") for line in lines]
    # a line read past its end would make the parser take the sentinel line as well
    reader = csv.reader([*texts, "\n"], **dialect(fmt))
    try:
        cells = [next(reader) for _ in texts]
    except (csv.Error, StopIteration):
        return None
    return cells if reader.line_num == len(texts) else None


def _one_row_per_line(lines: list[bytes], fmt: CsvFormat, fields: int) -> bool:
    """Whether each line is certainly one row, whether the block is read plain or by
    ``read_csv``: no line no block may hold (``_lines``), and each line with a quote
    character well formed or read by Python's ``csv`` alone as one row (which ``read_csv``
    then reads it as, and which ``_plain`` requires of Polars). What a reader that passes
    over the block needs: its number of rows, and that the next block starts after its last
    line."""
    found = _lines(lines)
    if found is None:
        return False
    odd, _ = _odd(found[1], fmt, fields)
    return not odd or _python_rows([lines[i] for i in odd], fmt) is not None


def read_blocks(
    path: Path,
    fmt: CsvFormat,
    header: list[str],
    after: int,
    size: int,
    part: tuple[int, int] = (0, 1),
) -> Iterator[Chunk]:
    """The rows after row ``after`` in chunks of about ``size`` rows: a plain block where it
    is one, else the rows ``read_csv`` reads from the block's lines on. With ``part`` (i, n),
    only chunks i, i + n, i + 2n... (counted from 0; see the module's doc)."""
    info = ReadInfo()
    for row in read_csv(path, fmt, [], info):  # (left, the reader is freed and closes the file)
        if row.number >= after:
            break
    skip = info.lines  # (the lines of the header and of rows 1 to ``after``)
    number = after
    mine, every = part
    k = 0  # the next chunk's index
    with path.open("rb") as raw:
        for _ in islice(raw, skip):
            pass
        while lines := list(islice(raw, size)):
            wanted = k % every == mine
            if not wanted and _one_row_per_line(lines, fmt, len(header)):
                number += len(lines)
                k += 1
                continue
            frame = _plain(lines, fmt, header)
            if frame is not None:
                if wanted:
                    yield PlainBlock(number + 1, frame, lines, header)
                number += len(lines)
                k += 1
                continue
            rows = _read_through(raw, lines, fmt, header, number, path.name)
            if rows:
                if wanted:
                    yield rows
                number = rows[-1].number
                k += 1


def _read_through(
    raw: BinaryIO, lines: list[bytes], fmt: CsvFormat, header: list[str], number: int, name: str
) -> list[RawRow]:
    """``read_csv``'s rows from these lines on, up to the first row that ends at or after
    the last of them (taking further lines from ``raw`` as that row needs)."""
    info = ReadInfo(columns=header)
    pulled = 0  # lines taken from the input (after a runaway quote, some wait to be parsed)

    def text() -> Iterator[str]:
        nonlocal pulled
        for line in chain(lines, raw):
            pulled += 1
            # lines split on "\n" decode as the stream would; a BOM inside the file is text
            yield line.decode("utf-8", "nexo-mark")

    out = []
    for row in records(text(), fmt, info, name, number):
        out.append(row)
        if info.lines >= len(lines) and info.lines == pulled:
            break
    return out


__all__ = ["Chunk", "PlainBlock", "read_blocks", "readable"]
