"""Delayed-label performance: the prediction log joined with the label log by
(request_id, row) in DuckDB, the latest label winning, metrics per tumbling window of
prediction time, per model version and optionally per value of a segment feature."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from knot.errors import Invalid
from knot.metrics import classifier_metrics, regressor_metrics
from knot.monitoring.windows import parse_window
from knot.registry.task import TASKS
from knot.store.database import now_ms

__all__ = ["PredictionLogs", "WindowMetrics", "open_logs", "performance", "performance_since"]


@dataclass(frozen=True)
class PredictionLogs:
    """A model's prediction log (a pyarrow Dataset, None when nothing is logged) and
    its label files, as present when opened: one monitoring pass opens them once."""

    model: str
    predictions: Any
    label_files: list[str]


def open_logs(model: str, root: Path | None = None) -> PredictionLogs:
    """The prediction and label logs of `model` under `root` (default: where the services
    log: the local folder, or this process's fresh copy of the shared log store)."""
    from knot.serving.logs.labels import label_dataset
    from knot.serving.logs.mirror import readable_root
    from knot.serving.logs.predictions import prediction_log_dataset

    root = readable_root(model, root)
    predictions = prediction_log_dataset(model, root)
    labels = label_dataset(model, root) if predictions is not None else None
    return PredictionLogs(model, predictions, labels.files if labels is not None else [])


class WindowMetrics(BaseModel):
    """One window's (and version's, and segment value's) rows, labels and metrics."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int | None  # None when versions are pooled (by_version=False)
    window: str
    window_start: int
    window_end: int
    segment: str | None = None
    segment_value: str | None = None
    task: str
    rows: int  # logged prediction rows, shadow answers included
    served_rows: int  # rows answered to callers (champion or challenger)
    labeled: int
    invalid_labels: int = 0  # labels that do not fit the model's predictions
    metrics: dict[str, float | None]


def performance(
    model: str,
    *,
    window: str = "1h",
    by_version: bool = True,
    segment: str | None = None,
    task: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    root: Path | None = None,
    logs: PredictionLogs | None = None,
) -> list[WindowMetrics]:
    """Metrics of `model` per window (oldest first), from labels sent so far.

    `task` is "classification" or "regression"; by default a model whose predictions are
    floats without scores is a regressor and every other one a classifier. `logs` are
    the logs already opened (`open_logs`), else they are opened from `root`.
    """
    width = parse_window(window)
    return _measure(model, window, width, by_version, segment, task, since_ms, until_ms, root, logs)


def performance_since(
    model: str,
    since_ms: int,
    *,
    task: str | None = None,
    root: Path | None = None,
    logs: PredictionLogs | None = None,
) -> list[WindowMetrics]:
    """Metrics of `model` per version over every row logged since `since_ms`, as one span
    (window "all", from `since_ms` to now): what a canary is judged on. Tumbling windows
    would cut a canary in two and leave its labeled rows in pieces whose metrics
    (an AUC, an RMSE) cannot be added back together."""
    return _measure(model, "all", None, True, None, task, since_ms, None, root, logs)


def _measure(
    model: str,
    window: str,
    width: int | None,  # None: one span from since_ms on
    by_version: bool,
    segment: str | None,
    task: str | None,
    since_ms: int | None,
    until_ms: int | None,
    root: Path | None,
    logs: PredictionLogs | None,
) -> list[WindowMetrics]:
    if task is not None and task not in TASKS:
        raise Invalid(f"task {task!r} is not one of {', '.join(TASKS)}", field="task")
    logs = logs if logs is not None else open_logs(model, root)
    predictions = logs.predictions
    if predictions is None:
        return []
    names = predictions.schema.names
    features = predictions.schema.field("features").type if "features" in names else None
    if segment is not None:
        _check_segment(segment, features)
    query = _Query(predictions, logs.label_files, width)
    counts, labeled = query.run(by_version, segment, since_ms, until_ms)
    kind = task or _task_of(predictions.schema.field("prediction").type, labeled)
    out = []
    for key, (rows, served) in counts.items():
        version, start, value = key
        group = labeled.get(key)
        metrics, n, invalid = _metrics(kind, group)
        if width is None:
            start, end = since_ms or 0, until_ms or now_ms()
        else:
            end = start + width
        out.append(
            WindowMetrics(
                model=model,
                version=version,
                window=window,
                window_start=start,
                window_end=end,
                segment=segment,
                segment_value=value,
                task=kind,
                rows=rows,
                served_rows=served,
                labeled=n,
                invalid_labels=invalid,
                metrics=metrics,
            )
        )
    return sorted(out, key=lambda m: (m.window_start, m.version or 0, m.segment_value or ""))


def _check_segment(segment: str, features: Any) -> None:
    import pyarrow as pa

    fields = [f.name for f in features] if isinstance(features, pa.StructType) else []
    if segment not in fields:
        raise Invalid(
            f"segment {segment!r} is not a feature in the prediction log; use one of "
            f"{', '.join(fields) or '(none: the model takes a tensor)'}",
            field="segment",
        )


_Key = tuple[int | None, int, str | None]


class _Query:
    """The two DuckDB queries: row counts per group, and the labeled rows themselves."""

    def __init__(self, predictions: Any, label_files: list[str], width: int | None) -> None:
        self.predictions = predictions  # the log's pyarrow Dataset: one schema for all files
        self.label_files = label_files
        self.width = width

    def run(
        self, by_version: bool, segment: str | None, since: int | None, until: int | None
    ) -> tuple[dict[_Key, tuple[int, int]], dict[_Key, dict[str, np.ndarray]]]:
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET threads TO 2")
            keys = self._keys(by_version, segment)
            where, params = self._where(since, until)
            con.register("p", self.predictions)
            counts = con.execute(
                f"SELECT {keys}, count(*), count(*) FILTER (WHERE role <> 'shadow') "
                f"FROM p {where} GROUP BY ALL",
                params,
            ).fetchall()
            rows: dict[str, Any] = con.execute(
                f"WITH l AS ({self._latest_labels()}) "
                f"SELECT {keys}, p.prediction, p.score, l.label FROM p "
                f"JOIN l ON p.request_id = l.request_id AND p.row = l.row {where}",
                {**params, **self._label_params()},
            ).fetchnumpy()
        finally:
            con.close()
        count_map = {
            (_int(r[0]), int(r[1]), _segment(r[2])): (int(r[3]), int(r[4])) for r in counts
        }
        return count_map, _group(rows)

    def _keys(self, by_version: bool, segment: str | None) -> str:
        version = "CAST(p.version AS BIGINT)" if by_version else "NULL::BIGINT"
        start = (
            "0::BIGINT"  # one span: every row in one group
            if self.width is None
            else f"(epoch_ms(p.timestamp) // {self.width}) * {self.width}"
        )
        seg = "NULL::VARCHAR"
        if segment is not None:
            quoted = segment.replace('"', '""')
            seg = f'CAST(p.features."{quoted}" AS VARCHAR)'
        return f"{version} AS k_version, {start} AS k_start, {seg} AS k_segment"

    def _where(self, since: int | None, until: int | None) -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        if since is not None:
            clauses.append("epoch_ms(p.timestamp) >= $since")
            params["since"] = since
        if until is not None:
            clauses.append("epoch_ms(p.timestamp) < $until")
            params["until"] = until
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _latest_labels(self) -> str:
        if not self.label_files:
            return (
                "SELECT NULL::VARCHAR AS request_id, NULL::INTEGER AS row, "
                "NULL::VARCHAR AS label WHERE false"
            )
        # ties on the arrival time go to the file written later, then the later row in it
        return (
            "SELECT request_id, row, label FROM read_parquet($lfiles, filename=true, "
            "file_row_number=true, hive_partitioning=false) QUALIFY row_number() OVER ("
            "PARTITION BY request_id, row ORDER BY timestamp DESC, filename DESC, "
            "file_row_number DESC) = 1"
        )

    def _label_params(self) -> dict[str, Any]:
        return {"lfiles": self.label_files} if self.label_files else {}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _group(rows: dict[str, np.ndarray]) -> dict[_Key, dict[str, np.ndarray]]:
    """Labeled rows split by (version, window start, segment value), vectorised."""
    import pandas as pd

    if len(rows["k_start"]) == 0:
        return {}
    keys = pd.DataFrame(
        {
            "version": pd.array(_plain(rows["k_version"]), dtype="Int64"),
            "start": rows["k_start"].astype(np.int64),
            "segment": pd.array(_plain(rows["k_segment"]), dtype="string"),
        }
    )
    columns = {name: _plain(rows[name]) for name in ("prediction", "score", "label")}
    out: dict[_Key, dict[str, np.ndarray]] = {}
    groups: dict[Any, Any] = keys.groupby(
        ["version", "start", "segment"], dropna=False, sort=False
    ).indices
    for group, positions in groups.items():
        version, start, segment = group
        key = (None if pd.isna(version) else int(version), int(start), _segment(segment))
        out[key] = {name: values[positions] for name, values in columns.items()}
    return out


def _segment(value: Any) -> str | None:
    import pandas as pd

    return None if pd.isna(value) else str(value)


def _plain(values: np.ndarray) -> np.ndarray:
    """A masked array from DuckDB as a plain one (NULL -> None, or NaN for scores)."""
    if isinstance(values, np.ma.MaskedArray):
        if values.dtype.kind == "f":
            return values.filled(np.nan)
        out = values.data.astype(object)
        out[np.ma.getmaskarray(values)] = None
        return out
    return values


def _task_of(prediction_type: Any, labeled: dict[_Key, dict[str, np.ndarray]]) -> str:
    import pyarrow as pa

    if not pa.types.is_floating(prediction_type):
        return "classification"
    for group in labeled.values():
        score = group["score"].astype(np.float64)
        if not np.isnan(score).all():
            return "classification"
    return "regression"


def _metrics(
    task: str, group: dict[str, np.ndarray] | None
) -> tuple[dict[str, float | None], int, int]:
    if group is None:
        empty = np.asarray([], dtype=np.float64)
        if task == "regression":
            return regressor_metrics(empty, empty), 0, 0
        return classifier_metrics(empty, empty), 0, 0
    prediction = group["prediction"]
    numeric = prediction.dtype.kind in "biuf"
    labels, ok = _decode(group["label"], numeric)
    invalid = int((~ok).sum())
    y_true, y_pred = labels[ok], prediction[ok]
    if numeric:
        y_pred = y_pred.astype(np.float64)
    else:
        y_pred = np.asarray([str(v) for v in y_pred], dtype=object)
    if task == "regression":
        return regressor_metrics(y_true.astype(np.float64), y_pred), len(y_true), invalid
    score = group["score"].astype(np.float64)[ok]
    return classifier_metrics(y_true, y_pred, score), len(y_true), invalid


def _decode(encoded: np.ndarray, numeric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Labels (JSON text) as numbers (or strings for string predictions), and which of
    them could be read so. Each distinct label text is decoded once."""
    import pandas as pd

    codes, found = pd.factorize(pd.Series(encoded, dtype=object), use_na_sentinel=False)
    uniques: list[Any] = list(found)
    if numeric:
        text = pd.Series(uniques, dtype=object)
        fast = pd.to_numeric(text.replace({"true": "1", "false": "0"}), errors="coerce")
        decoded = np.array(fast.to_numpy(dtype=np.float64, na_value=np.nan))
        for i in np.flatnonzero(np.isnan(decoded)):  # quoted numbers and the like
            value = _convert(uniques[i], numeric=True)
            decoded[i] = np.nan if value is None else value
        values = decoded[codes]
        return values, ~np.isnan(values)
    texts = [_convert(u, numeric=False) for u in uniques]
    ok_unique = np.asarray([t is not None for t in texts], dtype=bool)
    labels = np.asarray([t if t is not None else "" for t in texts], dtype=object)
    return labels[codes], ok_unique[codes]


def _convert(text: Any, numeric: bool) -> Any:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    if value is None:
        return None
    if not numeric:
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
