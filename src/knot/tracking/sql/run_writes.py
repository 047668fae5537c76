"""Writing runs in bulk: the new runs, their tags and their status changes of one batch,
one statement per table (a short run's start, params, metrics and end arrive together)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache

from sqlalchemy import Connection, bindparam, literal_column, select, union_all

from knot.errors import Conflict, NotFound
from knot.governance import audit
from knot.store.prepared import Prepared
from knot.tracking import validate
from knot.tracking.entities import NewRun, RunStatus
from knot.tracking.tables import experiments, runs
from knot.tracking.tables import tags as tags_table

__all__ = ["RUNS_PRESENT", "check_new_runs", "insert_runs", "run_not_found", "set_statuses"]


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"run {run_id!r} not found; `knot runs list` shows runs", field="run_id")


def check_new_runs(conn: Connection, starts: Sequence[NewRun]) -> None:
    """Refuse the batch's new runs as creating them one by one would, first failure first:
    a bad id, name or tag, an unknown experiment or parent, a run id already taken."""
    if not starts:
        return
    for new in starts:
        validate.check_run_id(new.run_id)
        if new.name is not None:
            validate.check_name(new.name, "run")
        validate.check_keys(new.tags, "tag")
    exp_ids = list({new.experiment_id for new in starts})
    asked = list(
        {new.run_id for new in starts}
        | {new.parent_run_id for new in starts if new.parent_run_id is not None}
    )
    # one statement for both lookups (a short run's batch is on the logging hot path)
    known_exps: set[str] = set()
    stored: set[str] = set()
    values = {f"e{i}": e for i, e in enumerate(exp_ids)} | {f"r{i}": r for i, r in enumerate(asked)}
    for kind, found in _present(len(exp_ids), len(asked)).all(conn, values):
        (known_exps if kind == "e" else stored).add(found)
    earlier: set[str] = set()
    for new in starts:
        if new.experiment_id not in known_exps:
            raise NotFound(
                f"experiment {new.experiment_id!r} not found; `knot experiments list` shows them",
                field="experiment_id",
            )
        parent = new.parent_run_id
        if parent is not None and parent not in earlier and parent not in stored:
            raise NotFound(f"parent run {parent!r} not found", field="parent_run_id")
        if new.run_id in earlier or new.run_id in stored:
            raise Conflict(f"run {new.run_id!r} already exists", field="run_id")
        earlier.add(new.run_id)


def insert_runs(
    conn: Connection,
    starts: Sequence[NewRun],
    ended: Mapping[str, tuple[RunStatus, int | None]],
    entries: list[audit.Entry],
) -> None:
    """Insert new runs (checked by check_new_runs), each in the state `ended` gives it
    (RUNNING otherwise); the audit log still gets the create record of a RUNNING run."""
    if not starts:
        return
    rows, tag_rows = [], []
    for new in starts:
        source = new.source
        row = {
            "run_id": new.run_id,
            "experiment_id": new.experiment_id,
            "name": new.name or f"run-{new.run_id[:8]}",
            "status": RunStatus.RUNNING.value,
            "start_time": new.start_time,
            "end_time": None,
            "user": new.user,
            "parent_run_id": new.parent_run_id,
            "git_commit": source.git_commit,
            "git_dirty": source.git_dirty,
            "command": source.command,
            "python_version": source.python_version,
            "packages": json.dumps(source.packages, sort_keys=True),
        }
        entries.append(("create", "run", new.run_id, None, {**row, "tags": new.tags}))
        end = ended.get(new.run_id)
        if end is not None:
            row = {**row, "status": end[0].value, "end_time": end[1]}
        rows.append(row)
        tag_rows += [{"run_id": new.run_id, "key": k, "value": v} for k, v in new.tags.items()]
    _INSERT_RUN.run(conn, rows)
    if tag_rows:
        _INSERT_TAG.run(conn, tag_rows)


def set_statuses(
    conn: Connection,
    ends: Sequence[tuple[str, RunStatus, int | None]],
    written: Mapping[str, None],
    entries: list[audit.Entry],
) -> None:
    """Apply status changes in order with their audit records. Runs in `written` were
    just inserted in their final state, so only their records are added; the others are
    read once and updated in one statement."""
    if not ends:
        return
    state: dict[str, tuple[str, int | None]] = {
        r: (RunStatus.RUNNING.value, None) for r, _, _ in ends if r in written
    }
    others = list({r for r, _, _ in ends if r not in written})
    if others:
        for row in conn.execute(_STATUSES_OF, {"ids": others}):
            state[row.run_id] = (row.status, row.end_time)
    updates = []
    for run_id, status, end_time in ends:
        before = state.get(run_id)
        if before is None:
            raise run_not_found(run_id)
        state[run_id] = (status.value, end_time)
        entries.append(
            (
                "set_status",
                "run",
                run_id,
                {"status": before[0], "end_time": before[1]},
                {"status": status.value, "end_time": end_time},
            )
        )
        if run_id not in written:
            updates.append({"rid": run_id, "new_status": status.value, "new_end": end_time})
    if updates:
        conn.execute(_SET_STATUS, updates)


# Built once: constructing a SQLAlchemy statement costs more than running it on SQLite.
_STATUSES_OF = select(runs.c.run_id, runs.c.status, runs.c.end_time).where(
    runs.c.run_id.in_(bindparam("ids", expanding=True))
)

RUNS_PRESENT = select(runs.c.run_id).where(runs.c.run_id.in_(bindparam("ids", expanding=True)))


@lru_cache(maxsize=32)
def _present(exps: int, ids: int) -> Prepared:
    """Which of `exps` experiment ids (e0, e1, ...) and `ids` run ids (r0, r1, ...)
    exist, as ('e', id) and ('r', id) rows; one statement per shape, built once."""
    return Prepared(
        union_all(
            select(literal_column("'e'"), experiments.c.experiment_id).where(
                experiments.c.experiment_id.in_([bindparam(f"e{i}") for i in range(exps)])
            ),
            select(literal_column("'r'"), runs.c.run_id).where(
                runs.c.run_id.in_([bindparam(f"r{i}") for i in range(ids)])
            ),
        )
    )


_SET_STATUS = (
    runs.update()
    .where(runs.c.run_id == bindparam("rid"))
    .values(status=bindparam("new_status"), end_time=bindparam("new_end"))
)
_INSERT_RUN = Prepared(runs.insert())
_INSERT_TAG = Prepared(tags_table.insert())
