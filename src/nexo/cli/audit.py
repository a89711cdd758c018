"""``nexo audit``: verify the trail, sign checkpoints, prove entries, "who saw my data"."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from nexo.audit import service
from nexo.audit.domain import parse_note
from nexo.audit.merkle import verify_consistency, verify_inclusion
from nexo.audit.verify import verify_log
from nexo.auth.keys import keystore
from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console, error
from nexo.config import get_settings
from nexo.errors import NotFound, UsageError
from nexo.exchange.repository import ExchangeRepository
from nexo.policy.decision import Requester, Subject, decide
from nexo.policy.service import consent_view, policy_at_version
from nexo.store.engine import transaction
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
proof_app = typer.Typer(help="Merkle proofs (RFC 9162) of the audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
audit_app.add_typer(proof_app, name="proof")


@audit_app.command("verify")
def verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A signed checkpoint note an agency kept, to verify against."),
    ] = None,
) -> None:
    """Recompute every entry, chain link and checkpoint; name the first entry that is wrong."""
    keys = keystore(get_settings().home)
    trusted = None
    if checkpoint is not None:
        try:
            trusted = parse_note(
                checkpoint.read_text(encoding="utf-8"), keys.audit_key.public_key()
            )
        except OSError as e:
            raise UsageError(f"cannot read {checkpoint}: {e.strerror}") from e
    _, factory = open_store()
    with transaction(factory) as s:
        report = verify_log(s, keys=keys, trusted=trusted)
    if not report.ok:
        for p in report.problems:
            error(p)
        if report.first_bad is not None:
            error(
                f"first bad entry: {report.first_bad}",
                "restore the store from backup and compare; keep this output as evidence",
            )
        raise typer.Exit(1)
    console.print(
        f"[green]ok[/] {report.entries:,} entries verified against "
        f"{report.checkpoints} signed checkpoint(s); last trusted size "
        f"{report.trusted_size if report.trusted_size is not None else 'none yet'}"
    )


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint of the whole log now and print it as a signed note (keep it)."""
    keys = keystore(get_settings().home)
    _, factory = open_store()
    with transaction(factory) as s:
        cp = service.make_checkpoint(s, keys=keys, origin=get_settings().api.origin)
    typer.echo(cp.note(keys.audit_key.public_key()), nl=False)


def _identifier_refs(s: object, person: str) -> list[str]:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    records = ExchangeRepository(s).records_of([person]).get(person, [])
    p, i = PersonRecordRow, PersonIdentifierRow
    out = []
    for k in records:
        rows = s.execute(
            select(i.scheme, i.value)
            .join(p, p.id == i.person_pk)
            .where(p.agency == k.agency, p.source == k.source, p.record_id == k.record_id)
        )
        out += [f"{scheme}:{value}" for scheme, value in rows]
    return out


@audit_app.command("subject")
def subject(
    person: Annotated[str, typer.Argument(help="Person id (master person index).")],
) -> None:
    """Who saw data about this person (or searched for their identifiers), when and why."""
    keys = keystore(get_settings().home)
    _, factory = open_store()
    with transaction(factory) as s:
        entries = service.entries_about(s, keys=keys, values=[person, *_identifier_refs(s, person)])
    table = Table(title=f"who saw data about {person}, and why")
    for col in (
        "#",
        "when (UTC)",
        "client / actor",
        "agency",
        "purpose",
        "legal basis",
        "decision",
        "disclosed",
        "agreement",
        "accountable",
    ):
        table.add_column(col)
    for e in entries:
        table.add_row(
            str(e["index"]),
            e["at"][:19].replace("T", " "),
            e.get("client_id") or e.get("actor") or "",
            e.get("agency") or "",
            e.get("purpose") or "",
            ", ".join(e.get("legal_bases", [])),
            e["decision"] if e["kind"] == "request" else e["action"],
            ", ".join(e.get("fields", [])) or "-",
            ", ".join(e.get("agreements", [])),
            ", ".join(e.get("accountable", [])),
        )
    console.print(table)
    console.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")


@proof_app.command("inclusion")
def inclusion(
    index: Annotated[int, typer.Argument(help="Entry index.")],
    size: Annotated[
        int | None, typer.Option(help="Tree size (default: latest checkpoint).")
    ] = None,
) -> None:
    """The audit path proving an entry is in the log, checked against a signed checkpoint."""
    keys = keystore(get_settings().home)
    _, factory = open_store()
    with transaction(factory) as s:
        cp = service.checkpoint_at(s, size) if size else service.make_checkpoint(s, keys=keys)
        if cp is None:
            raise NotFound(f"no signed checkpoint of size {size}", hint="omit --size")
        p = service.inclusion_proof(s, index=index, tree_size=cp.tree_size)
    ok = verify_inclusion(index, cp.tree_size, p.leaf_hash, p.path, cp.root_hash)
    console.print(f"entry {index} in tree of size {cp.tree_size}: leaf {p.leaf_hash.hex()}")
    for h in p.path:
        typer.echo(h.hex())
    console.print(
        f"root {cp.root_hash.hex()} — proof {'[green]verifies[/]' if ok else '[red]FAILS[/]'}"
    )
    if not ok:
        raise typer.Exit(1)


@proof_app.command("consistency")
def consistency(
    first: Annotated[int, typer.Argument(help="Earlier tree size.")],
    second: Annotated[int, typer.Argument(help="Later tree size.")],
) -> None:
    """The proof that the log at ``second`` entries extends the log at ``first``."""
    _, factory = open_store()
    with transaction(factory) as s:
        p = service.consistency_proof(s, first=first, second=second)
    ok = verify_consistency(first, second, p.first_root, p.second_root, p.path)
    console.print(f"{first} → {second}: root {p.first_root.hex()} → {p.second_root.hex()}")
    for h in p.path:
        typer.echo(h.hex())
    console.print(f"proof {'[green]verifies[/]' if ok else '[red]FAILS[/]'}")
    if not ok:
        raise typer.Exit(1)


@audit_app.command("replay")
def replay(
    index: Annotated[int, typer.Argument(help="Entry index of a request.")],
    person: Annotated[str, typer.Option(help="The person the entry is about.")],
) -> None:
    """Take the decision of a past request again, under the policy version and the consent
    known at the time, and compare it with what was disclosed."""
    keys = keystore(get_settings().home)
    _, factory = open_store()
    with transaction(factory) as s:
        entry = service.entry_body(s, index)
        if entry is None or entry["kind"] != "request" or not entry.get("purpose"):
            raise NotFound(f"entry {index} is not a request with a purpose")
        if keys.subject_ref(person) not in entry["subjects"]:
            raise UsageError(f"entry {index} is not about {person}")
        policy = policy_at_version(s, version=entry["policy_version"])
        at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
        consent = consent_view(s, person_id=person, at=at, known_at=at)
        records = ExchangeRepository(s).records_of([person]).get(person, [])
    decision = decide(
        policy,
        requester=Requester(entry["client_id"], entry["agency"]),
        purpose=entry["purpose"],
        subject=Subject(person, frozenset(k.agency for k in records)),
        consent=consent,
        at=at,
    )
    allowed = {str(r) for r in decision.allowed}
    beyond = sorted(set(entry["fields"]) - allowed)
    console.print(
        f"entry {index}: {entry['action']} by {entry['client_id']} for "
        f"{entry['purpose']} at {entry['at']} under policy {entry['policy_version']}"
    )
    console.print(
        f"replayed decision: {decision.effect}; allowed {len(allowed)} field(s); "
        f"the entry disclosed {len(entry['fields'])}"
    )
    for d in decision.denials:
        console.print(f"  {d.rule.value}: {d.message}")
    if beyond:
        error(
            "disclosed beyond the replayed decision: " + ", ".join(beyond),
            "the person's records may have moved between agencies since",
        )
        raise typer.Exit(1)
    console.print(
        "[green]consistent[/]: every disclosed field is allowed by the replayed decision "
        "(the person's agencies are taken from the person index as it is now)"
    )
