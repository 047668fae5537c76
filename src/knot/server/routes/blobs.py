"""/api/v1/blobs/{digest}: the server's artifact store for remote clients.

HEAD says whether a blob is there, GET streams it out (or, when the store is S3,
redirects to a presigned URL), DELETE drops one only if it is damaged, PUT streams
one in: the bytes go to a temporary file
inside the store's staging folder while they are hashed and counted, and only a
complete upload whose digest matches its name is stored. Anything else is a 422 that
says what differed, and nothing is kept. POST .../uploads is the server's choice of
how to send one: through PUT here, or (S3) to a presigned URL and then committed
(blob_presign). Reads need a viewer, writes an editor.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, Strict
from starlette.concurrency import run_in_threadpool

from knot.artifacts import ArtifactStore, check_digest
from knot.errors import Corrupted, Invalid, NotFound
from knot.server.artifact_deps import get_artifacts
from knot.server.routes.blob_presign import commit_upload, presigned_get, presigned_put, presigner

__all__ = ["MAX_BLOB_ENV", "BlobStored", "max_blob_bytes", "missing_blob", "router"]

router = APIRouter()
Artifacts = Annotated[ArtifactStore, Depends(get_artifacts)]
# documented, and checked by check_digest, whose message says the form and an example
Digest = Annotated[
    str,
    PathParam(
        description="sha256: and 64 lowercase hex characters",
        json_schema_extra={"pattern": r"^sha256:[0-9a-f]{64}$"},
    ),
]

MAX_BLOB_ENV = "KNOT_MAX_BLOB_BYTES"
_DEFAULT_MAX = 64 * 1024**3  # 64 GiB: far above a dataset version, below a full disk


class BlobStored(BaseModel):
    digest: str
    size: int
    stored: bool  # False: the store had it already


def max_blob_bytes() -> int:
    """The largest upload the server takes (KNOT_MAX_BLOB_BYTES, default 64 GiB)."""
    value = os.environ.get(MAX_BLOB_ENV, "").strip()
    if not value:
        return _DEFAULT_MAX
    if not value.isdigit():
        raise Invalid(f"{MAX_BLOB_ENV}={value!r} is not a byte count; set it to e.g. 10000000000")
    return int(value)


@router.head("/blobs/{digest}", tags=["blobs"])
def has_blob(digest: Digest, artifacts: Artifacts) -> Response:
    """200 with the size in Content-Length if the store holds `digest`, else 404."""
    # the content type is the one a GET would answer with, as HTTP asks of HEAD
    if not artifacts.exists(check_digest(digest)):
        return Response(status_code=404, headers={"content-type": "application/json"})
    size = artifacts.size(digest)
    return Response(
        status_code=200,
        headers={"content-length": str(size), "content-type": "application/octet-stream"},
    )


@router.get("/blobs/{digest}", tags=["blobs"], response_class=StreamingResponse)
def get_blob(digest: Digest, artifacts: Artifacts) -> Response:
    """The blob's bytes, streamed; the client checks them against `digest`. With an S3
    store the answer is a redirect to a presigned URL the client follows."""
    size = artifacts.size(check_digest(digest))  # NotFound names the digest
    s3 = presigner(artifacts)
    if s3 is not None:
        return RedirectResponse(presigned_get(s3, digest), status_code=307)
    stream = artifacts.backend.open_read(digest)

    def chunks() -> object:
        try:
            while chunk := stream.read(1024 * 1024):
                yield chunk
        finally:
            stream.close()

    return StreamingResponse(
        chunks(),  # type: ignore[arg-type]
        media_type="application/octet-stream",
        headers={"content-length": str(size)},
    )


class BlobDropped(BaseModel):
    digest: str
    deleted: bool  # False: the stored bytes match the digest, so the blob stays


@router.delete("/blobs/{digest}", tags=["blobs"])
def drop_damaged_blob(digest: Digest, artifacts: Artifacts) -> BlobDropped:
    """Delete blob `digest` only if its stored bytes no longer hash to it, so a fresh copy
    can be uploaded under that digest again. A sound blob is kept: the store is shared
    and content-addressed, and runs, models and datasets of every client may name it.
    404 if the store has no such blob."""
    try:
        artifacts.verify(check_digest(digest))  # NotFound names the digest
    except Corrupted:
        artifacts.delete(digest)
        return BlobDropped(digest=digest, deleted=True)
    return BlobDropped(digest=digest, deleted=False)


class UploadOffer(BaseModel):
    """How to send a blob: `present` (nothing to send), through this server (`url`
    null: PUT /blobs/{digest}), or to a presigned `url`, then commit `upload_id`."""

    present: bool
    url: str | None = None
    upload_id: str | None = None


class UploadAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: Annotated[int, Strict(), Field(ge=0, description="the file's size in bytes")]


@router.post("/blobs/{digest}/uploads", tags=["blobs"])
def offer_upload(digest: Digest, body: UploadAsk, artifacts: Artifacts) -> UploadOffer:
    """The server's choice of how a client sends blob `digest`."""
    _check_size(check_digest(digest), body.size)
    if artifacts.exists(digest):
        return UploadOffer(present=True)
    s3 = presigner(artifacts)
    if s3 is None:
        return UploadOffer(present=False)
    upload_id, url = presigned_put(s3)
    return UploadOffer(present=False, url=url, upload_id=upload_id)


@router.post("/blobs/{digest}/uploads/{upload_id}", tags=["blobs"])
def commit(digest: Digest, upload_id: str, body: UploadAsk, artifacts: Artifacts) -> BlobStored:
    """Store what the client sent to its presigned URL as blob `digest`: 422 (nothing
    stored, the upload deleted) if it does not hash to `digest` or has another size."""
    limit = _check_size(check_digest(digest), body.size)
    s3 = presigner(artifacts)
    if s3 is None:
        raise Invalid(
            "this server takes uploads itself, not through presigned URLs; "
            f"PUT /api/v1/blobs/{digest}",
            field="upload_id",
        )
    size = commit_upload(s3, digest, upload_id, body.size, limit)
    return BlobStored(digest=digest, size=size, stored=True)


def _check_size(digest: Digest, size: int) -> int:
    limit = max_blob_bytes()
    if size > limit:
        raise Invalid(
            f"blob {digest} has {size} bytes, over this server's limit of {limit}; "
            f"raise {MAX_BLOB_ENV} on the server or send a smaller file",
            field="size",
        )
    return limit


@router.put("/blobs/{digest}", tags=["blobs"])
async def put_blob(
    digest: Digest,
    request: Request,
    artifacts: Artifacts,
    size: Annotated[int | None, Query(ge=0, description="the file's size in bytes")] = None,
) -> BlobStored:
    """Store the request body as blob `digest`. 422 (nothing stored) if the body does not
    hash to `digest`, is longer or shorter than `size`, or is over the server's limit."""
    check_digest(digest)
    declared = size if size is not None else _content_length(request)
    _check_size(digest, declared)
    if await run_in_threadpool(artifacts.exists, digest):
        return BlobStored(digest=digest, size=declared, stored=False)
    staging = artifacts.backend.staging_dir
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".knot-upload-", suffix=".tmp", dir=staging)
    temp = Path(name)
    try:
        hasher, received = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                received += len(chunk)
                if received > declared:
                    raise Invalid(
                        f"the upload of {digest} is longer than the {declared} bytes it "
                        "declared; send the file's real size",
                        field="size",
                    )
                hasher.update(chunk)
                out.write(chunk)
        if received != declared:
            raise Invalid(
                f"the upload of {digest} ended after {received} of the {declared} bytes it "
                "declared; send the whole file again",
                field="size",
            )
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise Invalid(
                f"the uploaded bytes hash to {actual}, not {digest}; the file changed or "
                "was damaged on the way: upload it again under its real digest",
                field="digest",
            )
        await run_in_threadpool(artifacts.backend.put_file, digest, temp)
    finally:
        temp.unlink(missing_ok=True)
    return BlobStored(digest=digest, size=received, stored=True)


def _content_length(request: Request) -> int:
    value = request.headers.get("content-length", "")
    if not value.isdigit():
        raise Invalid(
            "a blob upload needs its size: send Content-Length or ?size=BYTES",
            field="size",
        )
    return int(value)


def missing_blob(digest: str) -> NotFound:
    """The error for a digest the server's store does not hold (used by data_routes)."""
    return NotFound(
        f"the server's artifact store has no blob {digest}; upload it first with "
        f"PUT /api/v1/blobs/{digest}",
        field="digest",
    )
