"""The tracking store on SQLite or PostgreSQL (SQLAlchemy Core)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict, Invalid, NotFound
from knot.governance import audit
from knot.store.database import Database, now_ms
from knot.store.prepared import Prepared
from knot.tracking import validate
from knot.tracking.entities import (
    ArtifactRecord,
    Batch,
    Experiment,
    MetricPoint,
    MetricSeries,
    NewRun,
    Run,
    RunPage,
    RunSource,
    RunStatus,
)
from knot.tracking.run_ids import check_prefix
from knot.tracking.sql import histories, run_search
from knot.tracking.sql.points import PointWriter
from knot.tracking.sql.replays import first_delivery
from knot.tracking.sql.run_json import run_json
from knot.tracking.sql.run_writes import (
    RUNS_PRESENT,
    check_new_runs,
    insert_runs,
    run_not_found,
    set_statuses,
)
from knot.tracking.sql.series import find_cycle, in_series_order
from knot.tracking.sql.summaries import summary_rows, upsert_summaries
from knot.tracking.tables import artifacts, experiments, metrics, params, runs
from knot.tracking.tables import tags as tags_table

__all__ = ["SqlTrackingStore"]


class SqlTrackingStore:
    """TrackingStore over a SQL database; every write is one transaction."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.db = Database(uri)
        self._points = PointWriter(self.db.engine.dialect.paramstyle)

    def close(self) -> None:
        self.db.close()

    # experiments -------------------------------------------------------------
    def create_experiment(self, name: str, description: str | None = None) -> Experiment:
        validate.check_name(name, "experiment")
        exp_id = uuid.uuid4().hex
        row = {
            "experiment_id": exp_id,
            "name": name,
            "description": description,
            "created_at": now_ms(),
        }
        try:
            with self.db.write() as conn:
                conn.execute(experiments.insert(), row)
                audit.record(conn, "create", "experiment", exp_id, None, row)
        except IntegrityError:
            raise Conflict(
                f"experiment {name!r} already exists; use it, or pick another name",
                field="name",
            ) from None
        return Experiment(**row)

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self.db.read() as conn:
            row = conn.execute(
                select(experiments).where(experiments.c.experiment_id == experiment_id)
            ).first()
        if row is None:
            raise NotFound(
                f"experiment {experiment_id!r} not found; `knot experiments list` shows them",
                field="experiment_id",
            )
        return Experiment(**row._mapping)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
        return Experiment(**row._mapping) if row else None

    def list_experiments(self) -> list[Experiment]:
        with self.db.read() as conn:
            rows = conn.execute(select(experiments).order_by(experiments.c.created_at)).all()
        return [Experiment(**r._mapping) for r in rows]

    # runs --------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        user: str,
        name: str | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        source: RunSource | None = None,
        start_time: int | None = None,
    ) -> Run:
        new = NewRun(
            run_id=run_id or uuid.uuid4().hex,
            experiment_id=experiment_id,
            user=user,
            name=name,
            parent_run_id=parent_run_id,
            tags=dict(tags or {}),
            source=source or RunSource(),
            start_time=start_time if start_time is not None else now_ms(),
        )
        with self.db.write() as conn:
            entries: list[audit.Entry] = []
            check_new_runs(conn, [new])
            insert_runs(conn, [new], {}, entries)
            audit.record_many(conn, entries)
        return new.as_run()

    @staticmethod
    def _run_exists(conn: Connection, run_id: str) -> bool:
        return conn.execute(_RUN_EXISTS, {"run_id": run_id}).first() is not None

    def set_run_status(self, run_id: str, status: RunStatus, end_time: int | None = None) -> Run:
        status = _status(status)
        if status is not RunStatus.RUNNING and end_time is None:
            end_time = now_ms()
        with self.db.write() as conn:
            entries: list[audit.Entry] = []
            set_statuses(conn, [(run_id, status, end_time)], {}, entries)
            audit.record_many(conn, entries)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        query = select(run_json(self.db.dialect, runs)).where(runs.c.run_id == run_id)
        with self.db.read() as conn:
            text = conn.execute(query).scalar()
        if text is None:
            raise run_not_found(run_id)
        return Run.model_validate_json(text)

    def run_ids_starting(self, prefix: str, limit: int = 11) -> list[str]:
        """Up to `limit` run ids that start with `prefix` (hex digits), sorted."""
        query = (
            select(runs.c.run_id)
            .where(runs.c.run_id.startswith(check_prefix(prefix), autoescape=True))
            .order_by(runs.c.run_id)
            .limit(max(1, min(limit, 1000)))
        )
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    # logging -----------------------------------------------------------------
    def log_batch(self, batch: Batch) -> None:
        """Write metric points, params and tags for any runs in one transaction, or nothing."""
        self.log_batch_with(batch, None)

    def log_batch_with(
        self, batch: Batch, also: Callable[[Connection], None] | None, *, durable: bool = True
    ) -> None:
        """log_batch, and `also` in the same transaction (after the batch), so a caller's
        own rows commit with the runs they describe: one commit instead of two.
        durable=False commits without waiting for the disk (Database.write)."""
        if not len(batch):
            if also is not None:
                with self.db.write(durable=durable) as conn:
                    also(conn)
            return
        key = itemgetter(1)
        validate.check_keys(set(map(key, batch.metrics)), "metric")
        validate.check_keys(set(map(key, batch.params)), "param")
        validate.check_keys(set(map(key, batch.tags)), "tag")
        validate.check_batch(batch)
        with self.db.write(durable=durable) as conn:
            self._write_batch(conn, batch)
            if also is not None:
                also(conn)

    def _write_batch(self, conn: Connection, batch: Batch) -> None:
        run_ids = batch.run_ids()
        ends = [(r, _status(status), t) for r, status, t in batch.ends]
        new_params = _dedupe_params(batch.params)
        writer, seq = batch.writer_id, batch.seq
        if writer is not None and seq is not None and not first_delivery(conn, writer, seq):
            return  # a replay of a batch already written
        # Runs started here are inserted last, already in the state the batch's ends
        # leave them in: one INSERT per table, and no UPDATE of a row just written.
        started = {new.run_id for new in batch.starts}
        check_new_runs(conn, batch.starts)
        found = set(started)
        pending = list(run_ids - found)
        if pending:
            found |= set(conn.execute(RUNS_PRESENT, {"ids": pending}).scalars())
        missing = run_ids - found
        if missing:
            raise run_not_found(sorted(missing)[0])
        ended_here = {r: (s, t) for r, s, t in ends if r in started}
        entries: list[audit.Entry] = []
        insert_runs(conn, batch.starts, ended_here, entries)
        if new_params and not {r for r, _ in new_params} <= started:
            # a run created in this very batch has no stored params to clash with
            new_params = self._check_params(conn, new_params)
        if new_params:
            _INSERT_PARAM.run(
                conn, [{"run_id": r, "key": k, "value": v} for (r, k), v in new_params.items()]
            )
        if batch.tags:
            self._upsert_tags(conn, batch.tags)
        if batch.metrics:
            period = find_cycle(batch.metrics)
            points = batch.metrics if period is None else in_series_order(batch.metrics, period)
            self._points.insert(conn, points)
            upsert_summaries(conn, summary_rows(batch.metrics, period))
        set_statuses(conn, ends, {r: None for r in started}, entries)
        audit.record_many(conn, entries)

    def _check_params(
        self, conn: Connection, new: dict[tuple[str, str], str]
    ) -> dict[tuple[str, str], str]:
        """Drop params already stored with the same value; a different value is a Conflict."""
        keys = {k for _, k in new}
        ids = {r for r, _ in new}
        existing = conn.execute(_PARAMS_OF, {"ids": list(ids), "keys": list(keys)}).all()
        for row in existing:
            value = new.get((row.run_id, row.key))
            if value is None:
                continue
            if value != row.value:
                raise Conflict(
                    f"param {row.key!r} of run {row.run_id} is already {row.value!r}; params "
                    f"are immutable, so {value!r} was refused. Log it under another key or "
                    "start a new run",
                    field="params",
                )
            del new[(row.run_id, row.key)]
        return new

    def _upsert_tags(self, conn: Connection, items: list[tuple[str, str, str]]) -> None:
        """Each (run, key) written takes its last value in `items`; every other tag stays
        (pair by pair: a batch of many runs' tags must not clear one run's key because
        another run in the batch sets it)."""
        latest = {(r, k): v for r, k, v in items}
        _DELETE_TAG.run(conn, [{"run_id": r, "tag_key": k} for r, k in latest])
        _INSERT_TAG.run(conn, [{"run_id": r, "key": k, "value": v} for (r, k), v in latest.items()])

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        with self.db.read() as conn:
            if not self._run_exists(conn, run_id):
                raise run_not_found(run_id)
            rows = conn.execute(
                select(metrics.c.step, metrics.c.timestamp, metrics.c.value)
                .where(metrics.c.run_id == run_id, metrics.c.key == key)
                .order_by(metrics.c.step, metrics.c.timestamp)
            ).all()
        return [MetricPoint(key=key, value=_float(v), step=s, timestamp=t) for s, t, v in rows]

    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int = 2000
    ) -> dict[str, MetricSeries]:
        return histories.metric_histories(self.db, run_ids, key, max_points)

    # search ------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        return run_search.search_runs(
            self.db, experiment_ids, filter, order_by, max_results, page_token
        )

    def count_runs(self) -> int:
        return run_search.count_runs(self.db)

    # artifacts ---------------------------------------------------------------
    def log_artifact(self, run_id: str, record: ArtifactRecord) -> None:
        with self.db.write() as conn:
            if not self._run_exists(conn, run_id):
                raise run_not_found(run_id)
            conn.execute(
                artifacts.delete().where(
                    artifacts.c.run_id == run_id, artifacts.c.path == record.path
                )
            )
            conn.execute(
                artifacts.insert(),
                {"run_id": run_id, "created_at": now_ms(), **record.model_dump()},
            )

    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]:
        with self.db.read() as conn:
            if not self._run_exists(conn, run_id):
                raise run_not_found(run_id)
            rows = conn.execute(
                select(artifacts).where(artifacts.c.run_id == run_id).order_by(artifacts.c.path)
            ).all()
        return [
            ArtifactRecord(path=r.path, digest=r.digest, size=r.size, kind=r.kind) for r in rows
        ]


# Statements on the logging hot path, built once: constructing a SQLAlchemy statement
# costs more than executing it against SQLite.
_RUN_EXISTS = select(runs.c.run_id).where(runs.c.run_id == bindparam("run_id"))
_PARAMS_OF = select(params).where(
    params.c.run_id.in_(bindparam("ids", expanding=True)),
    params.c.key.in_(bindparam("keys", expanding=True)),
)
_INSERT_PARAM = Prepared(params.insert())
_DELETE_TAG = Prepared(
    tags_table.delete().where(
        tags_table.c.run_id == bindparam("run_id"), tags_table.c.key == bindparam("tag_key")
    )
)
_INSERT_TAG = Prepared(tags_table.insert())


def _status(value: str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise Invalid(f"run status {value!r} is not one of {known}", field="status") from None


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _dedupe_params(items: list[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for run_id, key, value in items:
        previous = out.setdefault((run_id, key), value)
        if previous != value:
            raise Conflict(
                f"param {key!r} was given two values in one batch ({previous!r} and {value!r}); "
                "params are immutable",
                field="params",
            )
    return out
