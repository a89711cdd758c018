"""Rules that override the model: a deterministic link, and the pairs that may never link.

Household members share family names, an address and sometimes a birth date (twins); the model
counts those agreements as if they were independent evidence, which for a household they are
not. The conflicts below say "these are two persons" whatever the model's score:

- both records carry a national identifier with a valid check digit, at least one verified,
  and the identifiers differ;
- the given names are clearly different (no given name agrees, sounds alike, is similar
  (Jaro-Winkler ≥ 0.88) or is an initial of the other — for a record whose given and family
  names are swapped, its real given names are compared) and nothing personal agrees: not the
  identifier, not the phone, not the e-mail.

Clustering never joins two groups of records between which any pair conflicts, so household
members cannot be chained into one person through a weak link.
"""

from __future__ import annotations

from enum import StrEnum

from rapidfuzz.distance import JaroWinkler

from nexo.linkage.expr import Row
from nexo.linkage.normalise import phonetic

SIMILAR_GIVEN = 0.88


class Conflict(StrEnum):
    IDENTIFIER = "different verified identifiers"
    GIVEN_NAMES = "clearly different given names"
    REJECTED = "a steward rejected the link"


def deterministic(left: Row, right: Row) -> bool:
    """Both carry the same verified identifier with a valid check digit."""
    return bool(left["nid_verified"] and right["nid_verified"] and left["nid"] == right["nid"])


def _given_compatible(a: str, b: str) -> bool:
    for x in a.split():
        for y in b.split():
            if x == y or phonetic(x) == phonetic(y):
                return True
            if JaroWinkler.similarity(x, y) >= SIMILAR_GIVEN:
                return True
            if (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y)):
                return True  # an initial
    return False


def _personal_agreement(left: Row, right: Row) -> bool:
    return any(left[c] is not None and left[c] == right[c] for c in ("nid", "phone", "email"))


def conflict(left: Row, right: Row) -> Conflict | None:
    """Why two records cannot be one person, or None."""
    if (
        left["nid_ok"]
        and right["nid_ok"]
        and (left["nid_verified"] or right["nid_verified"])
        and left["nid"] != right["nid"]
    ):
        return Conflict.IDENTIFIER
    gl, gr = left["given"], right["given"]
    if not gl or not gr:
        return None
    # a record with given and family names swapped: compare its real given names
    if right["family"] and gr == left["family"]:
        gr = right["family"]
    elif left["family"] and gl == right["family"]:
        gl = left["family"]
    if _given_compatible(gl, gr) or _personal_agreement(left, right):
        return None
    return Conflict.GIVEN_NAMES
