"""Nexo's canonical person CSV: the one file format persons are exchanged in.

UTF-8 with a header row; columns (all optional but ``record_id``; unknown columns ignored):
``record_id, source, given_name, family_name, second_family_name, birth_date`` (ISO 8601),
``sex`` (female, male, other, unknown), ``national_id, address, postcode, locality, region``.
See ``docs/formats/person-csv.md``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from nexo.errors import UsageError

PERSON_CSV_COLUMNS = (
    "record_id", "source", "given_name", "family_name", "second_family_name", "birth_date",
    "sex", "national_id", "address", "postcode", "locality", "region",
)  # fmt: skip


def read_person_csv(path: Path) -> Iterator[dict[str, str | None]]:
    """Rows with every canonical column present (empty cells and missing columns are None)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        if "record_id" not in header:
            raise UsageError(
                f"{path} is not a person CSV: it has no record_id column",
                hint="see docs/formats/person-csv.md for the columns",
            )
        reader.fieldnames = header
        for row in reader:
            yield {c: (row.get(c) or "").strip() or None for c in PERSON_CSV_COLUMNS}


def write_person_csv(path: Path, rows: Iterable[Mapping[str, object]]) -> int:
    """Write rows (extra keys are dropped, missing ones left empty); returns the row count."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PERSON_CSV_COLUMNS)
        for row in rows:
            writer.writerow(
                ["" if row.get(c) is None else str(row.get(c)) for c in PERSON_CSV_COLUMNS]
            )  # noqa: E501
            n += 1
    return n
