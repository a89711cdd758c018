"""Parquet files, read a batch of rows at a time with pyarrow (never the whole file).

Columns of nested types (lists, structs) become compact JSON text; dotted fields
(``address.city``) reach into struct columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nexo.adapters.readers.base import (
    RawRow,
    ReadInfo,
    as_text,
    json_raw,
    typed_row,
    unreadable,
)
from nexo.adapters.spec import ParquetFormat
from nexo.errors import ConfigurationError


def _get(record: dict[str, Any], field: str) -> Any:
    if field in record:
        return record[field]
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def parquet_module() -> Any:
    """pyarrow's Parquet module, which is an optional extra of Nexo."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ConfigurationError(
            "reading Parquet needs pyarrow", hint='install the extra: pip install "nexo[parquet]"'
        ) from e
    return pq


def read_parquet(
    path: Path | str, fmt: ParquetFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    pq = parquet_module()
    assert isinstance(path, Path)
    number = 0
    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
    except Exception as e:  # noqa: BLE001 - a damaged file is quarantined, not a crash
        yield unreadable(1, path, e)
        return
    info.columns = names
    nested = [f for f in fields if f not in names and "." in f]
    try:
        for batch in pf.iter_batches(batch_size=fmt.batch_rows):
            for record in batch.to_pylist():
                number += 1
                values = {k: as_text(v) for k, v in record.items()}
                raw = json_raw(values)
                for f in nested:
                    values[f] = as_text(_get(record, f))
                yield typed_row(number, raw, values)
    except Exception as e:  # noqa: BLE001 - a damaged row group: quarantine the rest
        yield unreadable(number + 1, path, e)
    finally:
        pf.close()
