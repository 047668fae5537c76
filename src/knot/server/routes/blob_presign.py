"""Presigned S3 URLs for blob transfer, so a blob's bytes go between the client and the
bucket without passing through the server.

A download is a presigned GET of the blob's own key: the client checks the digest.
An upload goes to a presigned PUT of a new key under uploads/; the client then asks
the server to commit it, and the server reads that object back, hashing and counting,
and only a whole, matching object is copied to the blob's key. Anything else is
deleted and refused, so the store never holds a blob under a wrong name. Presigning
is on for S3 stores unless KNOT_PRESIGN=0 (for buckets clients cannot reach).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from typing import Any

from knot.artifacts import ArtifactStore, S3BlobStore
from knot.errors import Invalid, NotFound

__all__ = ["PRESIGN_ENV", "commit_upload", "presigned_get", "presigned_put", "presigner"]

PRESIGN_ENV = "KNOT_PRESIGN"
_SECONDS = 900
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def presigner(artifacts: ArtifactStore) -> S3BlobStore | None:
    """The S3 backend to presign URLs on, or None when the bytes go through the server."""
    backend = artifacts.backend
    if not isinstance(backend, S3BlobStore):
        return None
    if os.environ.get(PRESIGN_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return None
    return backend


def _upload_key(s3: S3BlobStore, upload_id: str) -> str:
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise Invalid(
            f"upload id {upload_id[:80]!r} is not one this server gives out (32 lowercase "
            "hex characters); ask for a new one with POST /api/v1/blobs/{digest}/uploads",
            field="upload_id",
        )
    return f"{s3.prefix}/uploads/{upload_id}" if s3.prefix else f"uploads/{upload_id}"


def presigned_get(s3: S3BlobStore, digest: str) -> str:
    url: str = s3.client.generate_presigned_url(
        "get_object", Params={"Bucket": s3.bucket, "Key": s3.key(digest)}, ExpiresIn=_SECONDS
    )
    return url


def presigned_put(s3: S3BlobStore) -> tuple[str, str]:
    """(upload id, a presigned PUT URL for its staging key)."""
    upload_id = uuid.uuid4().hex
    url: str = s3.client.generate_presigned_url(
        "put_object",
        Params={"Bucket": s3.bucket, "Key": _upload_key(s3, upload_id)},
        ExpiresIn=_SECONDS,
    )
    return upload_id, url


def commit_upload(s3: S3BlobStore, digest: str, upload_id: str, size: int, limit: int) -> int:
    """Check the uploaded object against `digest` and `size` and store it as the blob;
    the staging object is deleted in every case. Returns the size."""
    key = _upload_key(s3, upload_id)
    client: Any = s3.client
    try:
        from botocore.exceptions import ClientError

        try:
            body = client.get_object(Bucket=s3.bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            raise NotFound(
                f"upload {upload_id} has no object: PUT the file to the URL the server gave "
                "first, or ask for a new one",
                field="upload_id",
            ) from None
        hasher, received = hashlib.sha256(), 0
        for chunk in body.iter_chunks(1024 * 1024):
            received += len(chunk)
            if received > min(size, limit):
                raise Invalid(
                    f"the upload of {digest} is longer than the {min(size, limit)} bytes "
                    "allowed (its declared size, or the server's limit); send the real file",
                    field="size",
                )
            hasher.update(chunk)
        if received != size:
            raise Invalid(
                f"the upload of {digest} has {received} of the {size} bytes it declared; "
                "send the whole file again",
                field="size",
            )
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise Invalid(
                f"the uploaded bytes hash to {actual}, not {digest}; the file changed or was "
                "damaged on the way: upload it again under its real digest",
                field="digest",
            )
        if not s3.exists(digest):
            client.copy({"Bucket": s3.bucket, "Key": key}, s3.bucket, s3.key(digest))
        return received
    finally:
        client.delete_object(Bucket=s3.bucket, Key=key)
