"""A run's artifact, previewed: text as text, images as images, CSV and Parquet as a
table of their first rows, a folder as its file list. The raw bytes are served for
download with a sandboxing Content-Security-Policy and nosniff, so an artifact can never
run script in the UI's origin."""

from __future__ import annotations

import csv
import io
import mimetypes
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from knot.errors import NotFound
from knot.server.ui import stores
from knot.server.ui.render import page, render
from knot.server.ui.session import visitor
from knot.tracking.entities import ArtifactRecord

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

TEXT = {".txt", ".log", ".md", ".json", ".yaml", ".yml", ".toml", ".py", ".cfg", ".ini", ".xml"}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
PREVIEW_BYTES = 256 * 1024
PREVIEW_ROWS = 50


def _record(request: Request, run_id: str, path: str) -> ArtifactRecord:
    found = [a for a in stores.tracking(request).list_artifacts(run_id) if a.path == path]
    if not found:
        raise NotFound(
            f"run {run_id!r} has no artifact {path[:200]!r}; the run page lists its artifacts"
        )
    return found[0]


def _table(raw: bytes, suffix: str) -> tuple[list[str], list[list[Any]]]:
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(io.BytesIO(raw))
        batch = next(parquet.iter_batches(batch_size=PREVIEW_ROWS), None)
        if batch is None:
            return [str(n) for n in parquet.schema_arrow.names], []
        return list(batch.schema.names), [list(r.values()) for r in batch.to_pylist()]
    text = raw[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ","))
    if not rows:
        return [], []
    return rows[0], rows[1 : PREVIEW_ROWS + 1]


@router.get("/ui/runs/{run_id}/artifacts/{path:path}")
@page
def preview(request: Request, run_id: str, path: str) -> Response:
    who = visitor(request)
    run = stores.tracking(request).get_run(run_id)
    record = _record(request, run_id, path)
    suffix = PurePosixPath(path).suffix.lower()
    blobs = stores.artifacts(request)
    context: dict[str, Any] = {"who": who, "run": run, "record": record, "mode": "none"}
    if record.kind == "folder":
        context["mode"] = "folder"
        context["entries"] = blobs.read_manifest(record.digest).entries
    elif suffix in IMAGES:
        context["mode"] = "image"
    elif suffix in TEXT:
        with blobs.open(record.digest) as handle:
            head = handle.read(PREVIEW_BYTES)
        context["mode"] = "text"
        context["text"] = head.decode("utf-8", errors="replace")
        context["cut"] = record.size > PREVIEW_BYTES
    elif suffix in (".csv", ".tsv", ".parquet"):
        if suffix == ".parquet":
            raw = blobs.get_bytes(record.digest)
        else:
            with blobs.open(record.digest) as handle:
                raw = handle.read(PREVIEW_BYTES)
        context["mode"] = "table"
        context["columns"], context["rows"] = _table(raw, suffix)
    return render(request, "artifact.html", **context)


@router.get("/ui/runs/{run_id}/raw/{path:path}")
@page
def raw(request: Request, run_id: str, path: str) -> Response:
    visitor(request)
    record = _record(request, run_id, path)
    if record.kind == "folder":
        raise NotFound(f"artifact {path[:200]!r} is a folder; download its files one by one")
    suffix = PurePosixPath(path).suffix.lower()
    media = mimetypes.guess_type(path)[0] if suffix in IMAGES else None
    headers = {
        "content-security-policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
        "x-content-type-options": "nosniff",
    }
    if media is None:
        name = PurePosixPath(path).name.replace('"', "")
        headers["content-disposition"] = f'attachment; filename="{name}"'
    body = stores.artifacts(request).get_bytes(record.digest)
    return Response(body, media_type=media or "application/octet-stream", headers=headers)
