"""Single-record matching against the index in memory, with the trained model's parameters.

``Matcher`` holds every current person record's comparison columns and, per blocking rule, a
sorted array of key hashes. ``match(person)`` finds the candidates that the batch blocking rules
would pair with the record, scores them in Python with the model's m and u (no database round
trip), drops candidates that a rule says are someone else, and returns the best persons with
the evidence per comparison.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nexo.linkage import frame
from nexo.linkage.domain import Demographics, MatchCandidate, RecordKey
from nexo.linkage.expr import Row
from nexo.linkage.model import PREDICTION_RULES, BlockingRule
from nexo.linkage.rules import conflict
from nexo.linkage.scoring import Scorer
from nexo.model import Person

_SEP = "\x1f"
MAX_CANDIDATES = 2000  # records scored per query at most (placeholders are already removed)


def _interned(array: pa.ChunkedArray | pa.Array) -> list[Any]:
    """A column as a Python list in which equal values share one object."""
    if pa.types.is_string(array.type):
        encoded = pc.dictionary_encode(array)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        values = encoded.dictionary.to_pylist()
        indices = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False).tolist()
        valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False).tolist()
        return [values[i] if ok else None for i, ok in zip(indices, valid, strict=True)]
    return list(array.to_pylist())


def _key(values: Sequence[Any]) -> str | None:
    if any(v is None for v in values):
        return None
    return _SEP.join(str(v) for v in values)


class _RuleIndex:
    """Sorted hashes of one blocking rule's key over the index, and their rows."""

    def __init__(self, table: pa.Table, columns: tuple[str, ...]) -> None:
        parts = [pc.cast(table[c], pa.string()) for c in columns]
        keys = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, _SEP)
        hashes = np.fromiter(
            (hash(k) if k is not None else 0 for k in keys.to_pylist()),
            dtype=np.int64,
            count=table.num_rows,
        )
        present = np.asarray(pc.is_valid(keys).to_numpy(zero_copy_only=False), dtype=bool)
        rows = np.nonzero(present)[0].astype(np.int64)
        order = np.argsort(hashes[rows], kind="stable")
        self.hashes = hashes[rows][order]
        self.rows = rows[order]

    def lookup(self, key: str) -> np.ndarray:
        h = hash(key)
        lo = int(np.searchsorted(self.hashes, h, side="left"))
        hi = int(np.searchsorted(self.hashes, h, side="right"))
        return self.rows[lo:hi]


class Matcher:
    """Match one person against an index of person records, in memory."""

    def __init__(
        self,
        model: Mapping[str, Any],
        raw: pa.Table,
        person_ids: Sequence[str],
        *,
        rules: Sequence[BlockingRule] = PREDICTION_RULES,
    ) -> None:
        if raw.num_rows != len(person_ids):
            raise ValueError("one person id per record is needed")
        table = frame.to_table(raw)
        self.placeholders = frame.placeholders_of(table)
        self.cols: dict[str, list[Any]] = {c: _interned(table[c]) for c in frame.COLUMNS}
        self.keys = [
            RecordKey(a, s, right)
            for a, s, right in zip(
                _interned(raw["agency"]),
                _interned(raw["source"]),
                raw["record_id"].to_pylist(),
                strict=True,
            )
        ]
        self.person_ids = list(person_ids)
        self.rules = tuple(rules)
        self.indexes = {
            cols: _RuleIndex(table, cols) for cols in {right.right_columns for right in self.rules}
        }
        self.scorer = Scorer(model, tf=self._term_frequencies(model))

    def _term_frequencies(self, model: Mapping[str, Any]) -> dict[str, dict[str, float]]:
        columns = {
            level["tf_adjustment_column"]
            for comp in model.get("comparisons", [])
            for level in comp["comparison_levels"]
            if level.get("tf_adjustment_column")
        }
        out: dict[str, dict[str, float]] = {}
        for col in columns:
            counts = Counter(v for v in self.cols[col] if v is not None)
            total = sum(counts.values()) or 1
            out[col] = {k: n / total for k, n in counts.items()}
        return out

    # ------------------------------------------------------------ building

    @classmethod
    def from_records(
        cls,
        model: Mapping[str, Any],
        records: Sequence[Demographics],
        person_ids: Sequence[str],
    ) -> Matcher:
        return cls(model, frame.raw_table(records), person_ids)

    @classmethod
    def from_model_file(
        cls, path: Path, records: Sequence[Demographics], person_ids: Sequence[str]
    ) -> Matcher:
        return cls.from_records(json.loads(path.read_text(encoding="utf-8")), records, person_ids)

    @classmethod
    def from_store(cls, factory: Any) -> Matcher:
        """The latest trained model and every linked current person record of the store."""
        from nexo.linkage.service import load_matcher

        return load_matcher(factory)

    def __len__(self) -> int:
        return len(self.keys)

    # ------------------------------------------------------------ matching

    def row(self, i: int) -> Row:
        return {c: values[i] for c, values in self.cols.items()}

    def query_row(self, person: Person | Demographics) -> Row:
        d = (
            person
            if isinstance(person, Demographics)
            else Demographics.of(RecordKey("query", "query", "query"), person)
        )
        q = frame.features(d, -1)
        for col, values in self.placeholders.items():
            if q.get(col) in values:
                q[col] = None
                if col == "nid":
                    q["nid_ok"] = q["nid_verified"] = False
        return q

    def candidates(self, q: Row) -> list[int]:
        found: dict[int, None] = {}
        for rule in self.rules:
            key = _key([q[c] for c in rule.left])
            if key is None:
                continue
            right = rule.right_columns
            for i in self.indexes[right].lookup(key).tolist():
                if i not in found and all(
                    self.cols[b][i] == q[a] for a, b in zip(rule.left, right, strict=True)
                ):
                    found[i] = None
                    if len(found) >= MAX_CANDIDATES:
                        return list(found)
        return list(found)

    def match(self, person: Person | Demographics, *, top_k: int = 5) -> list[MatchCandidate]:
        """The ``top_k`` persons most likely to be ``person``, best first."""
        q = self.query_row(person)
        best: dict[str, MatchCandidate] = {}
        for i in self.candidates(q):
            right = self.row(i)
            if conflict(q, right) is not None:
                continue
            weight, prob, evidence = self.scorer.score(q, right)
            pid = self.person_ids[i]
            current = best.get(pid)
            if current is None or weight > current.match_weight:
                best[pid] = MatchCandidate(pid, prob, self.keys[i], evidence, weight)
        ranked = sorted(best.values(), key=lambda c: (-c.match_weight, c.person_id))
        return ranked[:top_k]


__all__ = ["MatchCandidate", "Matcher", "RecordKey"]
