"""The two agencies' registries: who each agency knows, and the (imperfect) records it keeps."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from nexo.model.codes import ParticipationStatus, ProgrammeType, Relationship
from nexo.synth.corrupt import Corrupter, PersonRecord, typo
from nexo.synth.domain import ErrorClass, InjectedError, TrueHousehold, TruePerson
from nexo.synth.life import Enrolment, Episode, Life, Participation
from nexo.synth.occupation import national_codes

EMPLOYMENT, SOCIAL = "employment", "social"


@dataclass(slots=True)
class EmploymentRegistry:
    jobseekers: list[PersonRecord] = field(default_factory=list)
    #: (episode id, client id, episode, national occupation code)
    episodes: list[tuple[str, str, Episode, str]] = field(default_factory=list)
    participations: list[tuple[str, str, Participation]] = field(default_factory=list)


@dataclass(slots=True)
class SocialRegistry:
    beneficiaries: list[PersonRecord] = field(default_factory=list)
    events: list[tuple[str, str, date, dict[str, object]]] = field(default_factory=list)


def _national_occupation(isco: str, rng: random.Random) -> str:
    return rng.choice(national_codes()[isco])[0]


def _record(
    agency: str,
    source: str,
    rid: str,
    p: TruePerson,
    hh: TrueHousehold,
    verified: bool,
    last_update: date,
) -> PersonRecord:
    return PersonRecord(
        agency=agency,
        source=source,
        record_id=rid,
        pid=p.pid,
        given_names=p.given_names,
        family_name=p.family_name,
        second_family_name=p.second_family_name,
        birth_date=p.birth_date,
        female=p.female,
        national_id=p.national_id,
        id_verified=verified,
        address=hh.address,
        phone=p.phone,
        email=p.email,
        last_update=last_update,
    )


REFRESH_DAYS = 540
"""Agencies refresh their clients' records (recertification, civil-registry sync) at least this
often; only records hit by ``stale_record`` are older."""


def _last_update(touched: date, as_of: date, rng: random.Random) -> date:
    """The agency's last update: the last activity, or a later periodic refresh."""
    refreshed = as_of - timedelta(days=rng.randrange(0, REFRESH_DAYS))
    return min(as_of, max(touched, refreshed))


def _duplicate(rec: PersonRecord, new_id: str, corrupter: Corrupter) -> PersonRecord:
    """A second record of the same person in the same agency, typed in again with a slip."""
    dup = dataclasses.replace(rec, record_id=new_id)
    inherited = []  # the original's errors are in the copy too
    for entry in reversed(corrupter.log):
        if entry.record_id != rec.record_id or entry.agency != rec.agency:
            break
        inherited.append(
            entry.__class__(
                entry.agency,
                entry.source,
                new_id,
                entry.field,
                entry.error,
                entry.original,
                entry.corrupted,
            )
        )
    corrupter.log.extend(reversed(inherited))
    corrupter.log.append(
        InjectedError(
            rec.agency,
            rec.source,
            new_id,
            "record",
            ErrorClass.DUPLICATE_RECORD,
            rec.record_id,
            new_id,
        )
    )
    rng = corrupter.rng
    if rng.random() < 0.5 and dup.national_id:
        corrupter.note(dup, "national_id", ErrorClass.MISSING_IDENTIFIER, dup.national_id, "")
        dup.national_id, dup.id_verified = "", False
    else:
        old = dup.given_names
        dup.given_names = typo(old, rng)
        corrupter.note(dup, "given_names", ErrorClass.TYPO, old, dup.given_names)
    return dup


def build_employment(
    people: list[tuple[TruePerson, TrueHousehold, Life]], corrupter: Corrupter, as_of: date
) -> EmploymentRegistry:
    rng = corrupter.rng
    reg = EmploymentRegistry()
    people = sorted(people, key=lambda t: (t[2].registrations[0].start, t[0].pid))
    next_id = len(people) + 1
    duplicates: list[PersonRecord] = []
    for n, (person, hh, life) in enumerate(people, start=1):
        last = life.registrations[-1]
        touched = max(last.end or last.start, last.start)
        update = _last_update(touched + timedelta(days=rng.randrange(0, 60)), as_of, rng)
        rec = _record(EMPLOYMENT, "jobseekers", f"E{n:08d}", person, hh, rng.random() < 0.4, update)
        rec.registration, rec.registration_id = last, f"R{n:08d}"
        rec.desired_occupation = _national_occupation(last.desired_occupation, rng)
        corrupter.person(rec, hh.previous_address, None)
        reg.jobseekers.append(rec)
        if corrupter.hit(ErrorClass.DUPLICATE_RECORD):
            dup = _duplicate(rec, f"E{next_id:08d}", corrupter)
            dup.registration_id = f"R{next_id:08d}"
            next_id += 1
            duplicates.append(dup)
        for ep in life.episodes:
            eid = f"EP{len(reg.episodes) + 1:09d}"
            code = _national_occupation(ep.occupation, rng)
            if corrupter.hit(ErrorClass.UNKNOWN_CODE):
                retired = (
                    f"{rng.randrange(100, 1000)}00"  # codes of a classification retired long ago
                )
                corrupter.log.append(
                    InjectedError(
                        EMPLOYMENT,
                        "episodes",
                        eid,
                        "occupation",
                        ErrorClass.UNKNOWN_CODE,
                        code,
                        retired,
                    )
                )
                code = retired
            reg.episodes.append((eid, rec.record_id, ep, code))
        for part in life.participations:
            reg.participations.append((f"PP{len(reg.participations) + 1:09d}", rec.record_id, part))
    reg.jobseekers.extend(duplicates)
    return reg


REL_CODES = {
    Relationship.HEAD: "01",
    Relationship.SPOUSE: "02",
    Relationship.CHILD: "03",
    Relationship.PARENT: "04",
    Relationship.SIBLING: "05",
    Relationship.GRANDCHILD: "06",
    Relationship.OTHER_RELATIVE: "07",
    Relationship.NON_RELATIVE: "08",
}


def build_social(
    households: list[TrueHousehold],
    persons: list[TruePerson],
    enrolments: list[Enrolment],
    corrupter: Corrupter,
    as_of: date,
) -> SocialRegistry:
    rng = corrupter.rng
    reg = SocialRegistry()
    first_start: dict[int, date] = {}
    for e in enrolments:
        first_start[e.household] = min(first_start.get(e.household, e.start), e.start)
    order = sorted(first_start, key=lambda h: (first_start[h], h))
    bid: dict[int, str] = {}
    duplicates: list[PersonRecord] = []
    next_dup = sum(len(households[h - 1].members) for h in order) + 1
    n = 0
    for h_index, hid in enumerate(order, start=1):
        hh = households[hid - 1]
        registered = first_start[hid] - timedelta(days=rng.randrange(0, 60))
        for pid in hh.members:
            person = persons[pid - 1]
            n += 1
            update = _last_update(registered, as_of, rng)
            rec = _record(
                SOCIAL, "beneficiaries", f"B{n:09d}", person, hh, rng.random() < 0.85, update
            )
            rec.household_id, rec.registered_on = f"H{h_index:08d}", registered
            rec.relationship_code = REL_CODES[person.relationship]
            bid[pid] = rec.record_id
            corrupter.person(rec, hh.previous_address, person.birth_family_name)
            reg.beneficiaries.append(rec)
            if corrupter.hit(ErrorClass.DUPLICATE_RECORD):
                duplicates.append(_duplicate(rec, f"B{next_dup:09d}", corrupter))
                next_dup += 1
    reg.beneficiaries.extend(duplicates)  # a later re-registration: ids after all originals
    hh_code = {hid: f"H{i:08d}" for i, hid in enumerate(order, start=1)}
    reg.events = _benefit_events(enrolments, bid, hh_code, corrupter, as_of)
    return reg


def _benefit_events(
    enrolments: list[Enrolment],
    bid: dict[int, str],
    hh_code: dict[int, str],
    corrupter: Corrupter,
    as_of: date,
) -> list[tuple[str, str, date, dict[str, object]]]:
    events: list[tuple[date, str, str, dict[str, object]]] = []
    for n, e in enumerate(sorted(enrolments, key=lambda e: (e.start, e.pid)), start=1):
        eid = f"EN{n:09d}"
        end = e.end
        if end is not None and e.ended_by_job is not None and e.programme.means_tested:
            if e.ended_by_job <= as_of - timedelta(days=60) and corrupter.hit(
                ErrorClass.INCONSISTENT_BENEFIT
            ):
                corrupter.log.append(
                    InjectedError(
                        SOCIAL,
                        "benefit-events",
                        eid,
                        "end_date",
                        ErrorClass.INCONSISTENT_BENEFIT,
                        end.isoformat(),
                        "",
                    )
                )
                end = None
        amount = e.programme.monthly_amount
        snap: dict[str, object] = {
            "id": eid,
            "beneficiary": bid[e.pid],
            "household": hh_code[e.household],
            "programme": e.programme,
            "status": "active",
            "amount": amount,
            "start": e.start,
            "end": None,
        }
        events.append((e.start, "granted", eid, dict(snap)))
        year = e.start.year + 1
        while date(year, 1, 1) < (end or as_of):
            amount = round(amount * 1.03)
            snap["amount"] = amount
            events.append((date(year, 1, 1), "amount_changed", eid, dict(snap)))
            year += 1
        if end is not None:
            snap.update(status="ended", end=end)
            events.append((end, "ended", eid, dict(snap)))
    events.sort(key=lambda t: (t[0], t[2], t[1]))
    return [(f"EV{i:010d}", kind, day, snap) for i, (day, kind, _, snap) in enumerate(events, 1)]


PROGRAMME_CODES = {
    ProgrammeType.TRAINING: "CAP",
    ProgrammeType.JOB_SEARCH_ASSISTANCE: "APB",
    ProgrammeType.WAGE_SUBSIDY: "SUB",
}
PARTICIPATION_CODES = {
    ParticipationStatus.ENROLLED: "I",
    ParticipationStatus.COMPLETED: "F",
    ParticipationStatus.DROPPED_OUT: "D",
}
