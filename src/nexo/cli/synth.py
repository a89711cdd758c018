"""``nexo synth``: make a synthetic country."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from nexo.cli.app import app
from nexo.cli.common import parse_pairs
from nexo.cli.render import console, progress_bar
from nexo.errors import UsageError
from nexo.synth.domain import ErrorClass, SynthConfig
from nexo.synth.locale import LOCALES
from nexo.synth.service import generate


def build_config(
    persons: int, seed: int, locale: str, error_scale: float = 1.0, rates: list[str] | None = None
) -> SynthConfig:
    if locale not in LOCALES:
        raise UsageError(f"unknown locale {locale!r}", hint=f"choose one of: {', '.join(LOCALES)}")
    if persons < 1:
        raise UsageError(
            f"--persons must be at least 1, got {persons}", hint="e.g. --persons 10000"
        )
    overrides: dict[ErrorClass, float] = {}
    for key, value in parse_pairs(rates, "--rate").items():
        try:
            overrides[ErrorClass(key)] = float(value)
        except ValueError:
            raise UsageError(
                f"--rate {key}={value} is not an error class and a number",
                hint=f"classes: {', '.join(e.value for e in ErrorClass)}",
            ) from None
    try:
        return SynthConfig(
            persons=persons, seed=seed, locale=locale, error_scale=error_scale, rates=overrides
        )
    except ValidationError as e:
        first = e.errors()[0]
        raise UsageError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


@app.command("synth")
def synth(
    persons: Annotated[int, typer.Option(help="Number of persons in the population.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
    locale: Annotated[
        str, typer.Option(help="cl (Chile), de (Germany) or kr (South Korea).")
    ] = "cl",
    out: Annotated[Path, typer.Option(help="Folder to write (must be empty or new).")] = Path(
        "synthetic"
    ),
    force: Annotated[bool, typer.Option(help="Replace the folder's contents.")] = False,
    error_scale: Annotated[float, typer.Option(help="Multiply every error rate by this.")] = 1.0,
    rate: Annotated[
        list[str] | None, typer.Option(help="Set one error rate: CLASS=RATE (repeatable).")
    ] = None,
) -> None:
    """Make a synthetic country: both agencies' registries in their legacy formats, and the truth.

    Writes employment/ (semicolon CSV), social/ (fixed-width and XML), truth/ (which records are
    one person, which error was injected where) and manifest.json.
    """
    config = build_config(persons, seed, locale, error_scale, rate)
    with progress_bar() as bar:
        task = bar.add_task("synthetic country", total=100)
        result = generate(
            config,
            out,
            force=force,
            progress=lambda stage, done: bar.update(task, completed=done * 100, description=stage),
        )
    table = Table(title=f"synthetic country ({locale}, seed {seed}) in {result.out}")
    table.add_column("file / count")
    table.add_column("rows", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, f"{value:,}")
    console.print(table)
    injected = ", ".join(f"{k} {v:,}" for k, v in result.errors_by_class.items() if v)
    console.print(f"errors injected (see truth/errors.csv): {injected}")
