"""Steps and reference data: identifier checks, built-in ISCO-08, flags that become findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.mapper import RowMapper
from nexo.adapters.service import ingest_file
from nexo.adapters.spec import Mapping, load_mapping
from nexo.adapters.tables import IngestFindingRow
from nexo.store.engine import transaction
from nexo.store.tables import EmploymentEpisodeRow


def _mapping(tmp_path: Path, fields: dict[str, Any], **top: Any) -> Mapping:
    spec = {
        "name": "t", "version": "1", "agency": "employment", "source": "episodes",
        "format": {"type": "csv"}, "record_id": "ID",
        "entities": [{"type": "employment_episode", "fields": {
            "person_record_id": "ID",
            "start_date": {"from": "START", "steps": [{"date": "%Y-%m-%d"}], "required": True},
            **fields}}],
        **top,
    }  # fmt: skip
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return load_mapping(path)


def _map(mapping: Mapping, rows: list[dict[str, str | None]]) -> list[Any]:
    out = []
    for result in RowMapper(mapping).map_rows(rows):
        if result.entities is None:
            out.append([(r.code, r.field) for r in result.reasons])
        else:
            e = result.entities[0].entity
            out.append(
                (e.model_dump(exclude_none=True), [(f.code, f.field) for f in result.findings])
            )
    return out


def test_check_digit_validates_and_normalises(tmp_path: Path) -> None:
    checks = {
        "employer_id": {"from": "RUT", "steps": [{"check_digit": "cl-run"}]},
        "employer_name": {
            "from": "CARD",
            "steps": [{"check_digit": {"scheme": "luhn", "on_invalid": "null"}}],
        },
    }
    base = {"ID": "1", "START": "2020-01-01"}
    rows = [
        base | {"RUT": "12.345.678-5", "CARD": "4111 1111 1111 1111"},
        base | {"RUT": "12.345.678-4", "CARD": "4111 1111 1111 1112"},
        base | {"RUT": "", "CARD": "4111-1111-1111-1112"},
    ]
    got = _map(_mapping(tmp_path, checks), rows)
    assert got[0][0]["employer_id"] == "123456785"
    assert got[0][0]["employer_name"] == "4111111111111111"
    assert got[1] == [("invalid_check_digit", "employer_id")]
    assert "employer_name" not in got[2][0] and "employer_id" not in got[2][0]


def test_flagged_check_digits_and_codes_are_findings(tmp_path: Path) -> None:
    fields = {
        "employer_id": {
            "from": "TAX_ID",
            "steps": [{"check_digit": {"scheme": "de-steuer-id", "on_invalid": "flag"}}],
        },
        "occupation": {
            "from": "OCC",
            "steps": ["trim", {"lookup": {"table": "isco08", "unknown": "flag"}}],
        },
        "contract_type": {"from": "KIND", "steps": [{"code_list": {"P": "permanent"}}]},
    }
    base = {"ID": "1", "START": "2020-01-01", "KIND": "P"}
    rows = [
        base | {"TAX_ID": "12345678911", "OCC": " 2512"},
        base | {"TAX_ID": "12345678912", "OCC": "9999"},
        base | {"TAX_ID": "12345678911", "OCC": "2512", "KIND": "Z"},
    ]
    got = _map(_mapping(tmp_path, fields), rows)
    assert got[0] == (
        {"start_date": got[0][0]["start_date"], "person_record_id": "1",
         "employer_id": "12345678911", "occupation": "2512", "contract_type": "permanent"},
        [],
    )  # fmt: skip
    assert got[1][0]["employer_id"] == "12345678912"  # kept, but flagged
    assert "occupation" not in got[1][0]  # an unknown code flagged is left empty
    assert got[1][1] == [("invalid_check_digit", "employer_id"), ("unknown_code", "occupation")]
    assert got[2] == [("unknown_code", "contract_type")]  # reject is the default


def test_builtin_isco_lookup_rejects_unknown_codes(tmp_path: Path) -> None:
    fields = {"occupation": {"from": "OCC", "steps": [{"lookup": "isco08_unit"}]}}
    base = {"ID": "1", "START": "2020-01-01"}
    got = _map(_mapping(tmp_path, fields), [base | {"OCC": "2512"}, base | {"OCC": "25"}])
    assert got[0][0]["occupation"] == "2512"
    assert got[1] == [("unknown_code", "occupation")]


def test_findings_are_stored_once(factory: sessionmaker[Session], tmp_path: Path) -> None:
    fields = {
        "occupation": {"from": "OCC", "steps": [{"lookup": {"table": "isco08", "unknown": "flag"}}]}
    }
    path = tmp_path / "episodes.csv"
    path.write_text("ID,START,OCC\n1,2020-01-01,2512\n2,2020-01-01,0000\n", encoding="utf-8")
    mapping = _mapping(tmp_path, fields)
    report = ingest_file(factory, mapping, path)
    assert (report.stored, report.findings_by_reason) == (2, {"unknown_code": 1})
    ingest_file(factory, mapping, path)  # the same file again adds no finding
    with transaction(factory) as s:
        findings = s.scalars(select(IngestFindingRow)).all()
        assert [(f.record_id, f.field, f.code, f.row_number) for f in findings] == [
            ("2", "occupation", "unknown_code", 2)
        ]
        assert "'0000' is not in code list isco08" in findings[0].message
        stored = s.scalars(select(EmploymentEpisodeRow.occupation).order_by("record_id")).all()
        assert stored == ["2512", None]


# ------------------------------------------------------------------ chunks


_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "2020-01-02", "31/12/1999", "P", "Z", "1.234,5", "x", "Ñandú"]),
    st.text(max_size=12),
)
_ROW = st.fixed_dictionaries(
    {k: _TEXT for k in ("ID", "START", "END", "KIND", "WAGE", "OCC", "NAME", "FLAG")}
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, min_size=1, max_size=12))
def test_a_chunk_maps_like_its_rows_one_by_one(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    fields = {
        "end_date": {"from": "END",
                     "steps": ["trim", {"date": {"formats": ["%Y-%m-%d", "%d/%m/%Y"]}}]},
        "contract_type": {"from": "KIND", "steps": ["upper", {"code_list": {"P": "permanent"}}],
                          "when": {"column": "FLAG", "not_empty": True}},
        "monthly_wage": {"from": "WAGE", "steps": [{"number": {"decimal": ",", "thousands": "."}}]},
        "occupation": {"from": "OCC",
                       "steps": [{"lookup": {"table": "isco08", "unknown": "flag"}}]},
        "employer_name": {"from": ["NAME", "KIND"], "steps": [{"join": " "}, "title"],
                          "default": "unknown"},
        "currency": {"value": "CLP"},
    }  # fmt: skip
    mapper = RowMapper(
        _mapping(tmp_path, fields, updated_on={"from": "START", "steps": [{"date": "%Y-%m-%d"}]})
    )

    def flat(results: list[Any]) -> list[Any]:
        return [
            (
                [(m.entity_type, m.record_id, m.entity, m.updated_on) for m in r.entities or []],
                r.reasons,
                r.findings,
            )
            for r in results
        ]

    together = flat(mapper.map_rows(rows))
    alone = [flat(mapper.map_rows([row]))[0] for row in rows]
    assert together == alone
