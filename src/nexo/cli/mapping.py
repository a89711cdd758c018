"""``nexo mapping``: check mapping specifications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nexo.adapters.mapper import RowMapper
from nexo.adapters.spec import Mapping, problems_of
from nexo.cli.app import app
from nexo.cli.common import parse_pairs
from nexo.cli.render import console, error
from nexo.errors import MappingError, UsageError

mapping_app = typer.Typer(help="Write and check mapping specifications.", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")


@mapping_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Mapping YAML file.")],
    param: Annotated[list[str] | None, typer.Option(help="Set a parameter: NAME=VALUE.")] = None,
) -> None:
    """Validate a mapping and report every problem with its line number."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read {file}: {e.strerror}") from e
    spec, problems = problems_of(text, parse_pairs(param, "--param"))
    if spec is not None:
        try:
            RowMapper(Mapping(spec, file, text))  # compiles steps, loads references
        except MappingError as e:
            problems.append(str(e))
    if problems:
        for p in problems:
            error(f"{file}: {p}")
        raise typer.Exit(1)
    assert spec is not None
    console.print(
        f"[green]ok[/] {file}: {spec.name} {spec.version} "
        f"({spec.agency}/{spec.source}, {spec.format.type}, "
        f"{len(spec.entities)} entit{'y' if len(spec.entities) == 1 else 'ies'})"
    )
