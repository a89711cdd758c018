"""Households and the persons in them: the true population both agencies serve."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta

from nexo.model.codes import Relationship
from nexo.synth.domain import Address, TrueHousehold, TruePerson
from nexo.synth.locale import LocaleData, make_rrn, make_run, make_steuer_id

_SIZES = (1, 2, 3, 4, 5, 6, 7)
_SIZE_WEIGHTS = (0.22, 0.26, 0.21, 0.17, 0.08, 0.04, 0.02)
TWIN_RATE = 0.03
NAMED_AFTER_FATHER_RATE = 0.08


def _ascii(text: str) -> str:
    return (
        unicodedata.normalize("NFKD", text)
        .encode("ascii", "ignore")
        .decode()
        .lower()
        .replace(" ", "")
    )


class PopulationBuilder:
    """Builds households one at a time until the population has the requested size."""

    def __init__(self, loc: LocaleData, rng: random.Random, as_of: date) -> None:
        self.loc, self.rng, self.as_of = loc, rng, as_of
        self.persons: list[TruePerson] = []
        self.households: list[TrueHousehold] = []
        self._ids: set[str] = set()

    # ------------------------------------------------------------ people

    def _birth(self, age: int) -> date:
        return self.as_of - timedelta(days=age * 365 + self.rng.randrange(365))

    def _given(self, female: bool) -> str:
        pool = self.loc.female_names if female else self.loc.male_names
        first = pool.draw(self.rng)
        if self.rng.random() < self.loc.second_given_name_rate:
            second = pool.draw(self.rng)
            if second != first:
                return f"{first} {second}"
        return first

    def _national_id(self, birth: date, female: bool) -> str:
        while True:
            if self.loc.code == "cl":
                # RUNs are issued in sequence: older people have smaller numbers
                body = 2_000_000 + (birth.year - 1920) * 290_000 + self.rng.randrange(290_000)
                value = make_run(body)
            elif self.loc.code == "kr":
                value = make_rrn(birth, female, self.rng)
            else:
                value = make_steuer_id(self.rng)
            if value not in self._ids:
                self._ids.add(value)
                return value

    def _contact(self, given: str, family: str) -> tuple[str, str]:
        rng = self.rng
        if self.loc.code == "cl":
            phone = f"+56 9 {rng.randrange(10**8):08d}"
        elif self.loc.code == "de":
            phone = f"+49 1{rng.randrange(50, 80)} {rng.randrange(10**7):07d}"
        else:
            phone = f"010-{rng.randrange(10**4):04d}-{rng.randrange(10**4):04d}"
        local = f"{_ascii(given.split()[0]) or 'user'}.{_ascii(family) or 'mail'}"
        local += str(rng.randrange(100)) if rng.random() < 0.5 else ""
        return phone, f"{local}@{rng.choice(self.loc.email_domains)}"

    def _person(
        self,
        hh: TrueHousehold,
        rel: Relationship,
        female: bool,
        birth: date,
        family: tuple[str, str],
        given: str | None = None,
        birth_family_name: str | None = None,
    ) -> TruePerson:
        given = given or self._given(female)
        phone, email = self._contact(given, family[0])
        person = TruePerson(
            pid=len(self.persons) + 1,
            household=hh.hid,
            relationship=rel,
            female=female,
            given_names=given,
            family_name=family[0],
            second_family_name=family[1],
            birth_date=birth,
            national_id=self._national_id(birth, female),
            phone=phone,
            email=email,
            birth_family_name=birth_family_name,
        )
        self.persons.append(person)
        hh.members.append(person.pid)
        return person

    def _family(self) -> tuple[str, str]:
        first = self.loc.family_names.draw(self.rng)
        second = self.loc.family_names.draw(self.rng) if self.loc.two_family_names else ""
        return first, second

    # ------------------------------------------------------------ households

    def _address(self) -> Address:
        rng = self.rng
        place = self.loc.places.draw(rng)
        street = self.loc.streets.draw(rng)
        number = rng.randrange(1, 3000) if rng.random() < 0.9 else rng.randrange(3000, 9999)
        line = f"{number} {street}" if self.loc.code == "kr" else f"{street} {number}"
        if self.loc.code == "cl" and rng.random() < 0.25:
            line += f", depto {rng.randrange(1, 30)}{rng.choice('0123')}{rng.randrange(1, 9)}"
        prefix = self.loc.place_by_key[place].postcode_prefix
        digits = 7 if self.loc.code == "cl" else 5
        postcode = prefix + f"{rng.randrange(10 ** (digits - 2)):0{digits - 2}d}"
        return Address(line, place, postcode)

    def household(self, budget: int) -> TrueHousehold:
        rng = self.rng
        size = min(budget, rng.choices(_SIZES, weights=_SIZE_WEIGHTS)[0])
        poor = rng.random() < 0.28
        hh = TrueHousehold(
            hid=len(self.households) + 1,
            address=self._address(),
            previous_address=self._address(),
            poor=poor,
        )
        self.households.append(hh)
        head_age = rng.choices(
            range(19, 91), weights=[max(1, 60 - abs(a - 45)) for a in range(19, 91)]
        )[0]
        head_female = rng.random() < 0.4
        head_family = self._family()
        head = self._person(hh, Relationship.HEAD, head_female, self._birth(head_age), head_family)
        left = size - 1
        spouse = None
        if left and rng.random() < 0.75:
            spouse_age = max(18, head_age + rng.randrange(-6, 7))
            spouse_family = self._family()
            changed = None
            if self.loc.code == "de" and rng.random() < 0.75:
                # the wife (or husband) took the other's family name at marriage
                changed, spouse_family = spouse_family[0], head_family
            spouse = self._person(
                hh,
                Relationship.SPOUSE,
                not head_female,
                self._birth(spouse_age),
                spouse_family,
                birth_family_name=changed,
            )
            left -= 1
        if left and rng.random() < 0.08 and head_age < 70:
            self._person(
                hh,
                Relationship.PARENT,
                rng.random() < 0.6,
                self._birth(head_age + rng.randrange(20, 32)),
                self._family(),
            )
            left -= 1
        if left and rng.random() < 0.03:
            sib_family = head_family
            self._person(
                hh,
                Relationship.SIBLING,
                rng.random() < 0.5,
                self._birth(max(18, head_age + rng.randrange(-8, 9))),
                sib_family,
            )
            left -= 1
        self._children(hh, head, spouse, head_age, left)
        return hh

    def _children(
        self,
        hh: TrueHousehold,
        head: TruePerson,
        spouse: TruePerson | None,
        head_age: int,
        count: int,
    ) -> None:
        rng = self.rng
        father = head if not head.female else spouse
        mother = head if head.female else spouse
        youngest_parent = min(
            head_age, (self.as_of - spouse.birth_date).days // 365 if spouse else 200
        )
        max_child_age = max(0, min(youngest_parent - 17, 35))
        twin_of: TruePerson | None = None
        for _ in range(count):
            if twin_of is not None:
                birth, female = twin_of.birth_date, rng.random() < 0.5
                twin_of = None
            else:
                birth, female = self._birth(rng.randrange(0, max_child_age + 1)), rng.random() < 0.5
            family = self._child_family(father, mother)
            given = None
            if not female and father is not None and rng.random() < NAMED_AFTER_FATHER_RATE:
                given = father.given_names.split()[0]
                if self.loc.second_given_name_rate and rng.random() < 0.5:
                    given += " " + self.loc.male_names.draw(rng)
            child = self._person(hh, Relationship.CHILD, female, birth, family, given=given)
            if rng.random() < TWIN_RATE:
                twin_of = child

    def _child_family(
        self, father: TruePerson | None, mother: TruePerson | None
    ) -> tuple[str, str]:
        if self.loc.two_family_names:
            if father and mother:
                return father.family_name, mother.family_name
            parent = father or mother
            assert parent is not None
            return parent.family_name, parent.second_family_name
        parent = father or mother
        assert parent is not None
        return parent.family_name, ""


def build_population(
    loc: LocaleData, rng: random.Random, as_of: date, persons: int
) -> PopulationBuilder:
    builder = PopulationBuilder(loc, rng, as_of)
    while len(builder.persons) < persons:
        builder.household(persons - len(builder.persons))
    return builder


def iter_working_age(builder: PopulationBuilder, as_of: date) -> Iterator[TruePerson]:
    for p in builder.persons:
        age = (as_of - p.birth_date).days // 365
        if 18 <= age <= 66:
            yield p
