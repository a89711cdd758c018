"""Realistic errors, injected into agencies' copies of the truth and written down as they happen."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from nexo.synth.domain import Address, ErrorClass, InjectedError, SynthConfig
from nexo.synth.life import Registration
from nexo.synth.locale import LocaleData

_KEYBOARD_NEIGHBOURS = {
    "a": "sqz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "kñ",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "z": "xa",
    "y": "tu",
}
_OCR = (
    ("rn", "m"),
    ("m", "rn"),
    ("l", "1"),
    ("O", "0"),
    ("o", "0"),
    ("I", "l"),
    ("i", "l"),
    ("e", "c"),
    ("a", "o"),
    ("S", "5"),
    ("s", "5"),
    ("B", "8"),
    ("cl", "d"),
    ("h", "b"),
    ("u", "v"),
    ("G", "C"),
    ("E", "F"),
)


@dataclass(slots=True)
class PersonRecord:
    """An agency's copy of a person, about to be corrupted and written."""

    agency: str
    source: str
    record_id: str
    pid: int
    given_names: str
    family_name: str
    second_family_name: str
    birth_date: date
    female: bool
    national_id: str
    id_verified: bool
    address: Address
    phone: str
    email: str
    last_update: date
    invalid_birth_date: str | None = None  # an impossible date written instead of birth_date
    # employment service
    registration: Registration | None = None
    registration_id: str = ""
    desired_occupation: str = ""
    # social protection agency
    household_id: str = ""
    relationship_code: str = ""
    registered_on: date | None = None


def typo(value: str, rng: random.Random) -> str:
    if len(value) < 2:
        return value + rng.choice("aeiou")
    i = rng.randrange(len(value))
    kind = rng.randrange(4)
    if kind == 0:  # deletion
        out = value[:i] + value[i + 1 :]
    elif kind == 1:  # insertion of a doubled letter
        out = value[: i + 1] + value[i] + value[i + 1 :]
    elif kind == 2 and i + 1 < len(value):  # transposition
        out = value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    else:  # substitution by a neighbouring key
        c = value[i].lower()
        repl = rng.choice(_KEYBOARD_NEIGHBOURS.get(c, "aeiou"))
        out = value[:i] + (repl.upper() if value[i].isupper() else repl) + value[i + 1 :]
    return out if out and out != value else value[:-1] + ("e" if value[-1] != "e" else "a")


def ocr(value: str, rng: random.Random) -> str | None:
    options = [(a, b) for a, b in _OCR if a in value]
    if not options:
        return None
    a, b = rng.choice(options)
    positions = [i for i in range(len(value)) if value.startswith(a, i)]
    i = rng.choice(positions)
    return value[:i] + b + value[i + len(a) :]


def wrong_check_digit(value: str, rng: random.Random) -> str:
    alphabet = "0123456789K" if value[-1:].upper() == "K" or value[-1:].isdigit() else "0123456789"
    return value[:-1] + rng.choice([c for c in alphabet if c != value[-1]])


def transpose_date(d: date) -> date | None:
    if d.day > 12 or d.day == d.month:
        return None
    return date(d.year, d.day, d.month)


def year_typo(d: date, rng: random.Random) -> date:
    delta = rng.choice((-10, -1, 1, 10))
    try:
        return d.replace(year=d.year + delta)
    except ValueError:
        return d.replace(year=d.year + delta, day=28)


class Corrupter:
    """Applies each error class at its configured rate and records what it did."""

    def __init__(self, config: SynthConfig, loc: LocaleData, rng: random.Random) -> None:
        self.loc, self.rng = loc, rng
        self.rates = {e: config.rate(e) for e in ErrorClass}
        self.as_of = config.as_of
        self.log: list[InjectedError] = []

    def hit(self, error: ErrorClass) -> bool:
        return self.rng.random() < self.rates[error]

    def note(
        self, rec: PersonRecord, fld: str, error: ErrorClass, old: object, new: object
    ) -> None:
        self.log.append(
            InjectedError(rec.agency, rec.source, rec.record_id, fld, error, _text(old), _text(new))
        )

    def person(self, rec: PersonRecord, previous_address: Address, birth_name: str | None) -> None:
        rng = self.rng
        if rec.national_id and self.hit(ErrorClass.MISSING_IDENTIFIER):
            self.note(rec, "national_id", ErrorClass.MISSING_IDENTIFIER, rec.national_id, "")
            rec.national_id, rec.id_verified = "", False
        elif rec.national_id and self.hit(ErrorClass.WRONG_CHECK_DIGIT):
            bad = wrong_check_digit(rec.national_id, rng)
            self.note(rec, "national_id", ErrorClass.WRONG_CHECK_DIGIT, rec.national_id, bad)
            rec.national_id, rec.id_verified = bad, False
        if self.hit(ErrorClass.NICKNAME):
            first, _, rest = rec.given_names.partition(" ")
            nick = self.loc.nicknames.get(first)
            if nick:
                new = f"{nick} {rest}".strip()
                self.note(rec, "given_names", ErrorClass.NICKNAME, rec.given_names, new)
                rec.given_names = new
        if birth_name and self.hit(ErrorClass.SURNAME_CHANGE):
            self.note(rec, "family_name", ErrorClass.SURNAME_CHANGE, rec.family_name, birth_name)
            rec.family_name = birth_name
        if self.hit(ErrorClass.TYPO):
            fld = self._name_field(rec)
            old = getattr(rec, fld)
            setattr(rec, fld, typo(old, rng))
            self.note(rec, fld, ErrorClass.TYPO, old, getattr(rec, fld))
        if self.hit(ErrorClass.OCR):
            fld = self._name_field(rec)
            old = getattr(rec, fld)
            ocr_value = ocr(old, rng)
            if ocr_value is not None:
                new = ocr_value
                setattr(rec, fld, new)
                self.note(rec, fld, ErrorClass.OCR, old, new)
        if self.hit(ErrorClass.NAME_SWAP):
            self.note(rec, "given_names", ErrorClass.NAME_SWAP, rec.given_names, rec.family_name)
            rec.given_names, rec.family_name = rec.family_name, rec.given_names
        if self.hit(ErrorClass.DATE_TRANSPOSITION):
            new_date = transpose_date(rec.birth_date)
            if new_date is not None:
                self.note(
                    rec, "birth_date", ErrorClass.DATE_TRANSPOSITION, rec.birth_date, new_date
                )
                rec.birth_date = new_date
        if self.hit(ErrorClass.DATE_TYPO):
            new_date = year_typo(rec.birth_date, rng)
            self.note(rec, "birth_date", ErrorClass.DATE_TYPO, rec.birth_date, new_date)
            rec.birth_date = new_date
        if self.hit(ErrorClass.INVALID_DATE):
            bad = f"{rec.birth_date.year:04d}-02-{rng.choice((30, 31))}"  # no such day
            self.note(rec, "birth_date", ErrorClass.INVALID_DATE, rec.birth_date, bad)
            rec.invalid_birth_date = bad
        if self.hit(ErrorClass.STALE_RECORD):
            old_update = rec.last_update
            rec.last_update = self.as_of - timedelta(days=rng.randrange(730, 1825))
            self.note(rec, "last_update", ErrorClass.STALE_RECORD, old_update, rec.last_update)
            self._move_back(rec, previous_address, ErrorClass.STALE_RECORD)
        elif self.hit(ErrorClass.OUTDATED_ADDRESS):
            self._move_back(rec, previous_address, ErrorClass.OUTDATED_ADDRESS)

    def _move_back(self, rec: PersonRecord, previous: Address, error: ErrorClass) -> None:
        self.note(
            rec,
            "address",
            error,
            _address_text(rec.address, self.loc),
            _address_text(previous, self.loc),
        )
        rec.address = previous

    def _name_field(self, rec: PersonRecord) -> str:
        fields = ["given_names", "family_name"]
        if rec.second_family_name:
            fields.append("second_family_name")
        return self.rng.choice(fields)


def _address_text(a: Address, loc: LocaleData) -> str:
    return f"{a.line}, {loc.place_by_key[a.place].locality}"


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
