"""Datasets in the SDK, tied to runs: `knot.register_dataset`, `knot.load_dataset`, ...

Inside an active run, loading a dataset records the exact version as an input of
the run (a lineage edge dataset -> run "input"), and registering one records it as
an output (run -> dataset "output", plus dataset -> dataset "derived" from each of
the run's inputs), so every run is tied to the data it used and made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from knot.errors import Invalid
from knot.governance.lineage import Edge
from knot.tracking import run_datasets
from knot.tracking.fluent import active_run, session

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from knot.data.diff import DatasetDiff
    from knot.data.entities import Dataset, DatasetVersion
    from knot.data.profile import Profile
    from knot.data.protocol import DataStore
    from knot.data.rules.report import ValidationReport
    from knot.data.rules.ruleset import RuleSet
    from knot.tracking.session import Session

__all__ = [
    "dataset_reports",
    "dataset_store",
    "diff_datasets",
    "get_dataset",
    "list_dataset_versions",
    "list_datasets",
    "load_dataset",
    "profile_dataset",
    "register_dataset",
    "run_inputs",
    "set_dataset_alias",
    "set_dataset_rules",
    "validate_dataset",
]


def dataset_store(s: Session | None = None) -> DataStore:
    """The data store over a session's (default: the process's) metadata store: SQL, or
    a Knot server's REST API."""
    return run_datasets.dataset_store(s or session())


def run_inputs(run_id: str, s: Session | None = None) -> list[str]:
    """The dataset versions recorded as inputs of a run (e.g. ['churn@3'])."""
    return run_datasets.run_inputs(run_id, s or session())


def register_dataset(
    name: str,
    source: object,
    *,
    rules: RuleSet | Mapping[str, Any] | str | Path | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> DatasetVersion:
    """Store a Parquet/CSV file, a folder of Parquet files, a DataFrame or an Arrow table
    as the next version of dataset `name` (identical content returns the existing
    version). `rules` attaches a rule set that this and every later version must pass;
    a failing version is stored as rejected and never becomes latest. Inside a run the
    version is recorded as the run's output."""
    run = active_run()
    if run is not None:
        return run_datasets.log_dataset(
            run, name, source, rules=rules, tags=tags, description=description
        )
    return dataset_store().register(name, source, rules=rules, tags=tags, description=description)


def load_dataset(
    ref: str,
    *,
    columns: Sequence[str] | None = None,
    format: Literal["pandas", "arrow"] = "pandas",
) -> pd.DataFrame | pa.Table:
    """The rows of `ref` ('churn@3', 'churn@prod', 'churn' = latest) as a pandas
    DataFrame or an Arrow table, after checking the blob's digest. Inside a run the
    exact version is recorded as an input of the run."""
    if format not in ("pandas", "arrow"):
        raise Invalid(f"format {format!r} is not known; use 'pandas' or 'arrow'", field="format")
    store = dataset_store()
    version = store.get(ref)
    table = store.read_table(version.ref, columns)
    run = active_run()
    if run is not None:
        run._session.writer.flush()  # a server checks that the run exists
        store.add_edges([Edge("dataset", version.ref, "input", "run", run.run_id)])
    return table if format == "arrow" else table.to_pandas()


def get_dataset(ref: str) -> DatasetVersion:
    return dataset_store().get(ref)


def list_datasets() -> list[Dataset]:
    return dataset_store().list_datasets()


def list_dataset_versions(name: str) -> list[DatasetVersion]:
    return dataset_store().versions(name)


def validate_dataset(
    ref: str,
    rules: RuleSet | Mapping[str, Any] | str | Path | None = None,
    *,
    reference: str | None = None,
    examples: int = 5,
) -> ValidationReport:
    """Check a version against `rules` (default: the dataset's rule set); the report is
    stored with the version. `reference` names the version mean/quantile rules compare
    with (default: the rules' table.reference)."""
    return dataset_store().validate(ref, rules, reference=reference, examples=examples)


def dataset_reports(ref: str) -> list[ValidationReport]:
    """Every validation report stored for a version, oldest first."""
    return dataset_store().reports(ref)


def profile_dataset(ref: str) -> Profile:
    return dataset_store().profile(ref)


def diff_datasets(a: str, b: str) -> DatasetDiff:
    return dataset_store().diff(a, b)


def set_dataset_alias(ref: str, alias: str) -> DatasetVersion:
    return dataset_store().set_alias(ref, alias)


def set_dataset_rules(
    name: str, rules: RuleSet | Mapping[str, Any] | str | Path | None
) -> RuleSet | None:
    return dataset_store().set_rules(name, rules)
