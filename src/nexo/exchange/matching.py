"""The single-record person matcher the exchange uses for demographic search.

The linkage part provides it (``nexo.linkage.online.Matcher``); the exchange depends only on
this protocol, so it can be tested with any implementation and wired when linkage is present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nexo.model import Person


class Candidate(Protocol):
    @property
    def person_id(self) -> str: ...

    @property
    def probability(self) -> float: ...


class Matcher(Protocol):
    def match(self, person: Person, *, top_k: int = 5) -> Sequence[Candidate]: ...
