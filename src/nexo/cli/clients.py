"""``nexo clients`` and ``nexo users``: machine clients of agencies and console users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nexo.audit.service import record_event
from nexo.auth import service
from nexo.auth.domain import DEFAULT_SCOPES, Role, parse_ttl
from nexo.auth.keys import keystore
from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console, err_console
from nexo.config import get_settings
from nexo.errors import UsageError
from nexo.store.base import utc_now
from nexo.store.engine import transaction

clients_app = typer.Typer(
    help="Register agencies' machine clients and issue tokens.", no_args_is_help=True
)
users_app = typer.Typer(help="Console users and their roles.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(users_app, name="users")


def _known_purpose(purpose: str | None) -> str | None:
    """A purpose of the catalogue in force, or a usage error listing them."""
    if purpose is None:
        return None
    from nexo.policy.loader import load_policy

    catalogue = load_policy(get_settings().api.policy_dir).catalogue
    return catalogue.require(purpose, what="--default-purpose").id


@clients_app.command("add")
def add(
    client_id: Annotated[str, typer.Argument(help="Client id, e.g. social-benefits.")],
    agency: Annotated[str, typer.Option(help="The agency the client belongs to.")],
    name: Annotated[str | None, typer.Option(help="A readable name.")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="persons:read, consent:write, audit:read (repeat).")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="PEM or JWK public key for private_key_jwt.")
    ] = None,
    secret: Annotated[
        bool, typer.Option("--secret/--no-secret", help="Issue a client secret.")
    ] = True,
    rate: Annotated[float | None, typer.Option(help="Requests per second.")] = None,
    burst: Annotated[int | None, typer.Option(help="Burst size.")] = None,
    default_purpose: Annotated[
        str | None,
        typer.Option(help="Purpose of requests stating none (DCI requests); from the catalogue."),
    ] = None,
) -> None:
    """Register a client; its secret is shown once and stored only as an Argon2id hash."""
    settings = get_settings().api
    jwk = None
    if public_key is not None:
        try:
            jwk = service.jwk_from_public_key(public_key.read_text(encoding="utf-8"))
        except OSError as e:
            raise UsageError(f"cannot read {public_key}: {e.strerror}") from e
    _, factory = open_store()
    with transaction(factory) as s:
        client, issued = service.add_client(
            s,
            client_id=client_id,
            agency=agency,
            name=name,
            scopes=frozenset(scope) if scope else DEFAULT_SCOPES,
            public_jwk=jwk,
            with_secret=secret,
            default_purpose=_known_purpose(default_purpose),
            rate_per_second=rate or settings.rate_per_second,
            burst=burst or settings.burst,
            now=utc_now(),
        )
        record_event(
            s,
            keys=keystore(get_settings().home),
            action="client.added",
            actor="cli",
            agency=agency,
            detail={"client_id": client_id},
        )
    console.print(
        f"client [bold]{client.client_id}[/] of agency {client.agency}, scopes "
        f"{' '.join(sorted(client.scopes))}"
    )
    if issued:
        console.print(f"client secret (shown once): [bold]{issued}[/]")
    console.print(
        "get a token: POST /oauth/token grant_type=client_credentials "
        f"(or: nexo clients token {client.client_id} --ttl 30d)"
    )


@clients_app.command("token")
def token(
    client_id: Annotated[str, typer.Argument(help="Client id.")],
    ttl: Annotated[
        str, typer.Option(help="Lifetime: 90s, 15m, 12h, 30d, 2w (max a year).")
    ] = "30d",
    scope: Annotated[str | None, typer.Option(help="Space-separated scopes (default all).")] = None,
) -> None:
    """Print a signed bearer token for systems that cannot run the token flow.

    Disabling the client (nexo clients disable) revokes it."""
    lifetime = parse_ttl(ttl)
    settings = get_settings()
    keys = keystore(settings.home)
    _, factory = open_store()
    with transaction(factory) as s:
        client = service.get_client(s, client_id)
        if client is None:
            raise UsageError(f"no client {client_id!r}", hint="see: nexo clients list")
        issued = service.issue_token(
            keys,
            client=client,
            scope=scope,
            issuer=settings.api.issuer,
            audience=settings.api.audience,
            now=utc_now(),
            ttl=lifetime,
            long_lived=True,
        )
        record_event(
            s,
            keys=keys,
            action="client.token_issued",
            actor="cli",
            agency=client.agency,
            detail={
                "client_id": client_id,
                "jti": issued.jti,
                "expires": issued.expires_at.isoformat(),
            },
        )
    err_console.print(
        f"token for {client_id}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
        "send it as 'Authorization: Bearer <token>'"
    )
    typer.echo(issued.token)


@clients_app.command("list")
def list_() -> None:
    """Every client with its agency, scopes, authentication and rate limit."""
    _, factory = open_store()
    with transaction(factory) as s:
        clients = service.list_clients(s)
    table = Table(title="clients")
    columns = ("client", "agency", "scopes", "authenticates with", "default purpose", "rate/s")
    for col in (*columns, "status"):
        table.add_column(col)
    for c in clients:
        how = " + ".join(x for x, on in (("secret", c.has_secret), ("key", c.public_jwk)) if on)
        table.add_row(
            c.client_id,
            c.agency,
            " ".join(sorted(c.scopes)),
            how,
            c.default_purpose or "",
            f"{c.rate_per_second:g}",
            "active" if c.active else "disabled",
        )
    console.print(table)


def _status(client_id: str, active: bool) -> None:
    _, factory = open_store()
    with transaction(factory) as s:
        client = service.set_status(s, client_id=client_id, active=active, now=utc_now())
        record_event(
            s,
            keys=keystore(get_settings().home),
            action="client.enabled" if active else "client.disabled",
            actor="cli",
            agency=client.agency,
            detail={"client_id": client_id},
        )
    console.print(f"client {client_id} {'enabled' if active else 'disabled'}")


@clients_app.command("disable")
def disable(client_id: Annotated[str, typer.Argument(help="Client id.")]) -> None:
    """Refuse the client's tokens from now on (within 2 s on running servers)."""
    _status(client_id, False)


@clients_app.command("enable")
def enable(client_id: Annotated[str, typer.Argument(help="Client id.")]) -> None:
    """Accept the client's tokens again."""
    _status(client_id, True)


@clients_app.command("rotate-secret")
def rotate(client_id: Annotated[str, typer.Argument(help="Client id.")]) -> None:
    """Issue a new secret; the old one stops working at once."""
    _, factory = open_store()
    with transaction(factory) as s:
        secret = service.rotate_secret(s, client_id=client_id, now=utc_now())
    console.print(f"new client secret for {client_id} (shown once): [bold]{secret}[/]")


@users_app.command("add")
def add_user(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[list[Role], typer.Option(help="caseworker, steward, auditor, admin.")],
    agency: Annotated[str | None, typer.Option(help="The user's agency.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Register a console user with one or more roles."""
    _, factory = open_store()
    with transaction(factory) as s:
        user = service.add_user(
            s,
            username=username,
            roles=frozenset(role),
            agency=agency,
            display_name=name,
            now=utc_now(),
        )
    console.print(f"user {user.username}: {', '.join(sorted(r.value for r in user.roles))}")


@users_app.command("list")
def list_users() -> None:
    """Every console user with roles and agency."""
    _, factory = open_store()
    with transaction(factory) as s:
        users = service.list_users(s)
    table = Table(title="users")
    for col in ("user", "name", "roles", "agency", "status"):
        table.add_column(col)
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            " ".join(sorted(r.value for r in u.roles)),
            u.agency or "",
            "active" if u.active else "disabled",
        )
    console.print(table)
