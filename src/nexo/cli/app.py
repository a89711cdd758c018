"""The ``nexo`` Typer application; commands live in one module per part."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nexo",
    help="Nexo: interoperability hub between a public employment service and a social "
    "protection agency.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
