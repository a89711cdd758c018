"""The single-record person matcher the exchange uses for demographic search.

The linkage part provides it (``nexo.linkage.online.Matcher``); the exchange depends only on
this protocol, so it can be tested with any implementation and wired when linkage is present.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from nexo.exchange.domain import MatcherUnavailable
from nexo.model import Person
from nexo.store.engine import transaction


class Candidate(Protocol):
    @property
    def person_id(self) -> str: ...

    @property
    def probability(self) -> float: ...


class Matcher(Protocol):
    def match(self, person: Person, *, top_k: int = 5) -> Sequence[Candidate]: ...


class StoreMatcher:
    """The linkage part's online matcher over the store, loaded on first use.

    It is rebuilt when a newer linkage run has finished (checked at most every
    ``refresh_seconds``), so the API serves matches of the current master person index without a
    restart. Until linkage has run, demographic search answers "not available".
    """

    def __init__(self, factory: sessionmaker[Session], *, refresh_seconds: float = 60.0) -> None:
        self._factory = factory
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._run_id: str | None = None
        self._checked = float("-inf")

    def _latest_run_id(self) -> str | None:
        from nexo.linkage.repository import MpiRepository

        with transaction(self._factory) as s:
            run = MpiRepository(s).latest_run()
            return run.run_id if run is not None else None

    def _current(self) -> Matcher:
        with self._lock:
            now = time.monotonic()
            if self._matcher is None or now - self._checked >= self._refresh:
                self._checked = now
                run_id = self._latest_run_id()
                if run_id is None:
                    raise MatcherUnavailable(
                        "demographic search is not available: no linkage run yet",
                        hint="run: nexo link run (or search by identifier)",
                    )
                if run_id != self._run_id or self._matcher is None:
                    from nexo.linkage.service import load_matcher

                    self._matcher = load_matcher(self._factory)
                    self._run_id = run_id
            return self._matcher

    def match(self, person: Person, *, top_k: int = 5) -> Sequence[Candidate]:
        return self._current().match(person, top_k=top_k)
