"""Single-record matching: the index in memory, the trained model's parameters."""

from __future__ import annotations

import inspect
from datetime import date

from sqlalchemy.orm import Session, sessionmaker
from town import FAST, TOWN, Put, person, run_id

from nexo.linkage.domain import Demographics, MatchCandidate, RecordKey
from nexo.linkage.model import adapt_prior
from nexo.linkage.online import Matcher
from nexo.linkage.service import default_model, run_linkage
from nexo.model import Person


def _town_matcher() -> Matcher:
    records = [Demographics.of(RecordKey(a, s, r), p) for a, s, r, p in TOWN]
    persons = {"B1": "F", "E1": "F", "B2": "S", "E2": "S", "B3": "T1", "B4": "T2", "E3": "C",
               "B5": "C", "E4": "J"}  # fmt: skip
    return Matcher.from_records(
        adapt_prior(default_model(), len(records)),
        records,
        [persons[d.key.record_id] for d in records],
    )


def test_the_interface_the_api_calls_is_stable() -> None:
    sig = inspect.signature(Matcher.match)
    assert list(sig.parameters) == ["self", "person", "top_k"]
    assert sig.parameters["top_k"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["top_k"].default == 5
    fields = MatchCandidate.__dataclass_fields__
    assert {"person_id", "probability", "record", "evidence"} <= set(fields)


def test_a_typed_again_record_finds_its_person_with_evidence() -> None:
    matcher = _town_matcher()
    query = person("Camila Andrea", "Gonzales", "Muñoz", date(1990, 3, 8), "female",
                   phone="+56955550101")  # fmt: skip
    [best, *_] = matcher.match(query, top_k=3)
    assert best.person_id == "C" and best.probability > 0.99
    assert best.record.record_id in {"E3", "B5"}
    assert best.evidence["birth_date"] > 5 and best.evidence["contact"] > 5
    assert best.evidence["national_id"] == 0.0  # missing: no evidence either way


def test_a_household_member_is_not_offered_for_another() -> None:
    matcher = _town_matcher()
    # the twin without an identifier: her sister is never a candidate
    query = person("Sofía", "Vera", "Soto", date(2010, 5, 6), "female",
                   address="Calle Pedro Montt 1831")  # fmt: skip
    found = matcher.match(query)
    assert found and found[0].person_id == "T2"
    assert "T1" not in {c.person_id for c in found}
    # the son's verified identifier rules out his father, whatever else agrees
    son = person("Miguel", "Vera", "Soto", date(2003, 4, 15), "male", nid=run_id(26089769),
                 verified=True)  # fmt: skip
    assert [c.person_id for c in matcher.match(son)][:1] == ["S"]
    assert "F" not in {c.person_id for c in matcher.match(son)}


def test_top_k_persons_best_first(factory: sessionmaker[Session], put: Put) -> None:
    for agency, source, rid, p in TOWN:
        put(agency, source, rid, p)
    run_linkage(factory, settings=FAST)
    matcher = Matcher.from_store(factory)
    assert len(matcher) == len(TOWN)
    query = Person.model_validate({"given_names": "Miguel", "family_name": "Vera",
                                   "birth_date": "1978-02-03"})  # fmt: skip
    found = matcher.match(query, top_k=2)
    assert 1 <= len(found) <= 2
    assert [c.probability for c in found] == sorted((c.probability for c in found), reverse=True)
    assert len({c.person_id for c in found}) == len(found)
