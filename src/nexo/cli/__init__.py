"""Command-line interface. Exit codes: 0 ok, 1 failure, 2 usage error."""

from __future__ import annotations

import sys
from typing import Any

import typer

from nexo.cli import (  # noqa: F401  (register commands)
    audit,
    clients,
    consent,
    db,
    dci,
    demo,
    ingest,
    link,
    mapping,
    policy,
    quality,
    quarantine,
    serve,
    synth,
)
from nexo.cli.app import app
from nexo.cli.render import console, error
from nexo.config import get_settings
from nexo.errors import NexoError, UsageError
from nexo.logging import configure


def _click_error(e: Any) -> int:
    """Render an error of the command-line parser (Typer's Click) as one line; its exit code."""
    ctx = getattr(e, "ctx", None)
    if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
        console.print(ctx.get_help())
        return 2
    code = int(getattr(e, "exit_code", 1))
    command = ctx.command_path if ctx is not None else "nexo"
    error(e.format_message(), f"see: {command} --help" if code == 2 else None)
    return code


def main(argv: list[str] | None = None) -> None:
    configure(get_settings().log_level)
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Abort:
        error("interrupted")
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except UsageError as e:
        error(e.message, e.hint)
        sys.exit(2)
    except NexoError as e:
        error(e.message, e.hint)
        sys.exit(1)
    except typer.TyperException as e:  # the parser's usage errors (exit 2) and others
        sys.exit(_click_error(e))
    sys.exit(result if isinstance(result, int) else 0)


__all__ = ["app", "main"]
