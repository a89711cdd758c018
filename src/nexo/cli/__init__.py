"""Command-line interface. Exit codes: 0 ok, 1 failure, 2 usage error."""

from __future__ import annotations

import sys

import typer

from nexo.cli import (  # noqa: F401  (register commands)
    audit,
    clients,
    consent,
    db,
    demo,
    ingest,
    mapping,
    policy,
    serve,
    synth,
)
from nexo.cli.app import app
from nexo.cli.compat import click_exceptions as click
from nexo.cli.render import error
from nexo.config import get_settings
from nexo.errors import NexoError, UsageError
from nexo.logging import configure


def main(argv: list[str] | None = None) -> None:
    configure(get_settings().log_level)
    try:
        result = app(args=argv, standalone_mode=False)
    except click.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        sys.exit(2)
    except click.UsageError as e:
        command = e.ctx.command_path if e.ctx else "nexo"
        error(e.format_message(), f"see: {command} --help")
        sys.exit(2)
    except typer.Abort:
        error("interrupted")
        sys.exit(130)
    except UsageError as e:
        error(e.message, e.hint)
        sys.exit(2)
    except NexoError as e:
        error(e.message, e.hint)
        sys.exit(1)
    except click.ClickException as e:
        error(e.format_message())
        sys.exit(e.exit_code)
    sys.exit(result if isinstance(result, int) else 0)


__all__ = ["app", "main"]
