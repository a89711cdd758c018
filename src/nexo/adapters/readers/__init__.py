"""Source-format readers, one file each, behind the ``Reader`` interface."""

from __future__ import annotations

from nexo.adapters.readers.base import RawRow, Reader, ReadInfo, Reparser
from nexo.adapters.readers.csv_reader import read_csv, reparse_csv
from nexo.adapters.readers.fixed_width import read_fixed_width, reparse_fixed_width
from nexo.adapters.readers.json_reader import read_json, read_ndjson, reparse_json, reparse_ndjson
from nexo.adapters.readers.parquet_reader import read_parquet
from nexo.adapters.readers.sql_reader import read_sql
from nexo.adapters.readers.xlsx_reader import read_xlsx, reparse_json_object
from nexo.adapters.readers.xml_reader import read_xml, reparse_xml
from nexo.errors import MappingError

READERS: dict[str, tuple[Reader, Reparser]] = {
    "csv": (read_csv, reparse_csv),
    "fixed_width": (read_fixed_width, reparse_fixed_width),
    "xml": (read_xml, reparse_xml),
    "json": (read_json, reparse_json),
    "ndjson": (read_ndjson, reparse_ndjson),
    "xlsx": (read_xlsx, reparse_json_object),
    "parquet": (read_parquet, reparse_json_object),
    "sql": (read_sql, reparse_json_object),
}


def reader_for(format_type: str) -> Reader:
    return _entry(format_type)[0]


def reparser_for(format_type: str) -> Reparser:
    return _entry(format_type)[1]


def _entry(format_type: str) -> tuple[Reader, Reparser]:
    try:
        return READERS[format_type]
    except KeyError:
        raise MappingError(
            f"format {format_type!r} has no reader in this version of Nexo",
            hint=f"supported: {', '.join(sorted(READERS))}",
        ) from None


__all__ = ["READERS", "RawRow", "ReadInfo", "Reader", "Reparser", "reader_for", "reparser_for"]
