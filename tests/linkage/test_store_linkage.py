"""Linkage on the store: deterministic pass, swaps, transpositions, households, stable ids."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from town import FAST, TOWN, Put, person, run_id

from nexo.linkage.domain import RecordKey
from nexo.linkage.repository import MpiRepository
from nexo.linkage.service import run_linkage
from nexo.linkage.tables import MpiEventRow, MpiGoldenRow, MpiPersonRow
from nexo.model import Person
from nexo.store.engine import transaction


def _person_of(factory: sessionmaker[Session]) -> dict[str, str]:
    with transaction(factory) as s:
        links = MpiRepository(s).links()
    return {k.record_id: v[1] for k, v in links.items()}


def _methods(factory: sessionmaker[Session]) -> dict[str, str]:
    with transaction(factory) as s:
        return {k.record_id: v[3] for k, v in MpiRepository(s).links().items()}


def _load_town(put: Put) -> None:
    for agency, source, rid, p in TOWN:
        put(agency, source, rid, p)


def test_town_is_linked_into_the_right_persons(factory: sessionmaker[Session], put: Put) -> None:
    _load_town(put)
    summary = run_linkage(factory, settings=FAST)
    pid = _person_of(factory)
    assert pid["B1"] == pid["E1"]  # same verified identifier
    assert pid["B2"] == pid["E2"]  # given and family names swapped, no identifier
    assert pid["E3"] == pid["B5"]  # day and month of birth transposed, no identifier
    household = {pid["B1"], pid["B2"], pid["B3"], pid["B4"]}
    assert len(household) == 4  # father, son with his first name, twins: four persons
    assert len({pid["E4"], pid["B1"], pid["B2"], pid["E3"]}) == 4
    assert summary.persons == 6 and summary.records == 9
    assert summary.model_source == "built-in"


def test_deterministic_pass_links_verified_identifiers_whatever_else_differs(
    factory: sessionmaker[Session], put: Put
) -> None:
    nid = run_id(12345678)
    put(
        "social",
        "beneficiaries",
        "S1",
        person("Marta", "Lagos", "Fuentes", date(1960, 1, 2), "female", nid=nid, verified=True),
    )
    put(
        "employment",
        "jobseekers",
        "J1",
        person(  # re-registered under another name
            "Marta Inés", "Ibáñez", None, date(1961, 9, 9), "female", nid=nid, verified=True
        ),
    )
    put("employment", "jobseekers", "J2", person(  # everything equal but a verified other id
        "Marta", "Lagos", "Fuentes", date(1960, 1, 2), "female", nid=run_id(12345679),
        verified=True))  # fmt: skip
    run_linkage(factory, settings=FAST)
    pid, method = _person_of(factory), _methods(factory)
    assert pid["S1"] == pid["J1"]
    assert method["S1"] == method["J1"] == "deterministic"
    assert pid["J2"] != pid["S1"]
    assert method["J2"] == "singleton"


def test_rerun_and_incremental_load_never_renumber_persons(
    factory: sessionmaker[Session], put: Put
) -> None:
    first, later = TOWN[:5], TOWN[5:]
    for agency, source, rid, p in first:
        put(agency, source, rid, p)
    run_linkage(factory, settings=FAST)
    before = _person_of(factory)
    run_linkage(factory, settings=FAST)
    assert _person_of(factory) == before  # a rerun changes nothing
    for agency, source, rid, p in later:  # the employment service's next export
        put(agency, source, rid, p)
    summary = run_linkage(factory, settings=FAST)
    after = _person_of(factory)
    assert {k: after[k] for k in before} == before
    assert after["E2"] == before["B2"]  # a new record joins an existing person
    assert summary.created == 2  # Camila and José Luis are new persons
    with transaction(factory) as s:
        kinds = [k for (k,) in s.execute(select(MpiEventRow.kind))]
    assert kinds.count("created") == 6 and "merged" not in kinds and "split" not in kinds


def test_merge_and_split_are_recorded(factory: sessionmaker[Session], put: Put) -> None:
    nid = run_id(16000001)
    put(
        "social",
        "beneficiaries",
        "S1",
        person("Rosa", "Pino", "Araya", date(1970, 6, 6), "female", nid=nid, verified=True),
    )
    put(
        "employment",
        "jobseekers",
        "J1",
        person(  # too little in common to link yet
            "Rosa Elena", "Pino", None, date(1971, 9, 12), None
        ),
    )
    put(
        "employment",
        "jobseekers",
        "J2",
        person(
            "Luis", "Tapia", "Rojas", date(1980, 1, 1), "male", nid=run_id(16000002), verified=True
        ),
    )
    put("social", "beneficiaries", "S2", person(
        "Luis", "Tapia", "Rojas", date(1980, 1, 1), "male", nid=run_id(16000002),
        verified=True))  # fmt: skip
    run_linkage(factory, settings=FAST)
    one = _person_of(factory)
    assert one["S1"] != one["J1"] and one["J2"] == one["S2"]
    # corrections arrive: J1 now carries Rosa's verified id; S2 gets its own, different id
    put(
        "employment",
        "jobseekers",
        "J1",
        person("Rosa Elena", "Pino", None, date(1971, 9, 12), None, nid=nid, verified=True),
    )
    put("social", "beneficiaries", "S2", person(
        "Luis", "Tapia", "Rojas", date(1980, 1, 1), "male", nid=run_id(16000003),
        verified=True))  # fmt: skip
    summary = run_linkage(factory, settings=FAST)
    two = _person_of(factory)
    assert two["S1"] == two["J1"] and two["J2"] != two["S2"]
    assert summary.merged == 1 and summary.split == 1
    survivor, gone = two["S1"], ({one["S1"], one["J1"]} - {two["S1"]}).pop()
    with transaction(factory) as s:
        repo = MpiRepository(s)
        assert repo.resolve(gone) == survivor
        assert s.get(MpiPersonRow, gone).status == "merged"  # type: ignore[union-attr]
        events = {(e.kind, e.person_id, e.other_person_id) for e in s.scalars(select(MpiEventRow))}
        assert ("merged", gone, survivor) in events
        assert ("split", one["S2"], two["S2"]) in events or (
            "split",
            one["J2"],
            two["S2"],
        ) in events
        assert repo.person_of(RecordKey("employment", "jobseekers", "J1")) == survivor


def test_golden_record_takes_each_field_by_its_rule(
    factory: sessionmaker[Session], put: Put
) -> None:
    _load_town(put)
    run_linkage(factory, settings=FAST)
    pid = _person_of(factory)
    with transaction(factory) as s:
        golden = s.get(MpiGoldenRow, pid["E3"])
        assert golden is not None
        record, prov = golden.record, golden.provenance
    # Camila: the verified identifier comes from the employment record E3, the birth date
    # is a tie broken by the record with the verified identifier
    assert record["identifiers"][0]["verified"] is True
    assert prov["identifier"]["record_id"] == "E3"
    assert record["birth_date"] == "1990-03-08"
    assert prov["birth_date"]["rule"] == "verified identifier"
    # both records have no update date: the address comes from the more trusted source
    assert record["address"]["line"] == "Av. Brasil 120"
    assert prov["address"] == {
        "agency": "social",
        "source": "beneficiaries",
        "record_id": "B5",
        "rule": "source trust",
        "updated_on": None,
    }
    assert Person.model_validate(record).family_name == "González"
