"""The MLflow store an import reads, through MLflow's own client (mlflow-skinny).

Opening a store is checked first without MLflow: MLflow's client creates a database, or
adds its tables to one, when it is pointed at a SQLite file that is missing or is not
an MLflow store, and an import must never change the store it copies.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knot.errors import Invalid, KnotError, NotFound, Unavailable

__all__ = ["LoggedModelInfo", "MlflowSource", "SourceError", "open_source"]

# tables only an MLflow store has: Knot's own store also has experiments, runs, metrics
_MLFLOW_TABLES = {"experiment_tags", "latest_metrics", "registered_models", "model_versions"}
_PAGE = 1000


class SourceError(KnotError):
    """One item of the MLflow store could not be read (its files are missing, say)."""

    kind = "mlflow_source"


@contextmanager
def _reading(what: str) -> Iterator[None]:
    try:
        yield
    except KnotError:
        raise
    except Exception as exc:  # MLflow's own errors, OSError from its artifact repository
        raise SourceError(f"MLflow could not read {what}: {_first_line(exc)}") from None


@dataclass(frozen=True)
class LoggedModelInfo:
    """An MLflow 3 logged model: a folder kept beside its run's artifacts."""

    model_id: str
    name: str
    run_id: str
    artifact_location: str


def open_source(uri: str) -> MlflowSource:
    """The MLflow store at `uri` (sqlite:///, postgresql://, a file store folder, or an
    MLflow server's http(s):// URL); Invalid or NotFound naming the URI when it is none."""
    if not uri or not uri.strip():
        raise Invalid(
            "--from is empty; give the MLflow tracking URI, e.g. sqlite:////path/mlflow.db",
            field="from",
        )
    uri = uri.strip()
    if uri.startswith("sqlite:"):
        _check_sqlite(uri)
    elif uri.startswith(("http://", "https://")):
        _check_server(uri)
    elif "://" not in uri or uri.startswith("file:"):
        folder = Path(uri.removeprefix("file://"))
        if not folder.is_dir():
            raise NotFound(
                f"MLflow store {uri!r} does not exist; give the folder of an MLflow file "
                "store, or a sqlite:///, postgresql:// or http(s):// tracking URI",
                field="from",
            )
        if not any(folder.glob("*/meta.yaml")):
            # MLflow's client would make it one, writing .trash/ and models/ into it
            raise Invalid(
                f"{uri!r} is not an MLflow file store: no experiment folder with a "
                "meta.yaml in it; give the mlruns folder MLflow logged to",
                field="from",
            )
        # MLflow 3 refuses its old file store unless told otherwise, to stop new writes;
        # an import only reads it, and is the way off it
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        import mlflow
    except ImportError:
        raise Invalid(
            "reading an MLflow store needs the mlflow-skinny package; install it with "
            "pip install 'knot[mlflow]'",
            field="from",
        ) from None
    # MLflow resolves some URIs (models:/...) through its global tracking URI, whose
    # default is a store in the working folder: it must never open (or create) that one
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        # one cheap read, so a store MLflow cannot open fails before anything is copied
        client.search_experiments(max_results=1)
    except Exception as exc:  # MLflow raises its own types, and driver errors
        raise Unavailable(
            f"cannot read the MLflow store {uri!r}: {_first_line(exc)}; check the URI and "
            "that MLflow can open it (a schema older than this MLflow needs "
            "`mlflow db upgrade`)",
            field="from",
        ) from None
    return MlflowSource(uri, client)


def _check_sqlite(uri: str) -> None:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    if not path or not Path(path).is_file():
        raise NotFound(
            f"MLflow store {uri!r} does not exist: no SQLite file at {path or '(no path)'!r}; "
            "check the path (sqlite:////absolute/path/mlflow.db has four slashes)",
            field="from",
        )
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect():
            tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError:
        tables = set()
    finally:
        engine.dispose()
    if missing := _MLFLOW_TABLES - tables:
        raise Invalid(
            f"{uri!r} is not an MLflow store: it lacks MLflow's tables "
            f"({', '.join(sorted(missing))}); give the URI MLflow logs to "
            "(MLFLOW_TRACKING_URI)",
            field="from",
        )


def _check_server(uri: str) -> None:
    """One plain request, because MLflow's client retries an unreachable server with
    back-off for minutes before it says anything."""
    import httpx

    url = uri.rstrip("/") + "/api/2.0/mlflow/experiments/search"
    try:
        response = httpx.get(url, params={"max_results": 1}, timeout=15)
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"cannot reach the MLflow server {uri!r} ({type(exc).__name__}: {exc}); check "
            "the URL and that `mlflow server` runs there",
            field="from",
        ) from None
    if response.status_code == 404:
        raise Invalid(
            f"{uri!r} is not an MLflow tracking server: {url} answers 404; give the URL "
            "MLflow clients log to (MLFLOW_TRACKING_URI)",
            field="from",
        )


class MlflowSource:
    """Read-only access to everything an import copies, page by page."""

    def __init__(self, uri: str, client: Any) -> None:
        self.uri = uri
        self.client = client

    def experiments(self) -> list[Any]:
        with _reading("the experiments"):
            return list(self._pages(lambda token: self.client.search_experiments(page_token=token)))

    def runs(self, experiment_id: str) -> list[Any]:
        """The experiment's active runs, every parent before its children."""
        with _reading(f"the runs of experiment {experiment_id}"):
            found = list(
                self._pages(
                    lambda token: self.client.search_runs(
                        [experiment_id], max_results=_PAGE, page_token=token
                    )
                )
            )
        by_id = {r.info.run_id: r for r in found}

        def depth(run: Any) -> int:
            level, parent, seen = 0, run.data.tags.get("mlflow.parentRunId"), set()
            while parent in by_id and parent not in seen:
                seen.add(parent)
                level += 1
                parent = by_id[parent].data.tags.get("mlflow.parentRunId")
            return level

        return sorted(found, key=lambda r: (depth(r), r.info.start_time or 0, r.info.run_id))

    def metric_history(self, run_id: str, key: str) -> list[Any]:
        with _reading(f"the history of metric {key!r} of run {run_id}"):
            return list(self.client.get_metric_history(run_id, key))

    def top_artifacts(self, run: Any) -> list[Any]:
        """The entries at the top of the run's artifact folder (files and folders)."""
        with _reading(f"the artifact list of run {run.info.run_id}"):
            return list(self._repository(run.info.artifact_uri).list_artifacts())

    def download_run_artifact(self, run: Any, path: str, dest: Path) -> Path:
        with _reading(f"artifact {path!r} of run {run.info.run_id}"):
            repository = self._repository(run.info.artifact_uri)
            return Path(repository.download_artifacts(path, str(dest)))

    def download_folder(self, artifact_uri: str, dest: Path) -> Path:
        """Download the folder at `artifact_uri` (a logged model's location) into `dest`."""
        with _reading(artifact_uri):
            if not self._repository(artifact_uri).list_artifacts(""):
                raise SourceError(
                    f"{artifact_uri} is missing or empty; restore the model's files where "
                    "MLflow keeps them and run the import again"
                )
            return Path(self._repository(artifact_uri).download_artifacts("", str(dest)))

    def logged_model_location(self, model_id: str) -> str:
        """Where the files of an MLflow 3 logged model are."""
        with _reading(f"logged model {model_id}"):
            return str(self.client.get_logged_model(model_id).artifact_location)

    def _repository(self, artifact_uri: str) -> Any:
        # one repository per location: MLflow's download_artifacts(run_id=...) looks the
        # run up and builds a new client on every call, 0.1 s a file
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return get_artifact_repository(artifact_uri, tracking_uri=self.uri, registry_uri=self.uri)

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelInfo]:
        """MLflow 3's logged models of the experiment (MLflow 2 stores have none)."""
        search = getattr(self.client, "search_logged_models", None)
        if search is None:
            return
        with _reading(f"the logged models of experiment {experiment_id}"):
            found = list(self._pages(lambda token: search([experiment_id], page_token=token)))
        for model in found:
            if model.source_run_id:
                yield LoggedModelInfo(
                    model.model_id, model.name, model.source_run_id, model.artifact_location
                )

    def registered_models(self) -> list[Any]:
        with _reading("the registered models"):
            return list(
                self._pages(
                    lambda token: self.client.search_registered_models(
                        max_results=100, page_token=token
                    )
                )
            )

    def versions(self, name: str) -> list[Any]:
        """The model's versions, oldest first."""
        quoted = name.replace("'", "\\'")
        with _reading(f"the versions of model {name!r}"):
            found = list(
                self._pages(
                    lambda token: self.client.search_model_versions(
                        f"name = '{quoted}'", max_results=_PAGE, page_token=token
                    )
                )
            )
        return sorted(found, key=lambda v: int(v.version))

    @staticmethod
    def _pages(fetch: Any) -> Iterator[Any]:
        token = None
        while True:
            page = fetch(token)
            yield from page
            token = getattr(page, "token", None)
            if not token:
                return


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
