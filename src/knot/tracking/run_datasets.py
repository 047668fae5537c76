"""Datasets tied to one run of a Session: the versions a run used (lineage edges
dataset -> run "input") and the versions it made (run -> dataset "output", derived
from the run's inputs). ActiveRun.use_dataset and log_dataset call these, and the
module-level SDK (knot.tracking.datasets) calls them with the process's run.

Everything here takes the run or session it works on, so this module never reaches
for the process's session (knot.tracking.fluent), which imports ActiveRun."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knot.data.stores import open_data_store
from knot.governance.lineage import Edge

if TYPE_CHECKING:
    from knot.data.entities import DatasetVersion
    from knot.data.protocol import DataStore
    from knot.data.rules.ruleset import RuleSet
    from knot.tracking.run import ActiveRun
    from knot.tracking.session import Session

__all__ = ["dataset_store", "log_dataset", "run_inputs", "use_dataset"]


def dataset_store(s: Session) -> DataStore:
    """The data store over a session's metadata store (SQL, or a Knot server's REST API)
    and, for a SQL store, its artifact store."""
    return open_data_store(s.store_uri, s.store, lambda: s.artifacts)


def run_inputs(run_id: str, s: Session) -> list[str]:
    """The dataset versions recorded as inputs of a run (e.g. ['churn@3'])."""
    return dataset_store(s).run_inputs(run_id)


def use_dataset(run: ActiveRun, ref: str) -> DatasetVersion:
    """Record the exact version `ref` resolves to (churn@latest -> churn@3) as an input."""
    store = dataset_store(run._session)
    version = store.get(ref)
    run._session.writer.flush()  # the run itself may still be in the writer's buffer
    store.add_edges([Edge("dataset", version.ref, "input", "run", run.run_id)])
    return version


def log_dataset(
    run: ActiveRun,
    name: str,
    source: object,
    *,
    rules: RuleSet | Mapping[str, Any] | str | Path | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> DatasetVersion:
    """Register `source` as a version made by `run`, derived from the run's inputs."""
    run._session.writer.flush()  # a server checks that the run exists
    return dataset_store(run._session).register(
        name,
        source,
        rules=rules,
        tags=tags,
        description=description,
        run_id=run.run_id,
        inputs=run_inputs(run.run_id, run._session),
    )
