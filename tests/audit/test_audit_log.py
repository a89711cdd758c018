"""The audit log on both stores: appends, signed checkpoints, proofs, and tampering found."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from nexo.audit import service
from nexo.audit.domain import AuditRecord, AuditTampered, entry_leaf, parse_note
from nexo.audit.merkle import verify_consistency, verify_inclusion
from nexo.audit.verify import verify_log
from nexo.auth.keys import KeyStore
from nexo.store.engine import transaction

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


def _fill(factory: sessionmaker[Session], keys: KeyStore, n: int = 12) -> None:
    with transaction(factory) as s:
        for i in range(n):
            record = AuditRecord(
                kind="request",
                action="GET /v1/persons/{person_id}",
                decision="deny" if i % 3 == 0 else "allow",
                client_id=f"c{i % 2}",
                agency="social",
                purpose="benefit-eligibility",
                subjects=(keys.subject_ref(f"person-{i % 4}"),),
                fields=("social:person.family_name",),
            )
            service.append(
                s, keys=keys, record=record, at=T0 + timedelta(seconds=i), checkpoint_every=5
            )


def _verify(factory: sessionmaker[Session], keys: KeyStore, **kw: object):  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        return verify_log(s, keys=keys, **kw)  # type: ignore[arg-type]


def _sql(factory: sessionmaker[Session], *statements: str, **params: object) -> None:
    with transaction(factory) as s:
        for st in statements:
            s.execute(text(st), params)


def test_a_clean_log_verifies_with_its_checkpoints(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    _fill(factory, keys)
    report = _verify(factory, keys)
    assert report.ok, report.problems
    assert report.entries == 12 and report.checkpoints == 2 and report.trusted_size == 10


def test_proofs_verify_against_signed_checkpoints(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    _fill(factory, keys)
    with transaction(factory) as s:
        cp5, cp10 = service.checkpoint_at(s, 5), service.checkpoint_at(s, 10)
        assert cp5 and cp10 and cp10.verify(keys.audit_key.public_key())
        p = service.inclusion_proof(s, index=7, tree_size=10)
        assert p.root == cp10.root_hash
        assert verify_inclusion(7, 10, p.leaf_hash, p.path, cp10.root_hash)
        c = service.consistency_proof(s, first=5, second=10)
        assert verify_consistency(5, 10, cp5.root_hash, cp10.root_hash, c.path)
        latest = service.make_checkpoint(s, keys=keys)
        assert latest.tree_size == 12
    note = latest.note(keys.audit_key.public_key())
    assert parse_note(note, keys.audit_key.public_key()).root_hash == latest.root_hash
    forged = note.replace("\n12\n", "\n13\n")
    with pytest.raises(AuditTampered):
        parse_note(forged, keys.audit_key.public_key())


def _row(factory: sessionmaker[Session], idx: int) -> tuple[str, str]:
    with transaction(factory) as s:
        body, leaf = s.execute(
            text("SELECT body, leaf_hash FROM audit_entry WHERE idx = :i"), {"i": idx}
        ).one()
    return body, leaf


def test_an_edit_is_found(factory: sessionmaker[Session], keys: KeyStore) -> None:
    _fill(factory, keys)
    body, _ = _row(factory, 6)
    _sql(
        factory,
        "UPDATE audit_entry SET body = :b WHERE idx = 6",
        b=body.replace("family_name", "birth_date"),
    )
    report = _verify(factory, keys)
    assert report.first_bad == 6 and "entry 6 was changed" in report.problems[0]


def test_an_edit_with_recomputed_hash_is_found(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    _fill(factory, keys)
    body, _ = _row(factory, 3)
    forged = body.replace('"deny"', '"allow"')
    _sql(
        factory,
        "UPDATE audit_entry SET body = :b, leaf_hash = :h, decision = 'allow' WHERE idx = 3",
        b=forged,
        h=entry_leaf(forged).hex(),
    )
    report = _verify(factory, keys)
    assert report.first_bad == 3 and "chain link does not match" in report.problems[0]


def test_a_deletion_is_found(factory: sessionmaker[Session], keys: KeyStore) -> None:
    _fill(factory, keys)
    _sql(
        factory,
        "DELETE FROM audit_subject WHERE entry_idx = 4",
        "DELETE FROM audit_entry WHERE idx = 4",
    )
    report = _verify(factory, keys)
    assert report.first_bad == 4 and "entry 4 is missing" in report.problems[0]


def test_an_insertion_is_found(factory: sessionmaker[Session], keys: KeyStore) -> None:
    _fill(factory, keys)
    with transaction(factory) as s:
        rows = s.execute(text("SELECT idx, body FROM audit_entry WHERE idx >= 2 ORDER BY idx DESC"))
        for idx, body in rows.all():  # renumber 2.. to make room, keeping each entry's hashes
            doc = json.loads(body)
            doc["index"] = idx + 1
            s.execute(
                text("UPDATE audit_subject SET entry_idx = :n WHERE entry_idx = :i"),
                {"n": idx + 1, "i": idx},
            )
            s.execute(
                text("UPDATE audit_entry SET idx = :n WHERE idx = :i"), {"n": idx + 1, "i": idx}
            )
        fake = json.dumps({"index": 2, "decision": "allow"}, separators=(",", ":"))
        s.execute(
            text(
                "INSERT INTO audit_entry (idx, at, kind, client_id, decision, body, leaf_hash, "
                "chain) VALUES (2, :at, 'request', 'c0', 'allow', :b, :h, :h)"
            ),
            {"at": T0, "b": fake, "h": entry_leaf(fake).hex()},
        )
    report = _verify(factory, keys)
    assert report.first_bad == 2 and "entry 2" in report.problems[0]


def test_a_reordering_is_found(factory: sessionmaker[Session], keys: KeyStore) -> None:
    _fill(factory, keys)
    b8, h8 = _row(factory, 8)
    b9, h9 = _row(factory, 9)
    _sql(factory, "UPDATE audit_entry SET body = :b, leaf_hash = :h WHERE idx = 8", b=b9, h=h9)
    _sql(factory, "UPDATE audit_entry SET body = :b, leaf_hash = :h WHERE idx = 9", b=b8, h=h8)
    report = _verify(factory, keys)
    assert report.first_bad == 8 and "entry 8 was moved" in report.problems[0]


def test_a_truncation_is_found(factory: sessionmaker[Session], keys: KeyStore) -> None:
    _fill(factory, keys)
    _sql(
        factory,
        "DELETE FROM audit_subject WHERE entry_idx >= 7",
        "DELETE FROM audit_entry WHERE idx >= 7",
        "UPDATE audit_head SET size = 7",
    )
    report = _verify(factory, keys)
    assert report.first_bad == 7
    assert "truncated" in report.problems[0] and "first missing entry: 7" in report.problems[0]


def test_a_truncation_after_the_last_checkpoint_is_found_by_an_agency_note(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    _fill(factory, keys)
    with transaction(factory) as s:
        note = service.make_checkpoint(s, keys=keys).note(keys.audit_key.public_key())
        last_chain = s.execute(text("SELECT chain FROM audit_entry WHERE idx = 10")).scalar_one()
        s.execute(text("DELETE FROM audit_checkpoint WHERE tree_size = 12"))
    # the attacker removes entry 11 and rewinds the head consistently
    _sql(
        factory,
        "DELETE FROM audit_subject WHERE entry_idx = 11",
        "DELETE FROM audit_entry WHERE idx = 11",
        "UPDATE audit_head SET size = 11, chain = :c",
        c=last_chain,
    )
    assert _verify(factory, keys).ok  # nothing in the store contradicts it any more ...
    trusted = parse_note(note, keys.audit_key.public_key())
    report = _verify(factory, keys, trusted=trusted)  # ... but the agency's note does
    assert report.first_bad == 11 and "truncated" in report.problems[0]


def test_a_hidden_subject_and_a_forged_checkpoint_are_found(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    _fill(factory, keys)
    _sql(factory, "DELETE FROM audit_subject WHERE entry_idx = 2")
    report = _verify(factory, keys)
    assert report.first_bad == 2 and "subject index of entry 2" in report.problems[0]
    _sql(
        factory,
        "INSERT INTO audit_subject (ref, entry_idx) SELECT :r, 2",
        r=keys.subject_ref("person-2"),
    )
    assert _verify(factory, keys).ok
    _sql(factory, "UPDATE audit_checkpoint SET root_hash = :r WHERE tree_size = 5", r="00" * 32)
    assert "checkpoint at size 5 is not signed" in _verify(factory, keys).problems[0]


def test_events_of_other_parts_and_who_saw_my_data(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    _fill(factory, keys)
    with transaction(factory) as s:
        service.record_event(
            s,
            keys=keys,
            action="steward.correction",
            actor="steward-1",
            persons=("person-1",),
            detail={"field": "birth_date"},
        )
    with transaction(factory) as s:
        seen = service.entries_about(s, keys=keys, values=["person-1"])
    assert [e["index"] for e in seen] == [1, 5, 9, 12]
    assert seen[-1]["action"] == "steward.correction" and seen[-1]["actor"] == "steward-1"
    assert "person-1" not in json.dumps(seen)  # persons are named by keyed hash only
    assert _verify(factory, keys).ok


def test_the_api_writer_survives_other_writers(
    factory: sessionmaker[Session], keys: KeyStore
) -> None:
    """Two processes append: the writer's remembered head goes stale, its compare-and-set
    fails, it reads the head again; the log stays one unbroken chain."""
    writer = service.AuditWriter(factory, keys=keys, checkpoint_every=4)
    other = service.AuditWriter(factory, keys=keys, checkpoint_every=4)
    record = AuditRecord(kind="request", action="GET /x", decision="allow", client_id="c")
    indexes = []
    for i in range(9):
        indexes.append(writer.append(record).index)
        if i % 2:
            indexes.append(other.append(record).index)
        if i % 3 == 0:
            with transaction(factory) as s:  # a CLI event in its own transaction
                indexes.append(service.record_event(s, keys=keys, action="cli", actor="op").index)
    assert indexes == list(range(len(indexes)))
    report = _verify(factory, keys)
    assert report.ok, report.problems
    assert report.entries == len(indexes) and report.checkpoints >= 3
