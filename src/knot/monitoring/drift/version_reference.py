"""What one model version's windows are compared with, for `monitor_run`: its
reference data (the model's configured reference, or else the dataset its training
run read, found in lineage: model version <- run <- dataset), read once per pass, and
the version's own outputs on that reference (knot.monitoring.drift.reference_outputs), so a
window's logged `prediction` and `score` get drift too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knot.monitoring.drift.report import ColumnDrift, DriftReport
from knot.monitoring.stores import monitoring_store

__all__ = ["Compared", "VersionReference", "training_reference"]


@dataclass(frozen=True)
class Compared:
    """One window's drift: the features (with `report.prediction` set when the version's
    predictions could be compared) and the score's drift."""

    report: DriftReport
    score: ColumnDrift | None


class VersionReference:
    """A version's reference data and outputs, each read or scored once per pass;
    `notes` say why prediction drift was left out."""

    def __init__(self, uri: str, error: str | None = None) -> None:
        self.uri = uri
        self.error = error
        self.notes: list[str] = []
        self._table: Any = None
        self._reference: Any = None
        self._columns: list[str] | None = None
        self._outputs: Any = None
        self._output_names: list[str] | None = None

    @classmethod
    def find(cls, model: str, version: int, configured: str | None) -> VersionReference:
        uri = configured or training_reference(model, version)
        if uri is None:
            return cls(
                "",
                f"no drift for {model} version {version}: its training run logged no dataset; "
                "log the training data with knot.log_dataset / run.log_input, or set "
                "`reference: dataset:NAME@VERSION` in the monitor rules file",
            )
        return cls(uri)

    def compare(self, model: str, version: int, start: int, end: int, log: Any) -> Compared | None:
        """Drift of `version`'s window [start, end) of the prediction log `log` (the
        pyarrow Dataset knot.serving.logs.predictions opens, or None when nothing is logged)."""
        from knot.monitoring.drift.batch import Reference, drift
        from knot.monitoring.drift.samples import comparable_columns, load_table, struct_table

        window = _window(log, version, start, end)
        if window is None or window.num_rows == 0:
            return None
        features = struct_table(window.column("features"))
        if self._reference is None:
            self._table = load_table(self.uri, "reference")
            self._columns = comparable_columns(self._table, features)
            self._reference = Reference.from_table(self._table, self._columns)
        if not self._columns:
            return None
        report = drift(self._reference, features, columns=self._columns)
        prediction, score = self._output_drift(model, version, window)
        return Compared(report.model_copy(update={"prediction": prediction}), score)

    def _output_drift(
        self, model: str, version: int, window: Any
    ) -> tuple[ColumnDrift | None, ColumnDrift | None]:
        from knot.monitoring.drift.batch import Reference, drift
        from knot.monitoring.drift.reference_outputs import comparable_outputs, reference_outputs

        if self._output_names is None:
            self._output_names = []
            try:
                logged = window.schema.field("features").type
                inputs = [logged.field(i).name for i in range(logged.num_fields)]
                outputs = comparable_outputs(
                    reference_outputs(model, version, self.uri, self._table, inputs)
                )
            except Exception as exc:  # a model that cannot load or score: features still run
                message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                self.notes.append(f"no prediction drift for {model} version {version}: {message}")
                return None, None
            finally:
                self._table = None  # scored (or failed): the rows are not needed again
            self._outputs = Reference.from_table(outputs, outputs.column_names)
            self._output_names = outputs.column_names
        current = comparable_outputs(window)
        names = [
            n
            for n in self._output_names
            if n in current.column_names
            and current.column(n).null_count < current.num_rows
            and self._outputs.family(n) == _family(current, n)
        ]
        if not names:
            return None, None
        found = drift(self._outputs, current.select(names), columns=names)
        return found.prediction, found.column("score")


def training_reference(model: str, version: int) -> str | None:
    """The dataset URI the training run of `model` version `version` read (the first
    one it logged), from the lineage graph; None when it logged none."""
    return monitoring_store().training_reference(model, version)


def _family(table: Any, name: str) -> str | None:
    from knot.monitoring.drift.samples import family

    return family(table.schema.field(name).type)


def _window(dataset: Any, version: int, start: int, end: int) -> Any:
    """One version's window of the prediction log: its features, prediction and score
    (None for a tensor model, whose rows are not named columns)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if dataset is None or "features" not in dataset.schema.names:
        return None
    if not pa.types.is_struct(dataset.schema.field("features").type):
        return None
    at = ds.field("timestamp")
    begin = pa.scalar(start, pa.timestamp("ms", tz="UTC"))
    stop = pa.scalar(end, pa.timestamp("ms", tz="UTC"))
    keep = (ds.field("version") == version) & (at >= begin) & (at < stop)
    columns = [c for c in ("features", "prediction", "score") if c in dataset.schema.names]
    return dataset.to_table(columns=columns, filter=keep)
