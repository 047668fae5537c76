"""Run search for the SQL tracking store: a filter and ordering over runs, answered a
page at a time, each run rendered as JSON by the database (knot.tracking.sql.run_json)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Select,
    String,
    bindparam,
    cast,
    exists,
    func,
    select,
    text,
)

from knot.errors import Invalid
from knot.store.database import Database
from knot.tracking.entities import RunPage
from knot.tracking.filters import order_item, parse_filter, parse_order_by
from knot.tracking.sql.run_json import run_json_parts
from knot.tracking.sql.run_page import validate_page
from knot.tracking.tables import metric_summaries, runs

__all__ = ["MAX_RESULTS", "count_runs", "search_runs"]

MAX_RESULTS = 50_000


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
    where: list[Any] = []
    if experiment_ids:
        where.append(runs.c.experiment_id.in_(list(experiment_ids)))
    condition = parse_filter(filter, runs)
    if condition is not None:
        where.append(condition)
    items = list(order_by or [])
    order = [*parse_order_by(items, runs), runs.c.start_time.desc(), runs.c.run_id]
    with db.read() as conn:
        if db.dialect == "postgresql":
            # A page is read off an index and stops early; PostgreSQL's planner still
            # picks a parallel plan over a large experiment, and starting its workers
            # costs more than the page (34 vs 10 ms at 100k runs on 2 busy cores). LOCAL:
            # only this read transaction, never the pooled connection's next user.
            conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        leading = order_item(items[0]) if items else None
        if leading is not None and leading[0] == "metric":
            ids = _by_metric(conn, leading[1], leading[2], where, order[1:], offset, max_results)
        else:
            query = select(runs.c.run_id).where(*where).order_by(*order)
            ids = conn.execute(query.offset(offset).limit(max_results + 1)).scalars().all()
        shown = list(ids[:max_results])
        rows = conn.execute(_fetch(db.dialect), {"ids": json.dumps(shown)}).all()
    page = validate_page(rows)
    token = _encode_token(offset + max_results) if len(ids) > max_results else None
    return RunPage(runs=page, next_page_token=token)


@lru_cache(maxsize=4)
def _fetch(dialect: str) -> Select[Any]:
    """The runs whose ids the JSON array parameter `ids` lists, in that order, as
    (source, rest of the run) JSON (run_json_parts; knot.tracking.sql.run_page reads them).
    One parameter for a whole page: an IN list of 1,000 bound values cost SQLAlchemy
    more to render on every call than the database took to look the runs up."""
    ids: Any = bindparam("ids", type_=String)
    if dialect == "postgresql":
        listed = func.json_array_elements_text(cast(ids, JSON))
        page = listed.table_valued("value", with_ordinality="position").render_derived("page")
    else:
        page = func.json_each(ids).table_valued("value", "key").alias("page")
    position = page.c.position if dialect == "postgresql" else page.c.key
    joined = page.join(runs, runs.c.run_id == page.c.value)
    return select(*run_json_parts(dialect, runs)).select_from(joined).order_by(position)


def _by_metric(
    conn: Connection,
    key: str,
    direction: str,
    where: list[Any],
    then: list[Any],
    offset: int,
    max_results: int,
) -> Sequence[str]:
    """One page of ids ordered by a metric's latest value, nulls last, read in the order
    of the (key, latest) index so a database stops after the page instead of looking up
    and sorting every run's value: the runs with a value first, then, once those run
    out, the runs without one."""
    # an alias, so a filter's own subqueries on metric_summaries never correlate with it
    s = metric_summaries.alias("ordering")
    value = s.c.latest.desc() if direction == "desc" else s.c.latest.asc()
    valued = s.c.latest.is_not(None)
    limit = max_results + 1
    first = (
        select(runs.c.run_id)
        .join(s, (s.c.run_id == runs.c.run_id) & (s.c.key == key))
        .where(valued, *where)
        .order_by(value, *then)
    )
    ids = list(conn.execute(first.offset(offset).limit(limit)).scalars())
    if len(ids) == limit:
        return ids
    if ids:
        with_value = offset + len(ids)
    else:  # the page starts past the runs with a value: count them to go on from there
        count = select(func.count()).select_from(first.order_by(None).subquery())
        with_value = int(conn.execute(count).scalar_one())
    has_value = exists(select(1).where(s.c.run_id == runs.c.run_id, s.c.key == key, valued))
    rest = select(runs.c.run_id).where(~has_value, *where).order_by(*then)
    skip = max(0, offset - with_value)
    ids += conn.execute(rest.offset(skip).limit(limit - len(ids))).scalars()
    return ids


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
