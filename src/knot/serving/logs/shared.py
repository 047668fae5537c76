"""Where the prediction and label logs live when several replicas (pods, machines) share
them: a folder or an S3 prefix that every `knot serve`, `knot monitor run` and loop
controller of a deployment reads and writes.

Resolution (`log_store`): KNOT_LOGS when set (s3://bucket/prefix, or a folder: file:///abs
or a plain path); else, when the artifact store (KNOT_ARTIFACTS) is S3, its `logs/` prefix
(s3://bucket/prefix/logs); else None: the logs stay in the local folder
KNOT_HOME/predictions, as on one machine. The layout below the root is the local one:
model=NAME/version=V/date=D/part-*.parquet and labels/model=NAME/date=D/part-*.parquet.

Keys are built from checked model names and generated parts only, and keys read back
from a listing must match that layout (`PREDICTION_FILE`, `LABEL_FILE`) before they name
a local file, so neither a model name nor a stray object can reach outside the root.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from knot.artifacts import S3BlobStore, fsync_dir
from knot.errors import Invalid, KnotError, NotFound, Unavailable

__all__ = [
    "LABEL_FILE",
    "PREDICTION_FILE",
    "FolderLogStore",
    "LogStore",
    "S3LogStore",
    "log_store",
    "mkdirs_durably",
    "open_log_store",
    "replica_id",
]

_PART = r"part-[A-Za-z0-9_][A-Za-z0-9._-]{0,200}\.parquet"
_DATE = r"date=[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: a prediction log file, relative to its model's folder (model=NAME/)
PREDICTION_FILE = re.compile(rf"version=[0-9]{{1,9}}/{_DATE}/{_PART}")
#: a label file, relative to its model's label folder (labels/model=NAME/)
LABEL_FILE = re.compile(rf"{_DATE}/{_PART}")
_REPLICA = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


class LogStore(Protocol):
    """Named log files under one root; keys are relative paths joined with '/'."""

    @property
    def uri(self) -> str: ...

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, whole, and durable when this returns."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under `key`; NotFound when absent (e.g. compacted away)."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key below `prefix` (which ends with '/'), sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; an absent key is not an error."""
        ...


class FolderLogStore:
    """Log files in a local (or network-mounted) folder: fsynced before put returns."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def uri(self) -> str:
        return self.root.absolute().as_uri()

    def put(self, key: str, data: bytes) -> None:
        target = self.root / key
        mkdirs_durably(target.parent)
        tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"  # readers skip dot files
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.rename(target)
        fsync_dir(target.parent)

    def get(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"log file {key!r} is not in {self.uri}", field="key") from None

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        found = (p for p in base.rglob("*.parquet") if not p.name.startswith("."))
        return sorted(p.relative_to(self.root).as_posix() for p in found)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


class S3LogStore:
    """Log files as objects under `prefix` in one S3 bucket. A PUT that S3 answered is
    durable; it makes the object visible whole or not at all."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # the artifact store's client: the same endpoint, credentials and retries
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = S3BlobStore(self.bucket, self.prefix).client
        return self._client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
        return data

    def keys(self, prefix: str) -> list[str]:
        start = len(self.prefix) + 1 if self.prefix else 0
        out: list[str] = []
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                out.extend(item["Key"][start:] for item in page.get("Contents", []))
        return sorted(out)

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except KnotError:
            raise
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"log file {key!r} is not in {self.uri}", field="key") from None
            raise Unavailable(
                f"S3 refused {key!r} in the log store {self.uri} ({code}); check the "
                "credentials (AWS_ACCESS_KEY_ID, ...) and that the bucket exists"
            ) from exc
        except BotoCoreError as exc:
            raise Unavailable(
                f"cannot reach the log store {self.uri} ({exc}); check KNOT_S3_ENDPOINT_URL "
                "and that the S3 server is running"
            ) from exc


def mkdirs_durably(folder: Path) -> None:
    """Create `folder` and fsync each parent that gained an entry, so the path survives."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_dir(created.parent)


def open_log_store(uri: str) -> LogStore:
    """The log store `uri` names: s3://bucket/prefix, file:///abs/folder or a folder."""
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", parts.netloc or ""):
            raise Invalid(
                f"log store URI {uri!r} has bucket name {parts.netloc!r}; S3 buckets are "
                "3-63 of a-z 0-9 . - (e.g. s3://knot-logs/prod)",
                field="KNOT_LOGS",
            )
        return S3LogStore(parts.netloc, unquote(parts.path))
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return FolderLogStore(Path(unquote(parts.path)))
    if len(parts.scheme) <= 1 and uri.strip():  # a plain path (or C:\...)
        return FolderLogStore(Path(uri).absolute())
    raise Invalid(
        f"log store URI {uri!r} is not s3://bucket/prefix, file:///absolute/folder or a "
        "folder path; fix KNOT_LOGS",
        field="KNOT_LOGS",
    )


def log_store() -> LogStore | None:
    """The shared log store of this deployment, or None for the local folder
    KNOT_HOME/predictions (see the module's docstring)."""
    from knot.config import settings

    uri = os.environ.get("KNOT_LOGS", "").strip()
    if uri:
        return open_log_store(uri)
    artifacts = settings().artifacts_uri
    if artifacts.lower().startswith("s3://"):
        return open_log_store(artifacts.rstrip("/") + "/logs")
    return None


def replica_id() -> str:
    """This replica's name in the log files it writes: KNOT_REPLICA_ID, else the host
    name (a pod's name on Kubernetes); file names add the process id to it."""
    given = os.environ.get("KNOT_REPLICA_ID", "").strip()
    if given:
        if not _REPLICA.fullmatch(given):
            raise Invalid(
                f"KNOT_REPLICA_ID {given!r} is not allowed; use 1-63 letters, digits, '.', "
                "'_' or '-', starting with a letter or digit (e.g. 'serve-0')",
                field="KNOT_REPLICA_ID",
            )
        return given
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()).lstrip("._-")[:63]
    return host or "replica"
