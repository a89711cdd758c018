"""Staged person batches (``store/staging.py``): read back as they were, written as the batch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from store_helpers import write_persons

from nexo.model import EntityType, Identifier, IdentifierScheme, Person, Sex
from nexo.store.engine import make_engine, session_factory
from nexo.store.migrate import upgrade
from nexo.store.repository import PERSON_COLUMNS, NewRecord, PersonBatch
from nexo.store.staging import PersonColumns, stage

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# text SQLite and Arrow must carry unchanged: quotes, NUL, non-BMP, lone surrogates excluded
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_IDENT = st.tuples(_TEXT, _TEXT, st.booleans(), st.booleans())


@st.composite
def batches(draw: st.DrawFn) -> PersonBatch:
    n = draw(st.integers(0, 12))
    column = st.lists(st.none() | _TEXT, min_size=n, max_size=n)
    return PersonBatch(
        draw(st.lists(_TEXT, min_size=n, max_size=n)),
        draw(st.lists(_TEXT, min_size=n, max_size=n)),
        draw(st.lists(_TEXT, min_size=n, max_size=n)),
        [draw(column) for _ in PERSON_COLUMNS],
        [tuple(i) for i in draw(st.lists(st.lists(_IDENT, max_size=3), min_size=n, max_size=n))],
    )


@settings(max_examples=60, deadline=None)
@given(batches())
def test_a_staged_batch_reads_back_as_it_was(batch: PersonBatch) -> None:
    staged = stage(batch)
    assert staged.load() == batch
    staged.discard()
    assert not Path(staged.path).exists()
    assert staged.size == len(batch)
    assert staged.identifiers == sum(len(i) for i in batch.identifiers)
    assert staged.unique == (len(set(batch.record_ids)) == len(batch))


def _person(i: int, family: str) -> NewRecord:
    person = Person(
        given_names=f"Ana {i}",
        family_name=family,
        birth_date=date(1990, 1, 1 + i % 28) if i % 3 else None,
        sex=Sex.FEMALE if i % 2 else None,
        identifiers=(
            Identifier(scheme=IdentifierScheme.CL_RUN, value="123456785"),
            Identifier(scheme=IdentifierScheme.AGENCY, value=f"A-{i}"),
        )
        if i % 4
        else (),
    )
    return NewRecord.of(EntityType.PERSON, f"R{i}", person)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["clean", "row-wise", "quarantined"]), max_size=14))
def test_column_wise_persons_merged_with_row_wise_ones_stage_in_input_order(
    kinds: list[str],
) -> None:
    """A chunk's clean rows come as Arrow tables, the records of rows mapped row-wise are
    merged in at their places: staged, the batch is the one the rows make in input order."""
    records = [_person(i, "Rojas") for i in range(len(kinds))]
    want, clean = PersonBatch(), PersonBatch()
    for kind, record in zip(kinds, records, strict=True):
        if kind != "quarantined":
            want.append(record)
        if kind == "clean":
            clean.append(record)
    others = [(k, r) for k, (kind, r) in enumerate(zip(kinds, records, strict=True))
              if kind == "row-wise"]  # fmt: skip
    merged = PersonColumns.of(clean).merged([k == "clean" for k in kinds], others)
    staged = stage(merged)
    assert staged.load() == want
    staged.discard()
    assert (staged.size, staged.identifiers) == (len(want), sum(map(len, want.identifiers)))
    assert staged.first_hash == (want.hashes[0] if len(want) else "")


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))]
            for t in ("source_record", "person_record", "person_identifier")
        }


def test_a_staged_batch_writes_what_the_batch_writes(tmp_path: Path) -> None:
    """The same batches into two SQLite stores, one as they are and one staged: new persons
    (copied from the image), a batch with a known record (the general path), the same batch
    again (nothing new), and one with a record twice. The stores end equal, row for row."""
    writes = [
        [_person(i, "Rojas") for i in range(40)],
        [_person(i, "Soto") for i in range(40, 50)] + [_person(3, "Soto")],
        [_person(i, "Soto") for i in range(40, 50)] + [_person(3, "Soto")],
        [_person(60, "Díaz"), _person(61, "Díaz"), _person(60, "Muñoz")],
    ]
    stores = []
    for name, staged in (("plain", False), ("staged", True)):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        factory = session_factory(engine)
        written = []
        for records in writes:
            result = write_persons(factory, T0, records, staged=staged)
            written.append((result.written, result.unchanged))
        stores.append((written, _dump(engine)))
        engine.dispose()
    (plain_written, plain), (staged_written, staged_rows) = stores
    assert plain_written == staged_written == [(40, 0), (11, 0), (0, 11), (3, 0)]
    assert staged_rows == plain
    # every current person's two identifiers (R60's last version has none)
    assert len(plain["person_identifier"]) == 2 * sum(1 for i in [*range(50), 61] if i % 4)
