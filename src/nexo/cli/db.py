"""``nexo db``: the operational store's schema."""

from __future__ import annotations

import typer

from nexo.cli.app import app
from nexo.cli.render import console
from nexo.config import get_settings
from nexo.store import bulk
from nexo.store.engine import make_engine
from nexo.store.migrate import current_revision, head_revision, upgrade

db_app = typer.Typer(help="Manage the operational store (migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's tables to the newest schema (safe to run any time); build
    any index a killed bulk load left missing."""
    url = get_settings().effective_database_url
    engine = make_engine(url)
    upgrade(engine)
    built = bulk.restore(engine)
    if built:
        console.print(f"built indexes a bulk load had deferred: {', '.join(built)}")
    console.print(f"store at schema [bold]{current_revision(engine)}[/] ({engine.url!r})")


@db_app.command("current")
def db_current() -> None:
    """Show the store's schema revision and the newest one this version of Nexo knows."""
    engine = make_engine(get_settings().effective_database_url)
    current, head = current_revision(engine), head_revision(engine)
    state = "up to date" if current == head else "run: nexo db upgrade"
    console.print(f"store {engine.url!r}: revision {current or '(empty)'}, newest {head} — {state}")
