"""``nexo link file``: dedupe one, or link two, person CSV files — no store involved.

Reads Nexo's person CSV (``docs/formats/person-csv.md``), runs the same pipeline as the store's
linkage (deterministic pass, Fellegi–Sunter model, constrained clustering) and writes
``record_id, source, person_id, match_probability``. With two files, records are linked across
the files and duplicates within each file are found as well.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from nexo.adapters.person_csv import read_person_csv
from nexo.config import LinkageSettings, get_settings
from nexo.errors import UsageError
from nexo.linkage import batch, frame
from nexo.linkage.backend import make_backend
from nexo.linkage.domain import Demographics, RecordKey
from nexo.linkage.model import adapt_prior
from nexo.model.identifier import IdentifierScheme, is_valid_identifier, normalise_identifier

FILE_AGENCY = "file"
_SEX = {"f": "female", "female": "female", "m": "male", "male": "male", "other": "other"}


@dataclass
class FileLinkSummary:
    records: int
    persons: int
    linked_records: int  # records that share their person with another record
    model_source: str
    problems: list[str] = field(default_factory=list)  # values that could not be read


def _scheme(value: str | None) -> IdentifierScheme:
    try:
        return IdentifierScheme(value or IdentifierScheme.OTHER.value)
    except ValueError:
        known = ", ".join(s.value for s in IdentifierScheme)
        raise UsageError(f"unknown identifier scheme {value!r}", hint=f"one of: {known}") from None


def _date(text: str | None, where: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{where}: birth_date {text!r} is not an ISO date (YYYY-MM-DD)")
        return None


def read_person_files(
    paths: Sequence[Path], *, id_scheme: str | None = None
) -> tuple[list[Demographics], list[str]]:
    """Records of person CSV files, and the values that could not be read."""
    scheme = _scheme(id_scheme)
    records: list[Demographics] = []
    problems: list[str] = []
    seen: dict[RecordKey, str] = {}
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path} does not exist", hint="give a person CSV file")
        for n, row in enumerate(read_person_csv(path), start=2):
            rid = row["record_id"]
            where = f"{path.name} line {n}"
            if not rid:
                raise UsageError(f"{where} has no record_id", hint="every row needs a record_id")
            key = RecordKey(FILE_AGENCY, row["source"] or path.stem, rid)
            if key in seen:
                raise UsageError(
                    f"{where}: record_id {rid!r} of source {key.source!r} appears twice "
                    f"(first in {seen[key]})",
                    hint="record ids must be unique within a source; fill the source column",
                )
            seen[key] = where
            nid = row["national_id"]
            value = normalise_identifier(scheme, nid) if nid else None
            sex = _SEX.get((row["sex"] or "").lower())
            records.append(
                Demographics(
                    key=key,
                    given_names=row["given_name"],
                    family_name=row["family_name"],
                    second_family_name=row["second_family_name"],
                    birth_date=_date(row["birth_date"], where, problems),
                    sex=sex,
                    id_scheme=scheme.value if value else None,
                    id_value=value,
                    id_check_ok=bool(value and is_valid_identifier(scheme, value)),
                    address_line=row["address"],
                    postcode=row["postcode"],
                    locality=row["locality"],
                    region=row["region"],
                )
            )
    return records, problems


def link_files(
    paths: Sequence[Path],
    out: Path,
    *,
    id_scheme: str | None = None,
    backend: str | None = None,
    settings: LinkageSettings | None = None,
    model: dict[str, Any] | None = None,
) -> FileLinkSummary:
    from nexo.linkage.service import MIN_TRAIN_RECORDS, default_model, thresholds_of, training_of

    if not 1 <= len(paths) <= 2:
        raise UsageError("give one file to dedupe or two to link", hint="nexo link file A [B]")
    cfg = settings or get_settings().linkage
    records, problems = read_person_files(paths, id_scheme=id_scheme)
    if not records:
        raise UsageError("the input has no records", hint="see docs/formats/person-csv.md")
    source = "given" if model is not None else "trained"
    if model is None and len(records) < MIN_TRAIN_RECORDS:
        model, source = adapt_prior(default_model(), len(records)), "built-in"
    table = frame.to_table(frame.raw_table(records))
    engine = make_backend(backend or cfg.backend)
    thresholds = thresholds_of(cfg)
    try:
        scored = batch.score(
            table, engine, thresholds=thresholds, model=model, training=training_of(cfg)
        )
    finally:
        engine.close()
    clustering = batch.cluster_table(table, scored, thresholds=thresholds)
    numbers: dict[int, str] = {}
    for label in clustering.labels:
        numbers.setdefault(label, f"P{len(numbers) + 1:06d}")
    try:
        with out.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["record_id", "source", "person_id", "match_probability"])
            for i, d in enumerate(records):
                writer.writerow(
                    [
                        d.key.record_id,
                        d.key.source,
                        numbers[clustering.labels[i]],
                        f"{clustering.probabilities[i]:.6f}",
                    ]
                )
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror}", hint="choose a writable path") from e
    sizes: dict[int, int] = {}
    for label in clustering.labels:
        sizes[label] = sizes.get(label, 0) + 1
    return FileLinkSummary(
        records=len(records),
        persons=len(numbers),
        linked_records=sum(1 for label in clustering.labels if sizes[label] > 1),
        model_source=source,
        problems=problems,
    )
