"""`knot audit log/verify`: read the audit log and check its hash chain."""

from __future__ import annotations

from typing import Any

import typer

from knot.cli._exit import check_failed
from knot.cli._output import fmt_time, print_json, print_table

app = typer.Typer(help="The audit log: who changed what, and when.", no_args_is_help=True)


@app.command("log")
def log(
    since: str = typer.Option(None, "--since", help="ISO date (2024-05-01) or age (7d, 12h)."),
    model: str = typer.Option(None, "--model", "-m", help="Records about this model."),
    kind: str = typer.Option(None, "--kind", help="Entity kind, e.g. run or experiment."),
    entity: str = typer.Option(None, "--id", help="Entity id (with --kind)."),
    actor: str = typer.Option(None, "--actor", help="Who made the change (user or token)."),
    action: str = typer.Option(None, "--action", help="e.g. create, set_status, revoke."),
    limit: int = typer.Option(100, "--limit", "-n", help="How many of the newest records."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The newest audit records, oldest first, filtered by every option given."""
    from dataclasses import asdict

    from knot.governance.audit_query import AuditQuery
    from knot.governance.fluent import governance

    filters = AuditQuery(since, kind, entity, model, actor, action, limit)
    records = governance().audit_log(filters)
    if json_out:
        print_json([asdict(r) for r in records])
        return
    rows = [
        (r.seq, fmt_time(r.at), r.actor, r.action, r.entity_kind, r.entity_id, _change(r))
        for r in records
    ]
    print_table(
        f"audit log ({len(records)} records)",
        ["#", "when (UTC)", "who", "action", "kind", "id", "change"],
        rows,
    )


def _change(record: Any) -> str:
    """What changed, briefly: the fields whose values differ, before -> after."""
    before, after = record.before, record.after
    if isinstance(before, dict) and isinstance(after, dict):
        changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        text = ", ".join(f"{k}: {before.get(k)} -> {after.get(k)}" for k in changed[:3])
        text += f" (+{len(changed) - 3} more)" if len(changed) > 3 else ""
    elif before is None and isinstance(after, dict):
        text = ", ".join(f"{k}={v}" for k, v in sorted(after.items())[:4])
    else:
        text = f"{before} -> {after}"
    return text if len(text) <= 80 else text[:79] + "…"


@app.command("verify")
def verify(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check the hash chain. Exits 1 naming every edited, removed or inserted record."""
    from dataclasses import asdict

    from knot.governance.fluent import governance

    breaks = governance().verify_audit()
    if json_out:
        print_json({"intact": not breaks, "breaks": [asdict(b) for b in breaks]})
    elif breaks:
        print_table(
            f"audit log is broken in {len(breaks)} places",
            ["record #", "what happened", "detail"],
            [(b.seq, b.kind, b.reason) for b in breaks],
        )
    else:
        typer.echo("audit log intact: every record is where Knot wrote it, unchanged")
    if breaks:
        first = ", ".join(f"#{b.seq} {b.kind}" for b in breaks[:3])
        more = f" (+{len(breaks) - 3} more)" if len(breaks) > 3 else ""
        places = f"{len(breaks)} place" + ("s" if len(breaks) > 1 else "")
        check_failed(f"the audit log is broken in {places}: {first}{more}")
