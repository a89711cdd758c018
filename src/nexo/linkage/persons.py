"""Stable person ids: give this run's clusters the ids of the last run, and say what changed.

A cluster keeps the id of the previous person it shares most records with (each previous id
goes to one cluster at most). A cluster that inherits no id gets a new one. A previous person
whose id went to no cluster was merged into the person holding most of its records; a previous
person whose records went to several clusters was split. Persons are never renumbered.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nexo.linkage.domain import EventKind, RecordKey


def new_person_id() -> str:
    """``P`` and 16 hexadecimal digits: unguessable, never reused."""
    return "P" + secrets.token_hex(8).upper()


@dataclass(frozen=True, slots=True)
class PersonEvent:
    kind: EventKind
    person_id: str
    other_person_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Assignment:
    person_of: dict[RecordKey, str]
    created: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # previous id → the id it went into
    retired: list[str] = field(default_factory=list)  # previous ids with no record left
    events: list[PersonEvent] = field(default_factory=list)


def _keys(records: Sequence[RecordKey], limit: int = 20) -> list[str]:
    return [str(k) for k in sorted(records)[:limit]]


def assign(
    previous: Mapping[RecordKey, str],
    clusters: Sequence[Sequence[RecordKey]],
    *,
    new_id: Callable[[], str] = new_person_id,
) -> Assignment:
    overlap: list[Counter[str]] = [
        Counter(previous[k] for k in c if k in previous) for c in clusters
    ]
    candidates = sorted(
        ((n, pid, ci) for ci, counts in enumerate(overlap) for pid, n in counts.items()),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    id_of: dict[int, str] = {}
    taken: set[str] = set()
    for _, pid, ci in candidates:
        if pid not in taken and ci not in id_of:
            id_of[ci] = pid
            taken.add(pid)
    out = Assignment(person_of={})
    for ci, cluster in enumerate(clusters):
        if ci not in id_of:
            pid = new_id()
            id_of[ci] = pid
            out.created.append(pid)
            sources = sorted(overlap[ci])
            detail: dict[str, Any] = {"records": _keys(cluster)}
            if sources:
                detail["split_from"] = sources
            out.events.append(PersonEvent(EventKind.CREATED, pid, None, detail))
        for key in cluster:
            out.person_of[key] = id_of[ci]
    # what became of each previous person
    parts: dict[str, Counter[str]] = defaultdict(Counter)
    moved: dict[tuple[str, str], list[RecordKey]] = defaultdict(list)
    for key, old in previous.items():
        now = out.person_of.get(key)
        if now is None:
            continue
        parts[old][now] += 1
        if now != old:
            moved[(old, now)].append(key)
    for old in sorted(set(previous.values())):
        now_counts = parts.get(old)
        if not now_counts:
            out.retired.append(old)
            continue
        if old in taken:
            for (src, dst), keys in sorted(moved.items()):
                if src == old:
                    out.events.append(
                        PersonEvent(EventKind.SPLIT, old, dst, {"records": _keys(keys)})
                    )
            continue
        survivor = max(sorted(now_counts), key=lambda pid: now_counts[pid])
        out.merged[old] = survivor
        out.events.append(
            PersonEvent(
                EventKind.MERGED,
                old,
                survivor,
                {"records": _keys(moved[(old, survivor)])},
            )
        )
        for dst in sorted(now_counts):
            if dst != survivor:
                out.events.append(
                    PersonEvent(EventKind.SPLIT, old, dst, {"records": _keys(moved[(old, dst)])})
                )
    return out
