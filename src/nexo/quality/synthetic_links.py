"""Fill the master person index from a synthetic country's ground truth (tests, benchmarks, demo).

Cross-agency rules read ``mpi_link``. In production the linkage part fills it from the data;
for a synthetic country the truth (``truth/persons.csv``) says exactly which records are one
person, so tests and the recall benchmark can check the rules without depending on linkage.
Never use this on real data: a real country has no ground truth.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from nexo.errors import UsageError
from nexo.linkage.tables import MpiLinkRow
from nexo.quality.repository import QualityRepository


def link_from_ground_truth(
    session: Session, persons_csv: Path, *, at: datetime | None = None
) -> int:
    """Link every person record of the store named in ``persons_csv`` to its true person.

    Records already linked are left alone; returns the number of links added.
    """
    try:
        with persons_csv.open(encoding="utf-8", newline="") as f:
            truth = [
                (r["agency"], r["source"], r["record_id"], r["person_id"])
                for r in csv.DictReader(f)
            ]
    except (OSError, KeyError) as e:
        raise UsageError(
            f"cannot read the ground truth {persons_csv}: {e}",
            hint="give truth/persons.csv of a synthetic country (nexo synth)",
        ) from e
    repo = QualityRepository(session)
    stored = repo.person_record_keys()
    t = MpiLinkRow
    linked = {(a, s, r) for a, s, r in session.execute(select(t.agency, t.source, t.record_id))}
    todo = [row for row in truth if row[:3] in stored and row[:3] not in linked]
    return repo.link_records(todo, at=at or datetime.now(UTC))
