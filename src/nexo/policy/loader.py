"""Reading the policy folder: ``purposes.yaml`` and ``agreements/*.yaml``, with line numbers.

Every problem is reported as ``file: line N: field: what is wrong`` so that ``nexo policy
check`` points at the line to fix.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from nexo.errors import NexoError, UsageError
from nexo.policy.domain import Agreement, AgreementSet, PurposeCatalogue

M = TypeVar("M", bound=BaseModel)

CATALOGUE_FILE = "purposes.yaml"
AGREEMENTS_DIR = "agreements"


class PolicyError(NexoError):
    """The purpose catalogue or an agreement is invalid."""

    code = "policy"


def builtin_policy_dir() -> Path:
    """The example policy shipped with Nexo (also reachable as ./policies in a checkout)."""
    return Path(str(resources.files("nexo.policies")))


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(key)), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            continue
        line = node.start_mark.line + 1
    return line


def parse_file(path: Path, model: type[M]) -> tuple[M | None, list[str]]:
    """One YAML file validated against ``model``: the object, or every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        return None, [f"{path}: cannot read: {e.strerror}"]
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        return None, [f"{path}: {where}not valid YAML: {getattr(e, 'problem', e)}"]
    if not isinstance(data, dict):
        return None, [f"{path}: line 1: expected a YAML mapping of {model.__name__} fields"]
    try:
        return model.model_validate(data), []
    except ValidationError as e:
        out = []
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            where = ".".join(str(p) for p in loc) or "(file)"
            msg = err["msg"].removeprefix("Value error, ")
            out.append(f"{path}: line {_line_of(node, loc)}: {where}: {msg}")
        return None, out


def check_policy(folder: Path) -> tuple[AgreementSet | None, list[str]]:
    """Validate a policy folder; return the agreement set (if valid) and every problem."""
    if not folder.is_dir():
        return None, [f"{folder}: not a folder (expected {CATALOGUE_FILE} and {AGREEMENTS_DIR}/)"]
    catalogue, problems = parse_file(folder / CATALOGUE_FILE, PurposeCatalogue)
    agreements: list[tuple[Path, Agreement]] = []
    files = sorted((folder / AGREEMENTS_DIR).glob("*.yaml"))
    if not files:
        problems.append(f"{folder / AGREEMENTS_DIR}: no agreements (*.yaml) found")
    for path in files:
        agreement, found = parse_file(path, Agreement)
        problems += found
        if agreement is not None:
            agreements.append((path, agreement))
    if catalogue is not None:
        for path, a in agreements:
            if catalogue.get(a.purpose) is None:
                text = path.read_text(encoding="utf-8")
                line = _line_of(yaml.compose(text), ("purpose",))
                known = ", ".join(p.id for p in catalogue.purposes)
                problems.append(
                    f"{path}: line {line}: purpose: {a.purpose!r} is not in {CATALOGUE_FILE} "
                    f"(known: {known})"
                )
    seen: dict[str, Path] = {}
    for path, a in agreements:
        if a.key in seen:
            problems.append(f"{path}: line 1: {a.key} is also defined in {seen[a.key]}")
        seen[a.key] = path
    if problems or catalogue is None:
        return None, problems
    return AgreementSet(catalogue=catalogue, agreements=tuple(a for _, a in agreements)), []


def load_policy(folder: Path | None = None) -> AgreementSet:
    """The agreement set of a folder (default: the built-in example policy)."""
    folder = folder or builtin_policy_dir()
    if not folder.exists():
        raise UsageError(
            f"policy folder {folder} does not exist",
            hint="set NEXO_API__POLICY_DIR to a folder with purposes.yaml and agreements/",
        )
    policy, problems = check_policy(folder)
    if policy is None:
        raise PolicyError(
            f"the policy in {folder} is not valid:\n  " + "\n  ".join(problems),
            hint=f"run: nexo policy check {folder}",
        )
    return policy
