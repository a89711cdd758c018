"""One interface for every source format: a reader turns an input into raw rows, in order.

A row that cannot even be split into fields is still yielded, with ``problem`` set, so that it
is quarantined with its raw text instead of being lost. Readers stream: they hold one row (or
one small batch) at a time, never the whole input.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

MAX_RAW_CHARS = 1_000_000  # raw text kept per quarantined row
BAD = "\udcff"  # a lone surrogate: no decoder produces one, so it marks undecodable bytes
UTF8_BOM = b"\xef\xbb\xbf"


def _mark(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return BAD, error.end


codecs.register_error("nexo-mark", _mark)


@dataclass(slots=True)
class RawRow:
    number: int  # 1-based position among the input's rows (header excluded)
    raw: str  # the row as it was in the input (decoded), for quarantine and audit
    values: dict[str, str | None]  # for a row with a problem: what could be split, if anything
    problem: tuple[str, str] | None = None  # (reason code, message) when unreadable


@dataclass(slots=True)
class ReadInfo:
    """What a reader learns about its input on the way (the header, for tabular formats)."""

    columns: list[str] | None = None
    tabular: bool = True  # every row has every column (so missing columns are a mapping error)
    extra: dict[str, Any] = field(default_factory=dict)
    lines: int = 0  # lines of text read up to the end of the last row given (CSV)


class Reader(Protocol):
    def __call__(
        self, source: Path | str, fmt: Any, fields: Sequence[str], info: ReadInfo, /
    ) -> Iterator[RawRow]:
        """Yield the rows of ``source``; ``fields`` are the columns or paths the mapping uses."""
        ...


class Reparser(Protocol):
    def __call__(
        self, raw: str, fmt: Any, fields: Sequence[str], columns: list[str] | None, /
    ) -> RawRow:
        """Split a row's raw text again (to retry a corrected quarantined row)."""
        ...


def clip(text: str) -> str:
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…[truncated]"


def unmark(text: str) -> str:
    """Raw text for people: undecodable bytes shown as the replacement character."""
    return text.replace(BAD, "\ufffd") if BAD in text else text


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    """A text stream split on ``\\n`` only, with undecodable bytes marked by ``BAD``.

    A UTF-8 byte-order mark at the start is dropped whatever the declared encoding (exports
    often carry one); UTF-16 and UTF-32 codecs read their own byte-order marks.
    """
    fh = path.open("rb")
    if not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        if fh.peek(3)[:3] == UTF8_BOM:
            fh.read(3)
    return io.TextIOWrapper(fh, encoding=encoding, errors="nexo-mark", newline="\n")


def as_text(value: Any) -> str | None:
    """A typed value (JSON, Excel, Parquet, SQL) as the text mappings work on."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def store_safe(text: str) -> str:
    """Text every store accepts: NUL shown as ␀, lone surrogates as the replacement character
    (PostgreSQL refuses NUL in text; no store can encode a lone surrogate)."""
    if text.isascii():
        return text.replace("\x00", "\u2400") if "\x00" in text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\x00", "\u2400") if "\x00" in text else text


def text_problem(values: dict[str, str | None]) -> tuple[str, str] | None:
    """A value no store can keep: a NUL character or a lone surrogate (from JSON escapes)."""
    for key, v in values.items():
        if v is None:
            continue
        if "\x00" in v:
            return "parse_error", f"{key}: NUL character in value"
        if not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "encoding_error", f"{key}: a lone surrogate is not text"
    return None


def typed_row(number: int, raw: str, values: dict[str, str | None]) -> RawRow:
    """A row of a typed source, unless one of its values cannot be stored."""
    problem = text_problem(values)
    if problem is not None:
        return RawRow(number, clip(store_safe(raw)), {}, problem)
    return RawRow(number, raw, values)


def json_raw(values: dict[str, Any]) -> str:
    """The raw text of a row of a typed source: its values as one JSON object."""
    return json.dumps(values, ensure_ascii=False, default=str)


def unreadable(number: int, source: Path | str, error: BaseException) -> RawRow:
    """The rest of an input that cannot be read, as one quarantined row."""
    name = source.name if isinstance(source, Path) else str(source)
    return RawRow(
        number,
        f"(the rest of {name} from row {number} on could not be read)",
        {},
        ("unreadable_input", f"{type(error).__name__}: {error}"[:2000]),
    )
