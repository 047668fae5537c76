"""Check a Parquet file against a RuleSet with DuckDB: every rule is one aggregate, so a
whole rule set runs in one scan, and failing rules cost one more for example rows."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from knot.data.duck import ident, literal, sandboxed
from knot.data.lanes import lanes, query, run_tasks, split
from knot.data.profile import Profile
from knot.data.rules.checks import plan_rules
from knot.data.rules.planned import Planned
from knot.data.rules.report import RuleResult, RuleStatus, ValidationReport
from knot.data.rules.ruleset import RuleSet
from knot.errors import Invalid
from knot.store.database import now_ms

__all__ = ["EXAMPLES", "validate_parquet"]

EXAMPLES = 5
_EXAMPLE_COLUMNS = 20
# what a rule kind costs per row, a plain comparison (or reading the column) being 1,
# measured with DuckDB; only used to balance lanes (knot.data.lanes)
_COST = {"regex": 12, "unique": 12, "quantiles_within": 10, "allowed": 6, "length": 4, "check": 3}


def read_schema(path: Path) -> tuple[pa.Schema, int]:
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(f"{path} is not a readable Parquet file ({exc})", field="source") from None
    return file.schema_arrow, file.metadata.num_rows


def validate_parquet(
    path: str | Path,
    rules: RuleSet,
    *,
    reference: Profile | None = None,
    reference_name: str | None = None,
    examples: int = EXAMPLES,
    dataset: str | None = None,
) -> ValidationReport:
    """Check every rule over the file at `path`; the report holds one result per rule."""
    path = Path(path)
    schema, rows = read_schema(path)
    planned = plan_rules(rules, schema, rows, reference, reference_name)
    con = sandboxed(path)
    table = f"read_parquet({literal(str(path))})"
    try:
        values = _aggregate(con, path, table, [p for p in planned if p.decided is None])
        results = []
        for p in planned:
            if p.decided is not None:
                results.append(p.decided)
                continue
            assert p.judge is not None
            ok, failing, observed = p.judge(values[p.name], rows)
            results.append(
                p.result(RuleStatus.PASSED if ok else RuleStatus.FAILED, observed, failing)
            )
        if examples > 0:
            results = _with_examples(con, path, schema, planned, results, examples)
    finally:
        con.close()
    return ValidationReport(
        dataset=dataset,
        source=None if dataset else str(path),
        rows=rows,
        reference=reference_name,
        results=results,
        created_at=now_ms(),
    )


def _aggregate(con: Any, path: Path, table: str, planned: list[Planned]) -> dict[str, Any]:
    """Every rule's aggregate, in one query per lane (see knot.data.lanes)."""
    if not planned:
        return {}
    by_column: dict[str | None, list[Planned]] = {}
    for p in planned:
        by_column.setdefault(p.column, []).append(p)

    def cost(group: list[Planned]) -> float:
        return 1 + sum(_COST.get(p.kind, 1) for p in group)

    groups = [
        [p for g in lane for p in g] for lane in split(list(by_column.values()), cost, lanes(path))
    ]
    tasks = [
        (cost(g), query(con, f"SELECT {', '.join(p.aggregate or 'NULL' for p in g)} FROM {table}"))
        for g in groups
    ]
    try:
        rows = run_tasks(tasks)
    except Exception as exc:  # a duckdb.Error from one rule's SQL
        raise _culprit(con, table, planned, exc) from None
    return {
        p.name: value
        for g, result in zip(groups, rows, strict=True)
        for p, value in zip(g, result[0], strict=True)
    }


def _culprit(con: Any, table: str, planned: list[Planned], exc: Exception) -> Invalid:
    """Name the rule whose SQL DuckDB could not run: try each on its own."""
    for p in planned:
        try:
            con.execute(f"SELECT {p.aggregate} FROM {table}").fetchone()
        except Exception as own:
            return Invalid(
                f"rule {p.name!r} could not be checked: {_first_line(own)}; fix its "
                f"{'sql' if p.kind == 'check' else p.kind} ({p.expected!r})",
                field=p.name,
            )
    return Invalid(f"the rules could not be checked: {_first_line(exc)}", field="rules")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


def _with_examples(
    con: Any,
    path: Path,
    schema: pa.Schema,
    planned: list[Planned],
    results: list[RuleResult],
    n: int,
) -> list[RuleResult]:
    """Attach up to n example rows (or duplicated values) to every failing rule."""
    failed = {r.name for r in results if r.status is RuleStatus.FAILED and r.failing}
    by_rows = [p for p in planned if p.name in failed and p.violation is not None]
    found: dict[str, list[dict[str, Any]]] = {}
    numbered = f"read_parquet({literal(str(path))}, file_row_number = true)"
    if by_rows:
        picks = ", ".join(
            f"min_by(file_row_number, file_row_number, {n}) FILTER (WHERE {p.violation})"
            for p in by_rows
        )
        row_numbers = con.execute(f"SELECT {picks} FROM {numbered}").fetchone()
        wanted = sorted({i for ids in row_numbers for i in ids or []})
        rows = _rows(con, numbered, schema, wanted, [p.column for p in by_rows])
        for p, ids in zip(by_rows, row_numbers, strict=True):
            found[p.name] = [rows[i] for i in ids or [] if i in rows]
    for p in planned:
        if p.name in failed and p.duplicates_of is not None:
            col = ident(p.duplicates_of)
            dupes = con.execute(
                f"SELECT {col}, count(*) AS n FROM read_parquet({literal(str(path))}) "
                f"WHERE {col} IS NOT NULL GROUP BY {col} HAVING count(*) > 1 "
                f"ORDER BY n DESC LIMIT {n}"
            ).fetchall()
            found[p.name] = [{"value": _json(v), "count": int(c)} for v, c in dupes]
    return [
        r.model_copy(update={"examples": found[r.name]}) if r.name in found else r for r in results
    ]


def _rows(
    con: Any, numbered: str, schema: pa.Schema, wanted: list[int], first: list[str | None]
) -> dict[int, dict[str, Any]]:
    if not wanted:
        return {}
    names = list(dict.fromkeys([c for c in first if c] + schema.names))[:_EXAMPLE_COLUMNS]
    cols = ", ".join(ident(c) for c in names)
    ids = ", ".join(str(int(i)) for i in wanted)
    result = con.execute(
        f"SELECT file_row_number, {cols} FROM {numbered} WHERE file_row_number IN ({ids})"
    ).fetchall()
    return {
        int(r[0]): {"row": int(r[0]), **{c: _json(v) for c, v in zip(names, r[1:], strict=True)}}
        for r in result
    }


def _json(value: Any) -> Any:
    """A value as JSON can hold it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value
