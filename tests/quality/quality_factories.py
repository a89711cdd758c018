"""Factories for quality tests: frames shaped like the store's typed tables, records in a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from nexo.model import Address, EntityType, Identifier, IdentifierScheme, Person, Sex
from nexo.model.identifier import run_check_digit
from nexo.quality.frames import Frames, RawFrames, prepare
from nexo.quality.repository import _polars_type
from nexo.store import projection
from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, RecordRepository

REF = date(2026, 6, 30)
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
_pk = count(1)


def run(body: str) -> str:
    """A valid Chilean RUN for a numeric body."""
    return body + run_check_digit(body)


def table(entity: EntityType, rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """A frame with exactly the columns and types the store's table for ``entity`` has."""
    cols = [c for c in projection.TABLES[entity].__table__.c if c.name != "source_record_pk"]
    schema = {c.name: _polars_type(c) for c in cols}
    full = [{name: row.get(name) for name in schema} for row in rows]
    return pl.DataFrame(full, schema=schema, orient="row")


def person_row(record_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": next(_pk),
        "agency": "social",
        "source": "beneficiaries",
        "record_id": record_id,
        "given_names": "Ana María",
        "family_name": "Rojas",
        "second_family_name": "Soto",
        "birth_date": date(1990, 5, 17),
        "sex": "female",
        "address_line": "Calle Esmeralda 12",
        "admin_area_code": "13101",
        "source_updated_on": date(2026, 1, 10),
    }
    return base | fields


def make_frames(
    tables: dict[EntityType, list[dict[str, Any]]],
    *,
    ids: dict[int, str | None] | None = None,
    links: Sequence[tuple[str, str, str, str]] = (),
    reference_date: date = REF,
) -> Frames:
    """Frames as a run sees them; ``ids`` maps a person's pk to its RUN (bad ones allowed)."""
    from nexo.model.identifier import is_valid_identifier

    identifiers = [
        {
            "person_pk": pk,
            "scheme": "cl-run",
            "value": v,
            "verified": False,
            "check_digit_ok": is_valid_identifier(IdentifierScheme.CL_RUN, v),
        }
        for pk, v in (ids or {}).items()
        if v is not None
    ]
    raw = RawFrames(
        {e: table(e, rows) for e, rows in tables.items()},
        pl.DataFrame(
            identifiers,
            schema={
                "person_pk": pl.Int64,
                "scheme": pl.String,
                "value": pl.String,
                "verified": pl.Boolean,
                "check_digit_ok": pl.Boolean,
            },
            orient="row",
        ),
        pl.DataFrame(
            list(links),
            schema={
                "agency": pl.String,
                "source": pl.String,
                "record_id": pl.String,
                "person_id": pl.String,
            },
            orient="row",
        ),
        pl.DataFrame(schema={"person_id": pl.String, "merged_into": pl.String}),
    )
    return prepare(raw, reference_date)


def person(
    given: str = "Ana María",
    family: str = "Rojas",
    birth: date | None = date(1990, 5, 17),
    national_id: str | None = None,
) -> Person:
    idents = (Identifier(scheme=IdentifierScheme.CL_RUN, value=national_id),) if national_id else ()
    return Person(
        given_names=given,
        family_name=family,
        second_family_name="Soto",
        birth_date=birth,
        sex=Sex.FEMALE,
        identifiers=idents,
        address=Address(line="Calle Esmeralda 12", locality="Valparaíso", admin_area_code="5101"),
    )


def store_records(
    factory: sessionmaker[Session],
    agency: str,
    source: str,
    records: Sequence[tuple[EntityType, str, Any, date | None]],
    batch: str = "b1",
) -> None:
    with transaction(factory) as s:
        RecordRepository(s).write(
            agency=agency,
            source=source,
            batch_id=batch,
            mapping_version="test",
            received_at=NOW,
            records=[NewRecord.of(e, rid, entity, updated) for e, rid, entity, updated in records],
        )
