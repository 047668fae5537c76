"""`knot audit log/verify/anchor`: read the audit log, check its hash chain, seals and
anchors, and anchor its head outside the database (knot.governance.audit_anchor)."""

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
    """Check the hash chain, the records' seals and the anchors; exit 1 naming every
    edited, removed, inserted, forged or replaced record.

    Records after the newest anchor are reported as not anchored yet:
    removing them is the one change a database writer can still hide
    (`knot audit anchor`)."""
    from dataclasses import asdict

    from knot.governance.fluent import governance

    store = governance()
    breaks = store.verify_audit()
    anchors = store.anchor_status()
    if json_out:
        print_json(
            {
                "intact": not breaks,
                "breaks": [asdict(b) for b in breaks],
                "anchors": asdict(anchors),
            }
        )
    else:
        if breaks:
            print_table(
                f"audit log is broken in {len(breaks)} places",
                ["record #", "what happened", "detail"],
                [(b.seq, b.kind, b.reason) for b in breaks],
            )
        else:
            typer.echo("audit log intact: every record is where Knot wrote it, unchanged")
        typer.echo(_coverage(anchors))
    if breaks:
        check_failed(f"the audit log is broken in {_places(breaks)}")


def _places(breaks: list[Any]) -> str:
    first = ", ".join(f"#{b.seq} {b.kind}" for b in breaks[:3])
    more = f" (+{len(breaks) - 3} more)" if len(breaks) > 3 else ""
    return f"{len(breaks)} place" + ("s" if len(breaks) > 1 else "") + f": {first}{more}"


def _coverage(status: Any) -> str:
    if status.anchors == 0 or status.anchored_seq is None:
        return (
            f"no anchors in {status.file}: removed or rebuilt records can go unseen; "
            "run `knot audit anchor` (e.g. from cron)"
        )
    covered = (
        f"{status.anchors} anchors in {status.file}; the newest covers records "
        f"1..{status.anchored_seq} (anchored {fmt_time(status.anchored_at)} UTC)"
    )
    if status.last_seq > status.anchored_seq:
        covered += f"; records {status.anchored_seq + 1}..{status.last_seq} are not anchored yet"
    return covered


@app.command("anchor")
def anchor() -> None:
    """Write the log's head (record number, hash, time), signed with the audit key, to
    the anchors file outside the database; exit 1 without anchoring if the log does not
    verify.

    Run it on the machine that holds the store's key and anchors (the
    server's, with KNOT_STORE naming its database), e.g. every 15 minutes
    from cron: nothing anchors by itself. The first run creates the key
    (KNOT_HOME/keys/audit.key, mode 0600) unless KNOT_AUDIT_KEY or
    KNOT_AUDIT_KEY_FILE names one; from then on new records are sealed
    with it, so every process writing the database directly needs the
    same key. The anchors go to KNOT_AUDIT_ANCHORS, else
    KNOT_HOME/anchors/<store id>.jsonl."""
    from knot.errors import Invalid
    from knot.governance.audit_key import key_path, load_key
    from knot.governance.fluent import governance
    from knot.governance.sql_store import SqlGovernance

    store = governance()
    if not isinstance(store, SqlGovernance):
        raise Invalid(
            f"KNOT_STORE {store.uri} is a Knot server: anchor where the database, the audit key "
            "and the anchors are, on the server's machine with KNOT_STORE naming its database",
            field="store",
        )
    breaks = store.verify_audit()
    if breaks:
        print_table(
            f"audit log is broken in {len(breaks)} places; not anchored",
            ["record #", "what happened", "detail"],
            [(b.seq, b.kind, b.reason) for b in breaks],
        )
        check_failed(f"not anchored: the audit log is broken in {_places(breaks)}")
    had_key = load_key() is not None
    done = store.anchor_audit()
    status = store.anchor_status()
    typer.echo(
        f"anchored record {done.seq} (hash {done.hash[:12]}…) in {status.file}; "
        f"{status.anchors} anchors"
    )
    if not had_key:
        typer.echo(
            f"created the audit key {key_path()} (mode 0600): records are sealed with it from "
            "now on; keep it safe, and give every process that writes this store directly "
            "the same key (KNOT_AUDIT_KEY_FILE)"
        )
