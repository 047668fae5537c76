"""The data area's writes inside a caller's transaction: the dataset row (held while a
version number is taken), its rule set, validation reports and lineage edges, each
with its audit record, so a change and its record commit together or not at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, select

from knot.data.entities import DatasetVersion
from knot.data.rules.report import ValidationReport
from knot.data.rules.ruleset import RuleSet
from knot.data.tables import datasets, validation_reports
from knot.errors import Conflict
from knot.governance import audit
from knot.governance.lineage import Edge, add_edges
from knot.store.database import now_ms

__all__ = ["link_in", "lock_dataset", "refuse_other_rules", "store_report", "store_rules"]


def lock_dataset(
    conn: Connection, name: str, description: str | None, now: int, actor: str
) -> None:
    """Create the dataset row if needed and hold it, so concurrent registrations of
    one dataset take version numbers one after another (PostgreSQL row lock;
    SQLite write transactions are serialised already)."""
    query = select(datasets.c.name).where(datasets.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    if conn.execute(query).first() is not None:
        return
    row = {
        "name": name,
        "description": description,
        "rules": None,
        "created_at": now,
        "created_by": actor,
        "updated_at": now,
    }
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        inserted = conn.execute(
            insert(datasets).on_conflict_do_nothing().returning(datasets.c.name), row
        ).first()
        conn.execute(query)
        if inserted is None:
            return
    else:
        conn.execute(datasets.insert(), row)
    audit.record(conn, "create", "dataset", name, None, {"description": description}, actor)


def store_rules(conn: Connection, name: str, ruleset: RuleSet | None) -> None:
    before = conn.execute(select(datasets.c.rules).where(datasets.c.name == name)).scalar()
    after = json.dumps(ruleset.to_json(), sort_keys=True) if ruleset is not None else None
    if before == after:
        return
    conn.execute(
        datasets.update().where(datasets.c.name == name).values(rules=after, updated_at=now_ms())
    )
    audit.record(
        conn,
        "set_rules",
        "dataset",
        name,
        json.loads(before) if before else None,
        json.loads(after) if after else None,
    )


def store_report(
    conn: Connection,
    name: str,
    version: int,
    ruleset: RuleSet | None,
    report: ValidationReport | None,
    ref: str,
    now: int,
    actor: str,
) -> str | None:
    if report is None or ruleset is None:
        return None
    report_id = uuid.uuid4().hex
    stored = report.model_copy(update={"report_id": report_id, "dataset": ref, "source": None})
    conn.execute(
        validation_reports.insert(),
        {
            "report_id": report_id,
            "name": name,
            "version": version,
            "passed": stored.passed,
            "rules": json.dumps(ruleset.to_json(), sort_keys=True),
            "report": stored.model_dump_json(),
            "created_at": now,
            "created_by": actor,
        },
    )
    return report_id


def link_in(
    conn: Connection, version: DatasetVersion, run_id: str | None, inputs: Sequence[str]
) -> None:
    edges = [Edge("run", run_id, "output", "dataset", version.ref)] if run_id else []
    edges += [
        Edge("dataset", ref, "derived", "dataset", version.ref)
        for ref in inputs
        if ref != version.ref
    ]
    add_edges(conn, edges)


def refuse_other_rules(conn: Connection, existing: DatasetVersion, ruleset: RuleSet) -> None:
    """Registering content a version already holds returns that version; with rules
    other than those it was checked against, that would silently ignore them (and hand
    back a version they might reject), so it is refused, naming the way to check it."""
    checked = None
    if existing.report_id is not None:
        checked = conn.execute(
            select(validation_reports.c.rules).where(
                validation_reports.c.report_id == existing.report_id
            )
        ).scalar()
    if checked == json.dumps(ruleset.to_json(), sort_keys=True):
        return
    how = "against other rules" if checked is not None else "without rules"
    raise Conflict(
        f"{existing.ref} already holds this content, checked {how} when it was registered "
        f"(status {existing.status.value}); a version is checked once and never changes, "
        f"so these rules were not applied and nothing was registered. To check "
        f"{existing.ref} against them, run `knot data validate {existing.ref} --rules FILE` "
        "(knot.validate_dataset): the report is kept with the version"
    )
