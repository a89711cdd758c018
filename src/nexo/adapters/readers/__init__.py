"""Source-format readers, one file each, behind the ``Reader`` interface."""

from __future__ import annotations

from nexo.adapters.readers.base import RawRow, Reader
from nexo.adapters.readers.csv_reader import read_csv
from nexo.adapters.readers.fixed_width import read_fixed_width
from nexo.adapters.readers.xml_reader import read_xml
from nexo.errors import MappingError

READERS: dict[str, Reader] = {
    "csv": read_csv,
    "fixed_width": read_fixed_width,
    "xml": read_xml,
}


def reader_for(format_type: str) -> Reader:
    try:
        return READERS[format_type]
    except KeyError:
        raise MappingError(
            f"format {format_type!r} has no reader in this version of Nexo",
            hint=f"supported: {', '.join(sorted(READERS))}",
        ) from None


__all__ = ["READERS", "RawRow", "Reader", "reader_for"]
