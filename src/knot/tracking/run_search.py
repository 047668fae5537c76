"""Run search for the SQL tracking store: a filter and ordering over runs, answered a
page at a time, each run rendered as JSON by the database (knot.tracking.run_json)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from pydantic import TypeAdapter
from sqlalchemy import func, select

from knot.errors import Invalid
from knot.store.database import Database
from knot.tracking.entities import Run, RunPage
from knot.tracking.filters import parse_filter, parse_order_by
from knot.tracking.run_json import run_json
from knot.tracking.tables import runs

__all__ = ["MAX_RESULTS", "count_runs", "search_runs"]

MAX_RESULTS = 50_000

_RUNS = TypeAdapter(list[Run])


def search_runs(
    db: Database,
    experiment_ids: Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> RunPage:
    """One page of the runs that match `filter`, in `order_by` order (newest first on ties)."""
    if not 1 <= max_results <= MAX_RESULTS:
        raise Invalid(
            f"max_results {max_results} is out of range; use 1..{MAX_RESULTS} and page "
            "with page_token",
            field="max_results",
        )
    offset = _decode_token(page_token)
    # The page's ids first, then the JSON of those runs only: a database that sorts
    # (SQLite does for any order but the start-time index) would otherwise build the JSON
    # of every matching run to carry it through the sort, 100,000 objects for 50 shown.
    query = select(runs.c.run_id)
    if experiment_ids:
        query = query.where(runs.c.experiment_id.in_(list(experiment_ids)))
    condition = parse_filter(filter, runs)
    if condition is not None:
        query = query.where(condition)
    order = parse_order_by(list(order_by or []), runs)
    order += [runs.c.start_time.desc(), runs.c.run_id]
    query = query.order_by(*order).offset(offset).limit(max_results + 1)
    with db.read() as conn:
        ids = conn.execute(query).scalars().all()
        shown = list(ids[:max_results])
        found: dict[str, str] = {}
        for lo in range(0, len(shown), 1000):  # bound the IN list on huge pages
            chunk = shown[lo : lo + 1000]
            fetch = select(runs.c.run_id, run_json(db.dialect, runs))
            found.update(conn.execute(fetch.where(runs.c.run_id.in_(chunk))).tuples().all())
    page = _RUNS.validate_json("[" + ",".join(found[i] for i in shown) + "]")
    token = _encode_token(offset + max_results) if len(ids) > max_results else None
    return RunPage(runs=page, next_page_token=token)


def count_runs(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise Invalid(
            f"page_token {token!r} is not one Knot issued; pass next_page_token from the "
            "previous page",
            field="page_token",
        ) from None
