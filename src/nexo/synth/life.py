"""Life events over time: jobs found and lost, registrations, programmes, benefits."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from nexo.model.codes import ContractType, ProgrammeType
from nexo.model.isco import unit_groups
from nexo.synth.domain import Spell, TrueHousehold, TruePerson
from nexo.synth.locale import LocaleData, Programme

# ISCO-08 major group → (weight in the population, wage factor against the median)
_MAJOR = {
    "1": (0.04, 2.2),
    "2": (0.12, 1.8),
    "3": (0.12, 1.3),
    "4": (0.09, 1.0),
    "5": (0.19, 0.85),
    "6": (0.04, 0.75),
    "7": (0.13, 1.0),
    "8": (0.09, 0.95),
    "9": (0.18, 0.7),
}
_CONTRACTS = (
    (ContractType.PERMANENT, 0.5),
    (ContractType.FIXED_TERM, 0.25),
    (ContractType.TEMPORARY_AGENCY, 0.07),
    (ContractType.APPRENTICESHIP, 0.03),
    (ContractType.SELF_EMPLOYED, 0.08),
    (ContractType.INFORMAL, 0.07),
)
_PROGRAMMES = (
    (ProgrammeType.TRAINING, 0.45),
    (ProgrammeType.JOB_SEARCH_ASSISTANCE, 0.4),
    (ProgrammeType.WAGE_SUBSIDY, 0.15),
)
INCOME_SUPPORT_RATE = 0.65  # unemployed adults of poor households who get income support
REGISTRATION_RATE = 0.45  # unemployed adults without income support who register
PROGRAMME_RATE = 0.35
CHILD_ALLOWANCE_RATE = 0.8
OLD_AGE_RATE = 0.8


@dataclass(slots=True)
class Episode:
    employer: str
    employer_id: str
    occupation: str  # ISCO-08 unit group
    start: date
    end: date | None
    monthly_wage: float
    contract: ContractType


@dataclass(slots=True)
class Registration:
    start: date
    end: date | None
    placed: bool
    office: str
    desired_occupation: str


@dataclass(slots=True)
class Participation:
    kind: ProgrammeType
    code: str
    start: date
    end: date | None
    completed: bool


@dataclass(slots=True)
class Enrolment:
    programme: Programme
    pid: int
    household: int
    start: date
    end: date | None
    ended_by_job: date | None = None  # start of the job that should have ended it


@dataclass(slots=True)
class Life:
    episodes: list[Episode] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    participations: list[Participation] = field(default_factory=list)


def _years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February
        return d.replace(year=d.year + n, day=28)


class LifeSimulator:
    def __init__(
        self, loc: LocaleData, rng: random.Random, as_of: date, years: int, overlap: float
    ) -> None:
        self.loc, self.rng, self.as_of, self._overlap = loc, rng, as_of, overlap
        self.window_start = _years(as_of, -years)
        groups = unit_groups()
        self._groups = [g.code for g in groups]
        self._group_weights = [
            _MAJOR[g.code[0]][0] / _count(groups, g.code[0]) if g.code[0] in _MAJOR else 0.0
            for g in groups
        ]
        self.enrolments: list[Enrolment] = []

    def spells(self, person: TruePerson, poor: bool) -> list[Spell]:
        rng = self.rng
        start = max(self.window_start, _years(person.birth_date, 18))
        stop = min(self.as_of, _years(person.birth_date, 67))
        employed = rng.random() < (0.45 if poor else 0.7)
        spells: list[Spell] = []
        t = start
        while t < stop:
            mean = (540 if poor else 1100) if employed else (360 if poor else 200)
            end = t + timedelta(days=max(30, int(rng.expovariate(1 / mean))))
            if end >= stop:
                spells.append(Spell(employed, t, None if stop == self.as_of else stop))
                break
            spells.append(Spell(employed, t, end))
            t, employed = end + timedelta(days=1), not employed
        return spells

    def _employer(self) -> tuple[str, str]:
        rng, loc = self.rng, self.loc
        stem, family = rng.choice(loc.employer_stems), loc.family_names.draw(rng)
        name = f"{stem} {family} {rng.choice(loc.employer_forms)}"
        if loc.code == "cl":
            return name, f"{rng.randrange(76_000_000, 78_000_000)}"
        if loc.code == "de":
            return name, f"{rng.randrange(10**7, 10**8)}"
        return name, f"{rng.randrange(100, 900)}{rng.randrange(10, 99)}{rng.randrange(10**5):05d}"

    def live(self, person: TruePerson, household: TrueHousehold) -> tuple[Life, bool]:
        """Simulate one adult; return their life and whether they got income support."""
        rng, loc = self.rng, self.loc
        life = Life()
        career = rng.choices(self._groups, weights=self._group_weights)[0]
        wage_level = loc.wage_median * _MAJOR[career[0]][1] * rng.lognormvariate(0, 0.35)
        supported = False
        spells = self.spells(person, household.poor)
        for i, spell in enumerate(spells):
            if spell.employed:
                employer, employer_id = self._employer()
                occupation = career if rng.random() < 0.8 else rng.choice(self._groups)
                contract = rng.choices(
                    [c for c, _ in _CONTRACTS], weights=[w for _, w in _CONTRACTS]
                )[0]
                life.episodes.append(
                    Episode(
                        employer,
                        employer_id,
                        occupation,
                        spell.start,
                        spell.end,
                        wage_level * rng.uniform(0.9, 1.15),
                        contract,
                    )
                )
                continue
            next_job = spells[i + 1].start if i + 1 < len(spells) else None
            on_support = household.poor and rng.random() < INCOME_SUPPORT_RATE
            if on_support:
                supported = True
                grant = spell.start + timedelta(days=rng.randrange(15, 60))
                end = (next_job + timedelta(days=rng.randrange(0, 45))) if next_job else None
                if grant < self.as_of and (end is None or end > grant):
                    self.enrolments.append(
                        Enrolment(
                            loc.programme("working_age"),
                            person.pid,
                            household.hid,
                            grant,
                            end if end is None or end < self.as_of else None,
                            next_job,
                        )
                    )
            # overlap applies to income-support recipients; others register less often
            p_register = self._overlap if on_support else REGISTRATION_RATE
            if rng.random() < p_register:
                self._register(life, spell, next_job, career)
        return life, supported

    def _register(self, life: Life, spell: Spell, next_job: date | None, career: str) -> None:
        rng = self.rng
        start = spell.start + timedelta(days=rng.randrange(0, 30))
        if start >= self.as_of:
            return
        end = None
        placed = False
        if next_job is not None:
            end = min(self.as_of, next_job + timedelta(days=rng.randrange(0, 20)))
            placed = rng.random() < 0.85
            if end >= self.as_of:
                end, placed = None, False
        office = f"OF{rng.randrange(1, 120):03d}"
        life.registrations.append(Registration(start, end, placed, office, career))
        if rng.random() < PROGRAMME_RATE:
            kind = rng.choices([k for k, _ in _PROGRAMMES], weights=[w for _, w in _PROGRAMMES])[0]
            p_start = start + timedelta(days=rng.randrange(7, 90))
            if p_start < self.as_of:
                p_end = p_start + timedelta(days=rng.randrange(20, 180))
                done = p_end < self.as_of
                life.participations.append(
                    Participation(
                        kind,
                        f"{kind.value[:3].upper()}-{rng.randrange(1, 40):02d}",
                        p_start,
                        p_end if done else None,
                        done and rng.random() < 0.8,
                    )
                )

    def household_benefits(self, household: TrueHousehold, members: list[TruePerson]) -> None:
        """Child allowance and old-age benefits, decided per household."""
        rng, loc = self.rng, self.loc
        children = [m for m in members if self.age(m) < 18]
        if household.poor and children and rng.random() < CHILD_ALLOWANCE_RATE:
            carer = next((m for m in members if m.female and self.age(m) >= 18), members[0])
            youngest = max(c.birth_date for c in children)
            start = max(self.window_start, youngest) + timedelta(days=rng.randrange(10, 120))
            if start < self.as_of:
                self.enrolments.append(
                    Enrolment(loc.programme("children"), carer.pid, household.hid, start, None)
                )
        old_age = loc.programme("old_age")
        for m in members:
            if (
                self.age(m) >= 65
                and (household.poor or not old_age.means_tested or rng.random() < 0.3)
                and rng.random() < OLD_AGE_RATE
            ):
                start = max(self.window_start, _years(m.birth_date, 65)) + timedelta(
                    days=rng.randrange(0, 90)
                )
                if start < self.as_of:
                    self.enrolments.append(Enrolment(old_age, m.pid, household.hid, start, None))

    def age(self, person: TruePerson) -> int:
        return (self.as_of - person.birth_date).days // 365


def _count(groups: list, major: str) -> int:  # type: ignore[type-arg]
    return sum(1 for g in groups if g.code[0] == major)
