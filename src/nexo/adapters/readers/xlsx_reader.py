"""Excel workbooks (.xlsx), streamed row by row with openpyxl's read-only mode.

Cell values become text: whole numbers without ``.0`` (Excel keeps every number as a float),
dates as ISO dates (``%Y-%m-%d``), date-times as ``%Y-%m-%d %H:%M:%S``, booleans as
``true``/``false``. The raw text of a row is its values as a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nexo.adapters.readers.base import (
    RawRow,
    ReadInfo,
    as_text,
    clip,
    json_raw,
    typed_row,
    unreadable,
)
from nexo.adapters.spec import XlsxFormat
from nexo.errors import MappingError


def read_xlsx(
    path: Path | str, fmt: XlsxFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    assert isinstance(path, Path)
    number = 0
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - a damaged workbook is quarantined, not a crash
        yield unreadable(1, path, e)
        return
    try:
        if fmt.sheet is not None and fmt.sheet not in book.sheetnames:
            raise MappingError(
                f"{path.name} has no sheet {fmt.sheet!r}",
                hint=f"its sheets: {', '.join(book.sheetnames)}",
            )
        sheet = book[fmt.sheet] if fmt.sheet else book.worksheets[0]
        header: list[str] | None = list(fmt.columns) if fmt.columns else None
        info.columns = header
        rows = sheet.iter_rows(values_only=True)
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as e:  # noqa: BLE001 - a damaged sheet: quarantine the rest
                yield unreadable(number + 1, path, e)
                return
            texts = [as_text(c) for c in cells]
            if all(t is None or t == "" for t in texts):
                continue
            if header is None:
                if fmt.header:
                    header = [(t or "").strip() for t in texts]
                    while header and not header[-1]:
                        header.pop()
                    info.columns = header
                    continue
                header = [str(i + 1) for i in range(len(texts))]
                info.columns = header
            number += 1
            yield _row(number, texts, header)
    finally:
        book.close()


def _row(number: int, texts: list[str | None], header: list[str]) -> RawRow:
    extra = [t for t in texts[len(header) :] if t not in (None, "")]
    values = dict(zip(header, texts + [None] * (len(header) - len(texts)), strict=False))
    raw = json_raw(values if not extra else {**values, "(beyond the header)": extra})
    if extra:
        return RawRow(
            number,
            clip(raw),
            {},
            ("field_count", f"{len(header) + len(extra)} cells, header has {len(header)}"),
        )
    return typed_row(number, raw, values)


def reparse_json_object(
    raw: str, fmt: Any, fields: Sequence[str], columns: list[str] | None
) -> RawRow:
    """Rows of typed sources (Excel, Parquet, SQL) keep their values as a JSON object."""
    try:
        values = json.loads(raw)
    except ValueError as e:
        return RawRow(0, raw, {}, ("parse_error", f"not a JSON object: {e}"))
    if not isinstance(values, dict):
        return RawRow(0, raw, {}, ("parse_error", "not a JSON object"))
    return typed_row(0, raw, {str(k): as_text(v) for k, v in values.items()})
