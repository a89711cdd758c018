"""``nexo mapping``: check mapping specifications, print the mapping language's JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nexo.adapters.mapper import RowMapper
from nexo.adapters.schema import schema_text
from nexo.adapters.spec import Mapping, problems_of, substitute
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
    except UnicodeDecodeError as e:
        raise UsageError(f"{file} is not UTF-8 text: {e.reason}") from e
    params = parse_pairs(param, "--param")
    spec, problems = problems_of(text, params, file.parent)
    if spec is not None and not problems:
        try:
            RowMapper(Mapping(spec, file, substitute(text, params)[0]))  # loads references
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


@mapping_app.command("schema")
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of the mapping language (for editors and CI checks)."""
    text = schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror}") from e
    console.print(f"[green]wrote[/] {out}")
