"""Each agency's legacy formats, and the ground truth beside them (never inside)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from nexo.model.codes import ParticipationStatus
from nexo.model.identifier import format_run
from nexo.synth.agencies import (
    PARTICIPATION_CODES,
    PROGRAMME_CODES,
    EmploymentRegistry,
    SocialRegistry,
)
from nexo.synth.corrupt import PersonRecord
from nexo.synth.domain import InjectedError, TruePerson
from nexo.synth.locale import LocaleData, Programme
from nexo.synth.occupation import crosswalk_rows

CONTRACT_CODES = {
    "permanent": "01",
    "fixed_term": "02",
    "temporary_agency": "03",
    "apprenticeship": "04",
    "self_employed": "05",
    "informal": "06",
    "other": "99",
}

JOBSEEKER_COLUMNS = (
    "ID_CLIENT",
    "NAT_ID",
    "ID_CHECKED",
    "GIVEN_NAMES",
    "SURNAME_1",
    "SURNAME_2",
    "BIRTH_DATE",
    "SEX",
    "STREET",
    "LOCALITY",
    "AREA_CODE",
    "POSTCODE",
    "PHONE",
    "EMAIL",
    "REG_ID",
    "REG_DATE",
    "REG_END",
    "REG_STATUS",
    "OFFICE",
    "DESIRED_OCC",
    "LAST_UPDATE",
)
EPISODE_COLUMNS = (
    "EPISODE_ID",
    "ID_CLIENT",
    "EMPLOYER",
    "EMPLOYER_ID",
    "OCC_CODE",
    "START_DATE",
    "END_DATE",
    "MONTHLY_WAGE",
    "CONTRACT",
)
PROGRAMME_COLUMNS = (
    "PART_ID",
    "ID_CLIENT",
    "PROG_TYPE",
    "PROG_CODE",
    "START_DATE",
    "END_DATE",
    "STATUS",
)

#: (name, width) of the social protection agency's fixed-width beneficiary export, in characters
BENEFICIARY_LAYOUT = (
    ("BENEF_ID", 10),
    ("HOUSEHOLD_ID", 10),
    ("REL_CODE", 2),
    ("NAT_ID", 14),
    ("ID_VERIFIED", 1),
    ("SURNAME_1", 30),
    ("SURNAME_2", 30),
    ("GIVEN_NAMES", 40),
    ("SEX", 1),
    ("BIRTH_DATE", 8),
    ("ADDRESS", 50),
    ("AREA_CODE", 10),
    ("LOCALITY", 30),
    ("POSTCODE", 8),
    ("PHONE", 16),
    ("REG_DATE", 8),
    ("LAST_UPDATE", 8),
)
XML_NAMESPACE = "urn:nexo:synthetic:social-protection:benefit-events:1"


def _birth(rec: PersonRecord, fmt: str) -> str:
    """The written birth date; an impossible one where an error was injected."""
    bad = rec.invalid_birth_date
    if bad is not None:
        y, m, d = bad.split("-")
        return f"{d}/{m}/{y}" if fmt == "dmy" else f"{y}{m}{d}"
    return _dmy(rec.birth_date) if fmt == "dmy" else _ymd(rec.birth_date)


def _iso(d: object) -> str:
    assert isinstance(d, date)
    return d.isoformat()


def _dmy(d: date | None) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}" if d else ""


def _ymd(d: date | None) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}" if d else "00000000"


def _es_national_id(rec: PersonRecord, loc: LocaleData, salt: int) -> str:
    value = rec.national_id
    if not value:
        return ""
    if loc.code == "cl":
        return format_run(value) if salt % 10 < 7 else f"{value[:-1]}-{value[-1]}"
    if loc.code == "kr":
        return f"{value[:6]}-{value[6:]}"
    return f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}" if salt % 10 < 3 else value


@contextmanager
def _legacy_csv(path: Path, loc: LocaleData) -> Iterator[Any]:
    """The employment service's CSV dialect: semicolons, CRLF, its legacy encoding."""
    with path.open("w", encoding=loc.encoding, errors="replace", newline="") as f:
        yield csv.writer(f, delimiter=";", lineterminator="\r\n")


def money(amount: float, loc: LocaleData) -> str:
    if loc.wage_decimals:
        text = f"{amount:,.2f}"
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    text = f"{round(amount):,}"
    return text.replace(",", ".") if loc.code == "cl" else text


def write_employment(reg: EmploymentRegistry, loc: LocaleData, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True)
    with _legacy_csv(folder / "jobseekers.csv", loc) as w:
        w.writerow(JOBSEEKER_COLUMNS)
        for i, rec in enumerate(reg.jobseekers):
            r = rec.registration
            assert r is not None
            status = "A" if r.end is None else ("C" if r.placed else "B")
            place = loc.place_by_key[rec.address.place]
            w.writerow(
                (
                    rec.record_id,
                    _es_national_id(rec, loc, i),
                    "S" if rec.id_verified else "N",
                    rec.given_names,
                    rec.family_name,
                    rec.second_family_name,
                    _birth(rec, "dmy"),
                    "F" if rec.female else "M",
                    rec.address.line,
                    place.locality,
                    place.admin_area_code,
                    rec.address.postcode,
                    rec.phone,
                    rec.email,
                    rec.registration_id,
                    _dmy(r.start),
                    _dmy(r.end),
                    status,
                    r.office,
                    rec.desired_occupation,
                    _dmy(rec.last_update),
                )
            )
    with _legacy_csv(folder / "episodes.csv", loc) as w:
        w.writerow(EPISODE_COLUMNS)
        for eid, cid, ep, occ in reg.episodes:
            w.writerow(
                (
                    eid,
                    cid,
                    ep.employer,
                    ep.employer_id,
                    occ,
                    _dmy(ep.start),
                    _dmy(ep.end),
                    money(ep.monthly_wage, loc),
                    CONTRACT_CODES[ep.contract.value],
                )
            )
    with _legacy_csv(folder / "programmes.csv", loc) as w:
        w.writerow(PROGRAMME_COLUMNS)
        for pid, cid, part in reg.participations:
            status = (
                ParticipationStatus.ENROLLED
                if part.end is None
                else ParticipationStatus.COMPLETED
                if part.completed
                else ParticipationStatus.DROPPED_OUT
            )
            w.writerow(
                (
                    pid,
                    cid,
                    PROGRAMME_CODES[part.kind],
                    part.code,
                    _dmy(part.start),
                    _dmy(part.end),
                    PARTICIPATION_CODES[status],
                )
            )
    with (folder / "occupation_crosswalk.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("national_code", "national_title", "isco08"))
        w.writerows(crosswalk_rows())
    return {
        "jobseekers": len(reg.jobseekers),
        "episodes": len(reg.episodes),
        "programmes": len(reg.participations),
    }


def _fixed(values: Iterable[str]) -> str:
    return "".join(v[:w].ljust(w) for v, (_, w) in zip(values, BENEFICIARY_LAYOUT, strict=True))


def write_social(reg: SocialRegistry, loc: LocaleData, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True)
    with (folder / "beneficiaries.dat").open(
        "w", encoding=loc.encoding, errors="replace", newline=""
    ) as f:
        for rec in reg.beneficiaries:
            place = loc.place_by_key[rec.address.place]
            nid = rec.national_id
            if nid and loc.code in ("cl", "kr"):
                nid = f"{nid[:-1]}-{nid[-1]}" if loc.code == "cl" else f"{nid[:6]}-{nid[6:]}"
            f.write(
                _fixed(
                    (
                        rec.record_id,
                        rec.household_id,
                        rec.relationship_code,
                        nid,
                        "1" if rec.id_verified else "0",
                        rec.family_name.upper(),
                        rec.second_family_name.upper(),
                        rec.given_names.upper(),
                        "2" if rec.female else "1",
                        _birth(rec, "ymd"),
                        rec.address.line.upper(),
                        place.admin_area_code,
                        place.locality.upper(),
                        rec.address.postcode,
                        rec.phone,
                        _ymd(rec.registered_on),
                        _ymd(rec.last_update),
                    )
                )
                + "\n"
            )
    with (folder / "benefit_events.xml").open("w", encoding="utf-8", newline="") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(f'<sp:benefitEvents xmlns:sp="{XML_NAMESPACE}" currency="{loc.currency}">\n')
        currency = quoteattr(loc.currency)
        for event_id, kind, day, snap in reg.events:
            prog = snap["programme"]
            assert isinstance(prog, Programme)
            end = snap["end"]
            f.write(
                f'  <sp:event id="{event_id}" type="{kind}" date="{day.isoformat()}">\n'
                f'    <sp:enrolment id="{snap["id"]}" beneficiary="{snap["beneficiary"]}"'
                f' household="{snap["household"]}">\n'
                f'      <sp:programme code="{prog.code}" meansTested='
                f'"{str(prog.means_tested).lower()}">{escape(prog.name)}</sp:programme>\n'
                f"      <sp:status>{snap['status']}</sp:status>\n"
                f"      <sp:amount currency={currency}>{snap['amount']:.2f}</sp:amount>\n"
                f"      <sp:start>{_iso(snap['start'])}</sp:start>\n"
                + (f"      <sp:end>{end.isoformat()}</sp:end>\n" if isinstance(end, date) else "")
                + "    </sp:enrolment>\n  </sp:event>\n"
            )
        f.write("</sp:benefitEvents>\n")
    return {"beneficiaries": len(reg.beneficiaries), "benefit_events": len(reg.events)}


def write_truth(
    folder: Path,
    persons: list[TruePerson],
    records: Iterable[PersonRecord],
    errors: list[InjectedError],
) -> dict[str, int]:
    folder.mkdir(parents=True)
    n_links = 0
    with (folder / "persons.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("agency", "source", "record_id", "person_id"))
        for rec in records:
            w.writerow((rec.agency, rec.source, rec.record_id, f"P{rec.pid:08d}"))
            n_links += 1
    with (folder / "errors.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("agency", "source", "record_id", "field", "error", "original", "corrupted"))
        w.writerows(
            (e.agency, e.source, e.record_id, e.field, e.error.value, e.original, e.corrupted)
            for e in errors
        )
    with (folder / "population.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            (
                "person_id",
                "household_id",
                "relationship",
                "sex",
                "given_names",
                "family_name",
                "second_family_name",
                "birth_family_name",
                "birth_date",
                "national_id",
            )
        )
        w.writerows(
            (
                f"P{p.pid:08d}",
                f"HH{p.household:08d}",
                p.relationship.value,
                "female" if p.female else "male",
                p.given_names,
                p.family_name,
                p.second_family_name,
                p.birth_family_name or "",
                p.birth_date.isoformat(),
                p.national_id,
            )
            for p in persons
        )
    return {"record_links": n_links, "errors": len(errors), "population": len(persons)}
