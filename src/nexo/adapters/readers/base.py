"""One interface for every source format: a reader turns an input into raw rows, in order.

A row that cannot even be split into fields is still yielded, with ``problem`` set, so that it
is quarantined with its raw text instead of being lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nexo.adapters.spec import FormatSpec

MAX_RAW_CHARS = 1_000_000  # raw text kept per quarantined row


@dataclass(slots=True)
class RawRow:
    number: int  # 1-based position among the input's rows (header excluded)
    raw: str  # the row as it was in the input (decoded), for quarantine and audit
    values: dict[str, str | None]
    problem: tuple[str, str] | None = None  # (reason code, message) when unreadable


class Reader(Protocol):
    def __call__(self, path: Path, fmt: FormatSpec, fields: Sequence[str]) -> Iterator[RawRow]:
        """Yield the rows of ``path``; ``fields`` are the columns or paths the mapping uses."""
        ...


def clip(text: str) -> str:
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…[truncated]"


class DecodedLines:
    """Iterate a binary file as decoded text lines, noting lines that do not decode.

    Decoding line by line (rather than the whole stream) means one bad byte spoils one row,
    not the rest of the file. A UTF-8 byte-order mark at the start is dropped whatever the
    declared encoding.
    """

    def __init__(self, path: Path, encoding: str) -> None:
        self.path, self.encoding = path, encoding
        self.buffer: list[str] = []
        self.bad_encoding = False

    def __iter__(self) -> Iterator[str]:
        with self.path.open("rb") as fh:
            first = True
            for raw in fh:
                if first:
                    first = False
                    if raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                try:
                    text = raw.decode(self.encoding)
                except UnicodeDecodeError:
                    text = raw.decode(self.encoding, errors="replace")
                    self.bad_encoding = True
                self.buffer.append(text)
                yield text

    def take(self) -> tuple[str, bool]:
        """The raw text consumed since the last call, and whether any of it failed to decode."""
        text, bad = "".join(self.buffer), self.bad_encoding
        self.buffer.clear()
        self.bad_encoding = False
        return text, bad
