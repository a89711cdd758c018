"""Policy files: the shipped example is valid; problems come with line numbers."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from nexo.policy.domain import AgreementSet
from nexo.policy.loader import builtin_policy_dir, check_policy, load_policy

GOOD = """\
nexo_agreement: 1
id: test-agreement
version: 1
title: A test agreement
parties: {provider: social, recipient: employment}
accountable: Someone accountable
purpose: case-management
legal_basis: public_task
valid_from: 2026-01-01T00:00[America/Santiago]
valid_until: 2027-01-01T00:00:00+01:00
consent_required: false
retention: P90D
grants:
  - entity: person
    fields: [given_names]
"""


def _folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "policy"
    shutil.copytree(builtin_policy_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    (folder / "agreements" / "test.yaml").write_text(text, encoding="utf-8")
    return folder


def test_the_shipped_policy_is_valid_and_versioned() -> None:
    policy = load_policy()
    assert len(policy.agreements) == 6 and policy.version.startswith("sha256:")
    assert {p.id for p in policy.catalogue.purposes} >= {"benefit-eligibility", "fraud-detection"}
    # the stored document rebuilds the same policy (needed to replay past decisions)
    assert AgreementSet.model_validate(policy.document()).version == policy.version


def test_zones_are_explicit_and_windows_resolve_them(tmp_path: Path) -> None:
    policy, problems = check_policy(_folder(tmp_path, GOOD))
    assert policy is not None, problems
    a = next(a for a in policy.agreements if a.id == "test-agreement")
    assert a.valid_from == datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # Santiago summer time: UTC-3
    assert a.valid_until == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


def test_problems_have_line_numbers(tmp_path: Path) -> None:
    bad = (
        GOOD.replace("legal_basis: public_task", "legal_basis: because")
        .replace("2026-01-01T00:00[America/Santiago]", "2026-01-01T00:00:00")
        .replace("retention: P90D", "retention: 90 days")
        .replace("fields: [given_names]", "fields: [shoe_size]")
        .replace("purpose: case-management", "purpose: marketing")
    )
    policy, problems = check_policy(_folder(tmp_path, bad))
    assert policy is None
    text = "\n".join(problems)
    assert "line 8: legal_basis:" in text
    assert "line 9: valid_from: a time without a zone is ambiguous" in text
    assert "line 12: retention: '90 days' is not an ISO 8601 period" in text
    assert "line 14: grants.0: person has no field 'shoe_size'" in text


def test_unknown_purpose_and_consent_basis_rules(tmp_path: Path) -> None:
    _, problems = check_policy(_folder(tmp_path, GOOD.replace("case-management", "marketing")))
    assert any("line 7: purpose: 'marketing' is not in purposes.yaml" in p for p in problems)
    consent = GOOD.replace("legal_basis: public_task", "legal_basis: consent")
    _, problems = check_policy(_folder(tmp_path / "b", consent))
    assert any("consent_required" in p for p in problems)
