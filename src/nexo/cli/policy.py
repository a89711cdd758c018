"""``nexo policy``: check the agreements and purposes; explain a decision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nexo.audit.service import record_event
from nexo.auth.keys import keystore
from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console, error
from nexo.config import get_settings
from nexo.errors import UsageError
from nexo.exchange.gate import Exchange, authorise
from nexo.policy.decision import Requester
from nexo.policy.fields import all_refs, expand
from nexo.policy.loader import builtin_policy_dir, check_policy, load_policy
from nexo.store.base import utc_now
from nexo.store.engine import transaction

policy_app = typer.Typer(
    help="Data-sharing agreements and the purpose catalogue.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")


def _folder(folder: Path | None) -> Path:
    return folder or get_settings().api.policy_dir or builtin_policy_dir()


@policy_app.command("check")
def check(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="Policy folder (purposes.yaml and agreements/); default: the one in use."
        ),
    ] = None,
) -> None:
    """Validate every agreement and the purpose catalogue; report problems with line numbers."""
    path = _folder(folder)
    policy, problems = check_policy(path)
    if policy is None:
        for p in problems:
            error(p)
        raise typer.Exit(1)
    table = Table(title=f"agreements in {path}")
    for col in (
        "agreement",
        "provider → recipient",
        "purpose",
        "legal basis",
        "valid (UTC)",
        "consent",
        "grants",
    ):
        table.add_column(col)
    for a in policy.agreements:
        until = f"{a.valid_until:%Y-%m-%d %H:%M}" if a.valid_until else "open"
        table.add_row(
            a.key,
            f"{a.parties.provider} → {a.parties.recipient}",
            a.purpose,
            a.legal_basis.value,
            f"{a.valid_from:%Y-%m-%d %H:%M} – {until}",
            "required" if a.consent_required else "no",
            str(len(a.refs())),
        )
    console.print(table)
    console.print(
        f"[green]ok[/] {len(policy.agreements)} agreements, "
        f"{len(policy.catalogue.purposes)} purposes; policy version {policy.version}"
    )


@policy_app.command("explain")
def explain(
    agency: Annotated[str, typer.Option(help="The requesting agency.")],
    purpose: Annotated[str, typer.Option(help="The stated purpose.")],
    person: Annotated[str, typer.Option(help="Person id (master person index).")],
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Decision time with zone (default now).", formats=["%Y-%m-%dT%H:%M:%S%z"]
        ),
    ] = None,
    fields: Annotated[str | None, typer.Option(help="Comma-separated fields asked for.")] = None,
) -> None:
    """What an agency's client would be allowed to see about a person, and why not."""
    if at is not None and at.tzinfo is None:
        raise UsageError("--at needs a zone", hint="e.g. 2026-06-30T12:00:00+0000")
    settings = get_settings()
    policy = load_policy(_folder(None))
    keys = keystore(settings.home)
    requested = None
    if fields:
        try:
            requested = expand(fields.split(","), all_refs(policy.agencies()))
        except ValueError as e:
            raise UsageError(f"--fields: {e}") from e
    _, factory = open_store()
    when = at or utc_now()
    with transaction(factory) as s:
        decision, _ = authorise(
            s,
            exchange=Exchange(policy=policy, keys=keys),
            requester=Requester("cli", agency),
            purpose=purpose,
            person_id=person,
            requested=requested,
            at=when,
        )
        record_event(
            s,
            keys=keys,
            action="policy.explained",
            actor="cli",
            agency=agency,
            purpose=purpose,
            persons=(person,),
        )
    console.print(
        f"decision: [bold]{decision.effect}[/] (policy {decision.policy_version}, "
        f"at {when.isoformat()})"
    )
    for r in sorted(decision.allowed):
        console.print(f"  allowed  {r}")
    for r in sorted(decision.withheld):
        console.print(f"  withheld {r}")
    for d in decision.denials:
        console.print(f"  [red]{d.rule.value}[/]: {d.message}")
    if decision.agreements:
        console.print(
            "  under: " + ", ".join(f"{a.key} ({a.legal_basis.value})" for a in decision.agreements)
        )
