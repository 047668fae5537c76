"""BatchWriter.flush_with: the caller's rows commit in the transaction that writes the
buffered batch; when the caller's write fails, the batch is still written the ordinary
way and the caller sees its own error."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, select

import knot
from knot.errors import Conflict
from knot.tracking.fluent import session
from knot.tracking.tables import runs


def test_the_callers_rows_see_the_batch_in_the_same_transaction(knot_home: Path) -> None:
    s = session()
    run = s.start_run("together")
    run.log_param("alpha", 0.5)
    run.end(flush=False)
    seen: list[str] = []

    def also(conn: Connection) -> None:
        row = conn.execute(select(runs.c.status).where(runs.c.run_id == run.run_id)).one()
        seen.append(row.status)

    s.writer.flush_with(lambda batch: s.store.log_batch_with(batch, also))  # type: ignore[attr-defined]
    assert seen == ["FINISHED"]
    stored = knot.get_run(run.run_id)
    assert stored.status.value == "FINISHED"
    assert stored.params == {"alpha": "0.5"}


def test_a_failed_write_still_delivers_the_batch_and_raises(knot_home: Path) -> None:
    s = session()
    run = s.start_run("refused")
    run.log_param("alpha", 0.5)
    run.end(flush=False)

    def refuse(conn: Connection) -> None:
        raise Conflict("the caller's row clashes", field="row")

    with pytest.raises(Conflict, match="the caller's row clashes"):
        s.writer.flush_with(lambda batch: s.store.log_batch_with(batch, refuse))  # type: ignore[attr-defined]
    stored = knot.get_run(run.run_id)
    assert stored.status.value == "FINISHED"
    assert stored.params == {"alpha": "0.5"}
    s.writer.flush()  # nothing left to report: the caller already saw its error
