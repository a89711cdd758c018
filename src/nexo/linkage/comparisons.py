"""The comparisons of Nexo's person model: what agreement on each field is worth.

Each comparison is an ordered list of levels; a pair of records falls in the first level whose
condition holds. Splink learns, per level, how often true matches (m) and non-matches (u) fall
in it; the match weight of a level is log2(m/u). Levels are written with ``nexo.linkage.expr``
so that the same conditions run in Splink's SQL and in the in-memory matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nexo.linkage.expr import (
    Dialect,
    Expr,
    Row,
    both_missing,
    both_true,
    crossed,
    differ_by_at_most,
    edits_at_most,
    equal,
    jaro_winkler_at_least,
    left_true,
    missing,
)


@dataclass(frozen=True, slots=True)
class Level:
    label: str
    condition: Expr | None  # None: the "else" level (everything not caught before)
    null: bool = False  # a missing value: no evidence either way
    tf: str | None = None  # term-frequency adjusted on this column (exact-match levels)
    #: (comparison, level label) this level is conditional on: its evidence is what it adds
    #: beyond that level's (see ``model.regularise``)
    given: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    description: str
    levels: tuple[Level, ...]

    def level_of(self, left: Row, right: Row) -> int:
        """Index of the level a pair falls in (the Python twin of Splink's CASE WHEN)."""
        for i, level in enumerate(self.levels):
            if level.condition is None or level.condition.test(left, right):
                return i
        return len(self.levels) - 1

    def as_splink(self, dialect: Dialect) -> dict[str, Any]:
        levels: list[dict[str, Any]] = []
        for level in self.levels:
            sql = "ELSE" if level.condition is None else level.condition.sql(dialect)
            entry: dict[str, Any] = {"sql_condition": sql, "label_for_charts": level.label}
            if level.null:
                entry["is_null_level"] = True
            if level.tf:
                entry["tf_adjustment_column"] = level.tf
                entry["tf_adjustment_weight"] = 1.0
            levels.append(entry)
        return {
            "output_column_name": self.name,
            "comparison_description": self.description,
            "comparison_levels": levels,
        }


def _else() -> Level:
    return Level("all other", None)


NATIONAL_ID = Comparison(
    "national_id",
    "national identifier, with its check digit",
    (
        Level("missing", missing("nid"), null=True),
        Level("equal, valid check digit", equal("nid") & left_true("nid_ok")),
        Level("equal, wrong check digit", equal("nid")),
        Level("both valid, different", both_true("nid_ok")),
        Level("one typing error", edits_at_most("nid", 1)),
        _else(),
    ),
)

GIVEN_NAMES = Comparison(
    "given_names",
    "given names: exact, first name, fuzzy, swapped with the family name, phonetic",
    (
        Level("missing", missing("given"), null=True),
        Level("equal", equal("given"), tf="given"),
        Level("same first given name", equal("given1"), tf="given1"),
        Level("similar (Jaro-Winkler >= 0.92)", jaro_winkler_at_least("given", 0.92)),
        Level("swapped with the family name", crossed("given", "family")),
        Level("first names sound alike", equal("given_ph")),
        Level("first names similar (Jaro-Winkler >= 0.8)", jaro_winkler_at_least("given1", 0.8)),
        _else(),
    ),
)

FAMILY_NAMES = Comparison(
    "family_names",
    "family names (first and second, Hispanic naming): exact, reordered, fuzzy, phonetic",
    (
        Level("missing", missing("family"), null=True),
        Level("both equal", equal("family_full"), tf="family_full"),
        Level("first and second reversed", equal("family", "family2") & equal("family2", "family")),
        Level(
            "first equal, second missing on one side",
            equal("family") & (missing("family2")),
        ),
        Level(
            "one equal, the other similar",
            (equal("family") & jaro_winkler_at_least("family2", 0.88))
            | (jaro_winkler_at_least("family", 0.88) & equal("family2")),
        ),
        Level("swapped with the given names", crossed("family", "given")),
        Level(
            "both sound alike",
            equal("family_ph") & (equal("family2_ph") | both_missing("family2")),
        ),
        Level("first equal only", equal("family")),
        Level("second equal only", equal("family2")),
        Level("first similar (Jaro-Winkler >= 0.88)", jaro_winkler_at_least("family", 0.88)),
        _else(),
    ),
)

BIRTH_DATE = Comparison(
    "birth_date",
    "birth date: exact, day and month transposed, year typed wrong, one digit wrong",
    (
        Level("missing", missing("dob"), null=True),
        Level("equal", equal("dob")),
        Level("day and month transposed", equal("dob", "dob_t")),
        Level(
            "same day and month, year within 10",
            equal("birth_md") & differ_by_at_most("birth_year", 10),
        ),
        Level("one digit wrong", edits_at_most("dob", 1)),
        _else(),
    ),
)

SEX = Comparison(
    "sex",
    "sex",
    (Level("missing", missing("sex"), null=True), Level("equal", equal("sex")), _else()),
)

ADDRESS = Comparison(
    "address",
    "address line, postcode and administrative area",
    (
        Level("missing", missing("addr"), null=True),
        Level(
            "equal, family names equal too",
            equal("addr") & equal("family_full"),
            given=("family_names", "both equal"),
        ),
        Level("equal", equal("addr")),
        Level("similar (Jaro-Winkler >= 0.9)", jaro_winkler_at_least("addr", 0.9)),
        Level("same postcode", equal("postcode")),
        Level("same administrative area", equal("area")),
        _else(),
    ),
)

CONTACT = Comparison(
    "contact",
    "phone number and e-mail address",
    (
        Level("missing", missing("phone") & missing("email"), null=True),
        Level("same phone", equal("phone")),
        Level(
            "same e-mail, family names equal too",
            equal("email") & equal("family_full"),
            given=("family_names", "both equal"),
        ),
        Level("same e-mail", equal("email")),
        _else(),
    ),
)

COMPARISONS: tuple[Comparison, ...] = (
    NATIONAL_ID,
    GIVEN_NAMES,
    FAMILY_NAMES,
    BIRTH_DATE,
    SEX,
    ADDRESS,
    CONTACT,
)
