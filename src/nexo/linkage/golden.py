"""Golden records: one best value per field of a person, and where each value came from.

Survivorship rules, per field:

- national identifier: verified and valid, then valid, then most records agree, then source
  trust, then most recent;
- names, birth date, sex: most records agree, then the record with a verified identifier, then
  source trust, then most recent;
- address, phone, e-mail: most recent, then source trust.

The first criterion that tells the candidates apart decides, and is named in the provenance.

"Source trust" is the ranking in the settings (``linkage.source_trust``, most trusted first):
by default the social protection registry, whose identifiers are checked against the civil
registry, before the employment service.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from nexo.linkage import normalise as norm
from nexo.linkage.domain import Demographics

DEFAULT_TRUST = ("social/beneficiaries", "employment/jobseekers")


@dataclass(frozen=True)
class Golden:
    person: dict[str, Any]  # a canonical Person as JSON (nexo.model.Person.model_validate)
    provenance: dict[str, dict[str, Any]]  # field → {agency, source, record_id, rule, ...}

    @property
    def digest(self) -> str:
        text = json.dumps([self.person, self.provenance], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


class _Rank:
    def __init__(self, records: Sequence[Demographics], trust: Sequence[str]) -> None:
        self.order = {name: i for i, name in enumerate(trust)}
        self.records = records

    def trust(self, d: Demographics) -> int:
        k = d.key
        return -self.order.get(f"{k.agency}/{k.source}", self.order.get(k.agency, len(self.order)))

    @staticmethod
    def recency(d: Demographics) -> int:
        return (d.updated_on or date.min).toordinal()

    @staticmethod
    def verified(d: Demographics) -> int:
        return int(d.id_verified and d.id_check_ok)

    def best(
        self,
        present: Callable[[Demographics], bool],
        criteria: Sequence[tuple[str, Callable[[Demographics], Hashable]]],
    ) -> tuple[Demographics, str] | None:
        """The winning record and the name of the criterion that decided it."""
        pool = [d for d in self.records if present(d)]
        if not pool:
            return None
        ranked = sorted(
            pool,
            key=lambda d: ([c(d) for _, c in criteria], str(d.key)),
            reverse=True,
        )
        winner = ranked[0]
        rule = criteria[-1][0] if criteria else "only value"
        if len(ranked) > 1:
            runner = ranked[1]
            for name, c in criteria:
                if c(winner) != c(runner):
                    rule = name
                    break
        else:
            rule = "only value"
        return winner, rule


def _votes(
    records: Sequence[Demographics], value: Callable[[Demographics], Hashable]
) -> Callable[[Demographics], int]:
    counts = Counter(value(d) for d in records if value(d) is not None)
    return lambda d: counts[value(d)]


def _source(d: Demographics, rule: str) -> dict[str, Any]:
    return {
        "agency": d.key.agency,
        "source": d.key.source,
        "record_id": d.key.record_id,
        "rule": rule,
        "updated_on": d.updated_on.isoformat() if d.updated_on else None,
    }


def _normalised(attribute: str) -> Callable[[Demographics], Hashable]:
    return lambda d: norm.name(getattr(d, attribute))


def golden_record(
    records: Sequence[Demographics], *, trust: Sequence[str] = DEFAULT_TRUST
) -> Golden:
    """The golden record of one person's records."""
    rank = _Rank(records, trust)
    person: dict[str, Any] = {}
    provenance: dict[str, dict[str, Any]] = {}

    def pick(
        fields: Sequence[str],
        present: Callable[[Demographics], bool],
        criteria: Sequence[tuple[str, Callable[[Demographics], Hashable]]],
    ) -> Demographics | None:
        found = rank.best(present, criteria)
        if found is None:
            return None
        winner, rule = found
        for f in fields:
            provenance[f] = _source(winner, rule)
        return winner

    def voted(name: str, value: Callable[[Demographics], Hashable]) -> Demographics | None:
        return pick(
            [name],
            lambda d: value(d) is not None,
            [
                ("most records agree", _votes(records, value)),
                ("verified identifier", rank.verified),
                ("source trust", rank.trust),
                ("most recent", rank.recency),
            ],
        )

    for name in ("given_names", "family_name", "second_family_name"):
        w = voted(name, _normalised(name))
        person[name] = getattr(w, name) if w else None
    w = voted("birth_date", lambda d: d.birth_date)
    person["birth_date"] = w.birth_date.isoformat() if w and w.birth_date else None
    w = voted("sex", lambda d: d.sex)
    person["sex"] = w.sex if w else None
    w = pick(
        ["identifier"],
        lambda d: bool(d.id_scheme and d.id_value),
        [
            ("verified identifier", rank.verified),
            ("valid check digit", lambda d: int(d.id_check_ok)),
            ("most records agree", _votes(records, lambda d: d.id_value)),
            ("source trust", rank.trust),
            ("most recent", rank.recency),
        ],
    )
    person["identifiers"] = (
        [{"scheme": w.id_scheme, "value": w.id_value, "verified": w.id_verified}] if w else []
    )
    recent = [("most recent", rank.recency), ("source trust", rank.trust)]
    w = pick(["address"], lambda d: bool(d.address_line or d.locality or d.postcode), recent)
    person["address"] = (
        {
            "line": w.address_line,
            "locality": w.locality,
            "postcode": w.postcode,
            "region": w.region,
            "admin_area_code": w.admin_area_code,
            "country": w.country,
        }
        if w
        else None
    )
    phone = pick(["phone"], lambda d: bool(d.phone), recent)
    email = pick(["email"], lambda d: bool(d.email), recent)
    person["contact"] = (
        {"phone": phone.phone if phone else None, "email": email.email if email else None}
        if phone or email
        else None
    )
    return Golden(person, provenance)
