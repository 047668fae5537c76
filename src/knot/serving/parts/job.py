"""A batch-scoring job over many Parquet files: parts (file x row group) scored in this
process or on a Ray cluster, one output file per part, then a manifest and lineage.

The output folder remembers its job (_job.json: the model's digest, the column, the
input's shape), so running the same command again after a crash or a killed worker
scores only the parts that are missing; a folder holding another job's parts is refused.
On Ray, each worker loads the model once, and a worker that dies is restarted and its
part scored again (writing a part is all or nothing)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knot.errors import Invalid, KnotError, Unavailable
from knot.refs import ModelRef
from knot.serving.parts.plan import Part, plan_parts
from knot.serving.parts.scorer import PartResult, PartScorer, file_digest
from knot.serving.sources import ServedModel, load_source, parse_source

__all__ = ["BatchResult", "score_parts"]

JOB_FILE = "_job.json"
MANIFEST_FILE = "_manifest.json"
# a model that kills its worker on every row would otherwise restart forever
RETRIES = 3


@dataclass(frozen=True)
class BatchResult:
    output: Path
    rows: int
    parts: int
    scored: int  # parts scored by this run; the rest were already done
    manifest_digest: str


def score_parts(
    model: str,
    input_spec: str,
    output: str | Path,
    *,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    column: str = "prediction",
    on_part: Callable[[PartResult], None] | None = None,
) -> BatchResult:
    """Score every row of the Parquet files `input_spec` names with `model`, writing
    OUTPUT/part-*.parquet, OUTPUT/_manifest.json and lineage edges."""
    if executor not in ("local", "ray"):
        raise Invalid(f"executor {executor!r} is not 'local' or 'ray'", field="executor")
    parts = plan_parts(input_spec)
    import pyarrow.parquet as pq

    if column in pq.read_schema(parts[0].path).names:
        raise Invalid(
            f"the input already has a column {column!r}; name the output column with --column",
            field="column",
        )
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise Invalid(
            f"output {str(folder)!r} is a file; give a folder for the parts", field="output"
        )
    served = load_source(model)
    ref = _pinned(model, served)
    folder.mkdir(parents=True, exist_ok=True)
    _claim(folder, _job(ref, served, column, parts))
    todo = [p for p in parts if not (folder / p.name).is_file()]
    if todo and executor == "ray":
        results: Iterable[PartResult] = _on_ray(
            ref, served.digest, folder, column, todo, address, workers
        )
    else:
        scorer = PartScorer(served, served.digest, str(folder), column)
        results = (scorer.score(p) for p in todo)
    for result in results:
        if on_part is not None:
            on_part(result)
    manifest_digest = _finish(folder, ref, served, column, parts)
    return BatchResult(folder, sum(p.rows for p in parts), len(parts), len(todo), manifest_digest)


def _pinned(model: str, served: ServedModel) -> str:
    """What workers load: the version the job resolved, not an alias that may move."""
    source = parse_source(model)
    if isinstance(source, ModelRef):
        return f"models:/{served.name}/{served.version}"
    return model


def _job(ref: str, served: ServedModel, column: str, parts: list[Part]) -> dict[str, Any]:
    return {
        "model": ref,
        "digest": served.digest,
        "column": column,
        "parts": [[p.path, p.row_group, p.rows] for p in parts],
    }


def _claim(folder: Path, job: dict[str, Any]) -> None:
    path = folder / JOB_FILE
    if path.is_file():
        if json.loads(path.read_text()) != job:
            raise Invalid(
                f"output folder {str(folder)!r} holds the parts of another job (other model, "
                "input or column); give an empty folder, or the same command to resume",
                field="output",
            )
        return
    if any(folder.glob("part-*.parquet")):
        raise Invalid(
            f"output folder {str(folder)!r} holds parts of unknown origin; give an empty folder",
            field="output",
        )
    _write_json(path, job)


def _write_json(path: Path, data: dict[str, Any]) -> bytes:
    text = json.dumps(data, indent=2, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return text


def _finish(folder: Path, ref: str, served: ServedModel, column: str, parts: list[Part]) -> str:
    """The manifest (every part with its rows and digest, every input with its digest),
    then the lineage edges naming it."""
    import hashlib

    inputs = sorted({p.path for p in parts})
    input_digests = [file_digest(Path(path)) for path in inputs]
    manifest: dict[str, Any] = {
        "model": ref,
        "model_digest": served.digest,
        "column": column,
        "rows": sum(p.rows for p in parts),
        "inputs": [{"path": p, "digest": d} for p, d in zip(inputs, input_digests, strict=True)],
        "parts": [
            {
                "name": p.name,
                "input": p.path,
                "row_group": p.row_group,
                "rows": p.rows,
                "digest": file_digest(folder / p.name),
            }
            for p in parts
        ],
    }
    text = _write_json(folder / MANIFEST_FILE, manifest)
    digest = f"sha256:{hashlib.sha256(text).hexdigest()}"
    _record(served, digest, input_digests, str(folder))
    return digest


def _record(served: ServedModel, digest: str, inputs: list[str], folder: str) -> None:
    """model_version -scored-> batch_output and input file -input_of-> batch_output, with
    an audit row; a store without a database of its own (a Knot server) records none."""
    from knot.governance.audit import record
    from knot.governance.lineage import Edge, add_edges
    from knot.tracking.fluent import session

    db = getattr(session().store, "db", None)
    if db is None:
        return
    node = ("model_version", f"{served.name}/{served.version}")
    edges = [Edge(*node, "scored", "batch_output", digest)]
    edges += [Edge("file", d, "input_of", "batch_output", digest) for d in inputs]
    with db.write() as conn:
        add_edges(conn, edges)
        record(conn, "batch.score", "batch_output", digest, None, {"output": folder})


def _on_ray(
    ref: str,
    digest: str,
    folder: Path,
    column: str,
    todo: list[Part],
    address: str | None,
    workers: int | None,
) -> Iterable[PartResult]:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise Unavailable(
            "--executor ray needs Ray, which is not installed; pip install 'knot[ray]'"
        ) from None
    from knot.config import settings

    here = settings()
    env = {
        "KNOT_STORE": here.store_uri,
        "KNOT_ARTIFACTS": here.artifacts_uri,
        "KNOT_HOME": str(here.home),
    }
    # a model pickled by reference imports its class on the workers: give them the
    # driver's import path (on one machine the same folders; elsewhere install the code)
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    owned = not ray.is_initialized()  # a caller already on a cluster keeps it
    try:
        if owned:
            ray.init(
                address=address,
                include_dashboard=False,
                configure_logging=False,
                log_to_driver=False,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"at {address!r}" if address else "(none running, and none started)"
        raise Unavailable(
            f"cannot connect to a Ray cluster {where}: {exc}; start one with `ray start "
            "--head` and pass its address (--ray-address host:port)"
        ) from exc
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(
            num_cpus=1,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
            runtime_env={"env_vars": env},
        )(PartScorer)
        pool = ActorPool([actor.remote(ref, digest, str(folder), column) for _ in range(count)])
        yield from pool.map_unordered(lambda a, p: a.score.remote(p), todo)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(getattr(exc, "cause", None), KnotError) else None
        if cause is not None:
            raise cause from None
        raise Unavailable(f"a Ray worker failed: {exc}; run the same command to resume") from exc
    except ray.exceptions.RayActorError as exc:
        raise Unavailable(
            f"a Ray worker died {RETRIES + 1} times: {exc}; the parts written are kept, run "
            "the same command to resume"
        ) from exc
    finally:
        if owned:
            ray.shutdown()
