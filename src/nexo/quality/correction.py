"""Corrections reported by users and reviewed by a data steward: pure rules, no I/O.

A correction names one field of one record by a dotted path into the record's canonical JSON
(``birth_date``, ``address.locality``, ``contact.phone``, ``identifiers.0.value``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from nexo.errors import NexoError, NotFound, UsageError
from nexo.model import ENTITY_MODELS, CanonicalModel, EntityType


class CorrectionStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


#: roles that may report a wrong value (any user of Nexo); only stewards review
ROLES = ("caseworker", "steward", "integration_engineer", "auditor", "agency_system")
REVIEWER_ROLE = "steward"


class CorrectionNotFound(NotFound):
    code = "correction-not-found"


class CorrectionConflict(NexoError):
    """The correction cannot be applied as it stands (reviewed already, record changed)."""

    code = "correction-conflict"


class InvalidCorrection(UsageError):
    code = "invalid-correction"


@dataclass(frozen=True, slots=True)
class CorrectionReviewed:
    """What the audit trail records about a review (ids and names, never the values)."""

    correction_id: int
    agency: str
    source: str
    entity_type: str
    record_id: str
    field: str
    status: CorrectionStatus
    reporter: str
    reporter_role: str
    reviewer: str
    reviewed_at: datetime
    batch_id: str | None
    new_version: int | None


def _steps(path: str) -> list[str | int]:
    if not path or any(not part for part in path.split(".")):
        raise InvalidCorrection(
            f"field {path!r} is not a dotted path", hint="e.g. birth_date or address.locality"
        )
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def get_value(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for step in _steps(path):
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def set_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``path`` set (missing objects on the way are created)."""
    out = copy.deepcopy(data)
    steps = _steps(path)
    node: Any = out
    for step, nxt in zip(steps, steps[1:], strict=False):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise InvalidCorrection(f"{path}: there is no item {step}")
            node = node[step]
            continue
        if node.get(step) is None:
            node[step] = [] if isinstance(nxt, int) else {}
        node = node[step]
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise InvalidCorrection(f"{path}: there is no item {last}")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise InvalidCorrection(f"{path}: cannot set a field inside a {type(node).__name__}")
    return out


def corrected_entity(
    entity_type: EntityType, data: dict[str, Any], path: str, value: Any
) -> CanonicalModel:
    """The record with the field corrected, validated like any ingested record."""
    model = ENTITY_MODELS[entity_type]
    top = str(_steps(path)[0])
    if top not in model.model_fields:
        raise InvalidCorrection(
            f"{entity_type.value} has no field {top!r}",
            hint=f"fields: {', '.join(model.model_fields)}",
        )
    try:
        return model.model_validate(set_value(data, path, value))
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise InvalidCorrection(
            f"the proposed value does not make a valid {entity_type.value}: {problems}",
            hint="propose a value in the canonical form (dates as YYYY-MM-DD, codes as listed "
            "in docs/model.md)",
        ) from None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", hint=f"roles: {', '.join(ROLES)}")
    return role


def batch_id_of(correction_id: int) -> str:
    """The batch id of the record version an accepted correction writes (≤ 36 characters)."""
    return f"correction-{correction_id}"
