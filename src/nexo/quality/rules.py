"""Reading rule files (YAML, one per entity) and readiness thresholds.

A rule file::

    nexo_rules: 1
    entity: person
    rules:
      - id: person.birth_date.required
        dimension: completeness
        severity: flag
        owner: shared
        description: The birth date is missing; ask the person or look at their document.
        check: {kind: required, field: birth_date}

Every problem in every file is reported at once, with the file and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nexo.errors import ConfigurationError, UsageError
from nexo.quality.domain import Rule, RuleSet
from nexo.quality.scoring import Thresholds


def default_rules_dir() -> Path:
    return Path(str(resources.files("nexo.quality") / "rules"))


def default_thresholds_path() -> Path:
    return Path(str(resources.files("nexo.quality") / "thresholds.yaml"))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}", hint="check the path") from e
    except yaml.YAMLError as e:
        raise ConfigurationError(f"{path} is not valid YAML: {e}", hint="fix the file") from e


def _format(e: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()]


def _rules_of(path: Path, problems: list[str]) -> list[Rule]:
    doc = _read_yaml(path)
    if not isinstance(doc, dict) or doc.get("nexo_rules") != 1:
        problems.append(f"{path.name}: not a rule file (it must start with 'nexo_rules: 1')")
        return []
    entity = doc.get("entity")
    rules: list[Rule] = []
    for n, raw in enumerate(doc.get("rules") or [], start=1):
        if not isinstance(raw, dict):
            problems.append(f"{path.name}: rule #{n} is not a mapping")
            continue
        data = {"entity": entity, **raw}
        try:
            rules.append(Rule.model_validate(data))
        except ValidationError as e:
            where = f"{path.name}: rule {raw.get('id', f'#{n}')}"
            problems.extend(f"{where}: {msg}" for msg in _format(e))
    return rules


def rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no rule file or folder at {path}", hint="give a YAML file or folder")
    return files


def load_rules(paths: Iterable[Path] | None = None) -> RuleSet:
    """Rules of the given files or folders; the rules shipped with Nexo when none is given."""
    files = rule_files(list(paths) if paths else [default_rules_dir()])
    if not files:
        raise UsageError("no rule files found", hint="give folders that hold *.yaml rule files")
    problems: list[str] = []
    rules = [r for f in files for r in _rules_of(f, problems)]
    if not problems:
        try:
            return RuleSet(rules=rules)
        except ValidationError as e:
            problems.extend(_format(e))
    raise ConfigurationError(
        "the quality rules have problems:\n  " + "\n  ".join(problems),
        hint="fix the rule files (docs/quality.md describes them)",
    )


def load_thresholds(path: Path | None = None) -> Thresholds:
    path = path or default_thresholds_path()
    doc = _read_yaml(path)
    if not isinstance(doc, dict) or doc.get("nexo_thresholds") != 1:
        raise ConfigurationError(
            f"{path} is not a thresholds file", hint="it must start with 'nexo_thresholds: 1'"
        )
    try:
        return Thresholds.model_validate({k: v for k, v in doc.items() if k != "nexo_thresholds"})
    except ValidationError as e:
        raise ConfigurationError(
            f"{path} has problems:\n  " + "\n  ".join(_format(e)), hint="fix the thresholds file"
        ) from e
