"""``nexo serve``: the exchange API over HTTP (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console
from nexo.errors import UsageError


def serve_api(host: str, port: int, workers: int = 1) -> None:
    """Run the API until interrupted (the store is migrated first)."""
    import uvicorn

    from nexo.api.app import create_app

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port", hint="use 1-65535, e.g. 8000")
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    _, factory = open_store(restore_indexes=True)
    console.print(
        f"Nexo API on [bold]http://{host}:{port}[/] — docs at /docs, schema at /openapi.json "
        "(Ctrl+C stops)"
    )
    common = {
        "host": host,
        "port": port,
        "access_log": False,
        "server_header": False,
        "log_level": "warning",
    }
    if workers == 1:
        uvicorn.run(create_app(factory=factory), **common)  # type: ignore[arg-type]
    else:
        uvicorn.run("nexo.api.app:app_from_env", factory=True, workers=workers, **common)  # type: ignore[arg-type]


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (rate limits are per worker).")
    ] = 1,
) -> None:
    """Serve the exchange API (every request is audited).

    OAuth token endpoint, person search, minimised person views, verification questions,
    consent and audit proofs; docs at /docs."""
    serve_api(host, port, workers)
