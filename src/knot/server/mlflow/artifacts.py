"""MLflow's artifact proxy (/api/2.0/mlflow-artifacts/artifacts/...) over Knot's artifact
store: a file MLflow's client uploads to `<experiment>/<run>/artifacts/<path>` (a run's
artifact_uri, see wire.artifact_uri) is stored by digest and recorded as an artifact of
that Knot run, so it is a Knot run artifact; listing and downloading read the run's
artifact records (files inside Knot folder records included)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from knot.errors import Invalid, KnotError, NotFound
from knot.paths import check_relative_path
from knot.server.mlflow.artifact_tree import TreeFile, run_files
from knot.server.mlflow.errors import mlflow_error_response, not_supported
from knot.server.mlflow.routing import Call, json_response, route
from knot.server.mlflow.runs import run_id_of
from knot.tracking.entities import ArtifactRecord

__all__ = ["router"]

router = APIRouter()
P = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1024 * 1024


def _locate(call: Call, path: str) -> tuple[str, str]:
    """(run id, path inside the run) of a proxy path `<experiment>/<run>/artifacts/<rel>`."""
    parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]  # "." is the root
    if len(parts) < 3 or parts[2] != "artifacts":
        raise NotFound(
            f"artifact path {path!r} is not under a run; Knot serves "
            "<experiment_id>/<run_id>/artifacts/<path>, a run's artifact_uri",
            field="path",
        )
    experiment_id, run_id = parts[0], parts[1]
    run = call.store.get_run(run_id)
    if run.experiment_id != experiment_id and experiment_id != "0":
        raise NotFound(f"run {run_id} is not in experiment {experiment_id}", field="path")
    rel = "/".join(parts[3:])
    if rel:
        check_relative_path(rel, "artifact path", field="path")
    return run_id, rel


def _listing(files: dict[str, TreeFile], rel: str) -> list[dict[str, Any]]:
    prefix = f"{rel}/" if rel else ""
    children: dict[str, dict[str, Any]] = {}
    for path, file in files.items():
        if not path.startswith(prefix):
            continue
        head, _, rest = path[len(prefix) :].partition("/")
        if rest:
            children.setdefault(head, {"path": head, "is_dir": True})
        else:
            children[head] = {"path": head, "is_dir": False, "file_size": file.size}
    return [children[k] for k in sorted(children)]


@route(router, "GET", P)
def list_artifacts(call: Call) -> dict[str, Any]:
    """The files and folders directly under `path` (`<experiment>/<run>/artifacts/...`)."""
    path = call.maybe_text("path") or ""
    if len([p for p in path.split("/") if p not in ("", ".")]) < 3:
        return {"files": []}  # an experiment or run folder: Knot lists a run's artifacts only
    run_id, rel = _locate(call, path)
    return {"files": _listing(run_files(call.store, call.artifacts, run_id), rel)}


@route(router, "GET", "/api/2.0/mlflow/artifacts/list")
def list_run_artifacts(call: Call) -> dict[str, Any]:
    """A run's files under `path`, with paths from the run's artifact root."""
    run = call.store.get_run(run_id_of(call))
    rel = (call.maybe_text("path") or "").strip("/")
    if rel:
        check_relative_path(rel, "artifact path", field="path")
    files = _listing(run_files(call.store, call.artifacts, run.run_id), rel)
    for item in files:
        item["path"] = f"{rel}/{item['path']}" if rel else item["path"]
    root = f"mlflow-artifacts:/{run.experiment_id}/{run.run_id}/artifacts"
    return {"root_uri": root, "files": files}


def _upload(call: Call, path: str, staged: Any, size: int) -> None:
    run_id, rel = _locate(call, path)
    if not rel:
        raise Invalid("upload a file under the run's artifacts/ folder, not the folder itself")
    staged.seek(0)
    digest = call.artifacts.put_stream(staged)
    call.store.log_artifact(run_id, ArtifactRecord(path=rel, digest=digest, size=size, kind="file"))


def _download(call: Call, path: str) -> Iterator[bytes]:
    run_id, rel = _locate(call, path)
    found = run_files(call.store, call.artifacts, run_id).get(rel)
    if found is None:
        raise NotFound(f"run {run_id} has no artifact file {rel!r}", field="path")
    reader = call.artifacts.open(found.digest)

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(_CHUNK):
                yield chunk

    return chunks()


async def _transfer(request: Request, path: str) -> Response:
    call = Call(request, {})
    try:
        if request.method == "PUT":
            with tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK) as staged:
                size = 0
                async for chunk in request.stream():
                    staged.write(chunk)
                    size += len(chunk)
                await run_in_threadpool(_upload, call, path, staged, size)
            return json_response({})
        if request.method == "DELETE":
            await run_in_threadpool(_locate, call, path)
            raise not_supported(
                "deleting artifacts", "Knot keeps a run's artifacts; log a new version of the file"
            )
        chunks = await run_in_threadpool(_download, call, path)
    except KnotError as exc:
        return mlflow_error_response(exc)
    return StreamingResponse(chunks, media_type="application/octet-stream")


router.add_api_route(
    P + "/{path:path}",
    _transfer,
    methods=["GET", "PUT", "DELETE"],
    include_in_schema=False,
)
