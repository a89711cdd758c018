"""Batch and single-record matching normalise every record identically."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexo.adapters.mapper import RowMapper, RowRejected
from nexo.adapters.readers import reader_for
from nexo.adapters.readers.base import ReadInfo
from nexo.adapters.spec import load_mapping
from nexo.demo.service import DEMO_INPUTS, example_mapping
from nexo.linkage import frame
from nexo.linkage import normalise as norm
from nexo.linkage.domain import Demographics, RecordKey
from nexo.model import EntityType
from nexo.synth.domain import SynthConfig
from nexo.synth.locale import mapping_params
from nexo.synth.service import generate


def country_records(folder: Path, locale: str) -> list[Demographics]:
    """The person records of both agencies of a synthetic country, as linkage reads them."""
    params = mapping_params(locale)
    out: list[Demographics] = []
    for name in ("employment-jobseekers", "social-beneficiaries"):
        mapping = load_mapping(example_mapping(name), params[name])
        mapper = RowMapper(mapping)
        fmt = mapping.spec.format
        for row in reader_for(fmt.type)(
            folder / DEMO_INPUTS[name], fmt, mapper.columns, ReadInfo()
        ):
            try:
                mapped = mapper(row.values)
            except RowRejected:
                continue
            for m in mapped:
                if m.entity_type is EntityType.PERSON:
                    key = RecordKey(mapping.spec.agency, mapping.spec.source, m.record_id)
                    out.append(Demographics.of(key, m.entity, m.updated_on))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("locale", ["cl", "de", "kr"])
def test_vectorised_columns_equal_single_record_columns(tmp_path: Path, locale: str) -> None:
    generate(SynthConfig(persons=400, seed=5, locale=locale), tmp_path / locale)
    records = country_records(tmp_path / locale, locale)
    table = frame.to_table(frame.raw_table(records))
    placeholders = frame.placeholders_of(table)
    assert locale != "kr" or placeholders["email"]  # Hangul names make no e-mail names
    for i, (row, d) in enumerate(zip(table.to_pylist(), records, strict=True)):
        expected = frame.features(d, i)
        for col, values in placeholders.items():
            if expected[col] in values:
                expected[col] = None
        assert row == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aábcçdeéfghiíjklmnñoóöpqrsßtuúüvwxyzAÁBCÑOÖ 019-.'", max_size=30))
def test_name_normalisation_is_the_same_per_value_and_per_column(text: str) -> None:
    d = Demographics(RecordKey("a", "s", "1"), given_names=text, family_name=text)
    [row] = frame.to_table(frame.raw_table([d])).to_pylist()
    assert row == frame.features(d, 0)


def test_names_addresses_and_dates_are_normalised_for_comparison() -> None:
    assert norm.name("  MARÍA-José  0rtiz ") == "maria jose ortiz"  # OCR 0 for O
    assert norm.phonetic("jimenez") == norm.phonetic("gimenez")
    assert norm.phonetic("vasquez") == norm.phonetic("vasques")
    assert norm.address("Psje. Los Olmos 45") == norm.address("pasaje los olmos 45")
    assert norm.phone("+56 9 2917 0955") == norm.phone("929170955")
    assert norm.transposed(date(1990, 3, 8)) == "1990-08-03"
    assert norm.transposed(date(1990, 3, 13)) is None  # no 13th month
    assert unicodedata.normalize("NFC", norm.name("김민준") or "") == "김민준"  # Hangul kept


def test_shared_placeholder_values_are_not_personal() -> None:
    records = [
        Demographics(RecordKey("a", "s", str(i)), given_names=f"N{i}", email="user@mail.example")
        for i in range(frame.SHARED_LIMIT + 1)
    ]
    table = frame.to_table(frame.raw_table(records))
    assert table.column("email").null_count == table.num_rows
