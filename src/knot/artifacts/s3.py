"""The S3 backend: blobs as objects in any S3-compatible store (AWS, SeaweedFS, MinIO).

Keys are <prefix>/blobs/sha256/ab/abcdef...; an object is uploaded to its final
key only after its content is hashed, and S3 makes a finished upload visible
whole or not at all. The endpoint comes from KNOT_S3_ENDPOINT_URL (or
AWS_ENDPOINT_URL), credentials from the standard AWS variables and profiles.
boto3 is imported only when a store is first used, so `import knot` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knot.artifacts._digest import blob_key
from knot.errors import KnotError, NotFound, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3BlobStore"]

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
_DENIED_CODES = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class S3BlobStore:
    """Blobs under `prefix` in one S3 bucket."""

    def __init__(self, bucket: str, prefix: str = "", *, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    def __repr__(self) -> str:
        return f"S3BlobStore({self.uri!r})"

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = _client_from_env()
        return self._client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def staging_dir(self) -> None:
        return None

    def key(self, digest: str) -> str:
        """The object key that holds `digest`."""
        return f"{self.prefix}/{blob_key(digest)}" if self.prefix else blob_key(digest)

    def exists(self, digest: str) -> bool:
        try:
            self.size(digest)
        except NotFound:
            return False
        return True

    def size(self, digest: str) -> int:
        with self._errors(digest):
            return self.client.head_object(Bucket=self.bucket, Key=self.key(digest))[
                "ContentLength"
            ]

    def open_read(self, digest: str) -> _S3Reader:
        with self._errors(digest):
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(digest))["Body"]
        return _S3Reader(body, self)

    def put_file(self, digest: str, path: Path) -> None:
        from boto3.exceptions import S3UploadFailedError

        with self._errors(digest):
            try:
                # upload_file streams from disk, switching to multipart for large files.
                self.client.upload_file(str(path), self.bucket, self.key(digest))
            except S3UploadFailedError as exc:
                raise Unavailable(f"uploading blob {digest} to {self.uri} failed: {exc}") from exc

    def delete(self, digest: str) -> None:
        with self._errors(digest):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(digest))

    @contextlib.contextmanager
    def _errors(self, digest: str) -> Iterator[None]:
        """Turn boto errors into Knot errors that say what to check."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except KnotError:
            raise
        except ClientError as exc:
            raise self._client_error(exc.response, digest) from exc
        except NoCredentialsError as exc:
            raise Unavailable(
                f"no S3 credentials for {self.uri}; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            ) from exc
        except BotoCoreError as exc:
            raise Unavailable(
                f"cannot reach S3 for {self.uri} ({exc}); check KNOT_S3_ENDPOINT_URL "
                f"(now {_endpoint() or 'unset: AWS'}) and that the server is running"
            ) from exc

    def _client_error(self, response: Any, digest: str) -> KnotError:
        error = response.get("Error", {})
        code = str(error.get("Code", ""))
        if code == "NoSuchBucket":
            return NotFound(
                f"bucket {self.bucket!r} of {self.uri} does not exist; create it first "
                f"(e.g. `aws s3 mb s3://{self.bucket}`)",
                field="uri",
            )
        if code in _MISSING_CODES:
            return NotFound(
                f"blob {digest} is not in the artifact store {self.uri}; "
                "check the digest or put the content first",
                field="digest",
            )
        if code in _DENIED_CODES:
            # A HEAD has no error body, so a missing bucket can look like a refusal.
            return Unavailable(
                f"S3 refused access to {self.uri} ({code}); check AWS_ACCESS_KEY_ID, "
                f"AWS_SECRET_ACCESS_KEY, the bucket policy and that bucket {self.bucket!r} exists"
            )
        return Unavailable(f"S3 error on {self.uri}: {code} {error.get('Message', '')}".strip())


class _S3Reader:
    """A streaming GET body whose network errors surface as Knot errors."""

    def __init__(self, body: Any, store: S3BlobStore) -> None:
        self._body = body
        self._store = store

    def read(self, size: int = -1, /) -> bytes:
        from botocore.exceptions import BotoCoreError

        try:
            data: bytes = self._body.read(None if size < 0 else size)
        except BotoCoreError as exc:
            raise Unavailable(f"reading from {self._store.uri} failed midway ({exc})") from exc
        return data

    def close(self) -> None:
        self._body.close()


def _endpoint() -> str | None:
    return os.environ.get("KNOT_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None


_CLIENT_ENV = (
    "KNOT_S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def _client_from_env() -> S3Client:
    """One client per distinct S3 environment: clients are thread-safe but slow to
    build (~70 ms), and new credentials or a new endpoint in the environment must
    take effect (boto3's default session would keep the first credentials it saw)."""
    return _client_for(tuple(os.environ.get(name) for name in _CLIENT_ENV))


@functools.lru_cache(maxsize=16)
def _client_for(env: tuple[str | None, ...]) -> S3Client:
    import boto3
    from botocore.config import Config

    values = dict(zip(_CLIENT_ENV, env, strict=True))
    endpoint = values["KNOT_S3_ENDPOINT_URL"] or values["AWS_ENDPOINT_URL"] or None
    region = values["AWS_REGION"] or values["AWS_DEFAULT_REGION"]
    options: dict[str, Any] = {"retries": {"max_attempts": 5, "mode": "standard"}}
    if endpoint:
        # S3-compatible servers rarely support virtual-host buckets or the newest checksums.
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
        region = region or "us-east-1"
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint, region_name=region, config=Config(**options))
