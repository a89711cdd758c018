"""Fixed-width records (mainframe exports): columns by position.

Records are lines, or, for EBCDIC code pages (and whenever ``record_length`` is given),
fixed-length runs of bytes without line ends, as mainframes write them.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from pathlib import Path

from nexo.adapters.readers.base import BAD, RawRow, ReadInfo, clip, open_text, unmark
from nexo.adapters.spec import EBCDIC, FixedWidthFormat


def is_ebcdic(encoding: str) -> bool:
    return codecs.lookup(encoding).name in EBCDIC


def record_length(fmt: FixedWidthFormat) -> int | None:
    """Bytes per record when records have no line ends; None for line-delimited records."""
    if fmt.record_length:
        return fmt.record_length
    if is_ebcdic(fmt.encoding):
        return max(c.start - 1 + c.width for c in fmt.columns)
    return None


def _record(text: str, fmt: FixedWidthFormat) -> str:
    """A record without its line end; in records of bytes only after the layout (bytes within
    it are data: a packed field may end in the code of a line end)."""
    if record_length(fmt) is None:
        return text.rstrip("\r\n\x85")
    end = max(c.start - 1 + c.width for c in fmt.columns)
    return text[:end] + text[end:].rstrip("\r\n\x85")


def unpack_decimal(data: bytes, scale: int = 0) -> str:
    """A packed-decimal (COMP-3) number as decimal text: two digits a byte, the last half-byte
    its sign (C, A, E, F: positive; D, B: negative). ``ValueError`` says what is wrong."""
    nibbles = data.hex()
    digits, sign = nibbles[:-1], nibbles[-1:]
    if not digits.isdigit() or sign not in ("a", "b", "c", "d", "e", "f"):
        where = "its sign half-byte" if sign.isdigit() else "a digit half-byte"
        raise ValueError(f"not packed decimal ({nibbles.upper()}: {where} is wrong)")
    digits = digits.lstrip("0").rjust(scale + 1, "0")
    text = f"{digits[:-scale]}.{digits[-scale:]}" if scale else digits
    return f"-{text}" if sign in ("b", "d") and digits.strip("0") else text


def _row(number: int, raw: str, text: str, fmt: FixedWidthFormat, short: bool) -> RawRow:
    min_length = max(c.start for c in fmt.columns)
    packed = [c for c in fmt.columns if c.type == "packed"]
    plain = text
    for c in packed:  # packed bytes may be anything, NUL included
        plain = plain[: c.start - 1] + " " * c.width + plain[c.start - 1 + c.width :]
    if BAD in raw:
        problem = ("encoding_error", f"bytes that are not {fmt.encoding}")
    elif "\x00" in plain:
        problem = ("parse_error", "NUL byte in record")
    elif short or len(text) < min_length:
        problem = ("record_length", f"{len(text)} characters, layout needs at least {min_length}")
    else:
        values = {c.name: text[c.start - 1 : c.start - 1 + c.width] for c in fmt.columns}
        try:
            for c in packed:
                values[c.name] = unpack_decimal(values[c.name].encode(fmt.encoding), c.scale)
        except ValueError as e:
            problem = ("parse_error", f"column {c.name}: {e}")
        else:
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
            yield _row(number, text, _record(text, fmt), fmt, short=len(chunk) < length)


def reparse_fixed_width(
    raw: str, fmt: FixedWidthFormat, fields: Sequence[str], columns: list[str] | None
) -> RawRow:
    if any(c.type == "packed" for c in fmt.columns):
        raw = raw.replace("\u2400", "\x00")  # the store shows NUL as ␀ (``store_safe``)
    return _row(0, raw, _record(raw, fmt), fmt, short=False)
