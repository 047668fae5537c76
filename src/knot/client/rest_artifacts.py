"""A Knot server's artifact store as a BlobStore backend: artifact URI http(s)://HOST:PORT.

With KNOT_STORE=http://HOST:PORT and no KNOT_ARTIFACTS, a client's artifacts are the
server's (knot.config), so run artifacts, models logged with knot.log_model and
pipeline step outputs reach every client of that server, and none needs an artifact
store of its own or S3 credentials. knot.backends registers this backend for the http
and https schemes of open_blob_store.

Bytes travel through RestBlobs (streamed, digest checked, presigned S3 when the server
chooses). The store is content-addressed, so a second upload of a digest the server
holds is skipped, never an overwrite. `delete` asks the server to drop a blob only when
its stored bytes no longer match their digest: a client cannot remove a sound blob
that other runs, models or datasets may name (DELETE /api/v1/blobs/{digest}).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx

from knot.artifacts.protocol import RawReader
from knot.client._http import make_client
from knot.client.rest_blobs import RestBlobs

__all__ = ["RestBlobStore", "open_rest_blob_store"]


class RestBlobStore:
    """The BlobStore of the Knot server at `uri`, over `client` (or one of its own)."""

    def __init__(self, uri: str, client: httpx.Client | None = None) -> None:
        self._uri = uri.rstrip("/")
        self._blobs = RestBlobs(self._uri, client or make_client(self._uri))

    @property
    def uri(self) -> str:
        return self._uri

    @property
    def staging_dir(self) -> Path | None:
        # the bytes leave this machine: a temp file anywhere local will do
        return None

    def exists(self, digest: str) -> bool:
        return self._blobs.exists(digest)

    def size(self, digest: str) -> int:
        return self._blobs.size(digest)

    def open_read(self, digest: str) -> RawReader:
        """The blob, downloaded whole and checked first (RestBlobs), then read from a
        local file that is already unlinked, so nothing is left behind on close."""
        fd, name = tempfile.mkstemp(prefix="knot-blob-", suffix=".part")
        os.close(fd)
        path = Path(name)
        try:
            self._blobs.download(digest, path)
            handle = path.open("rb")
        finally:
            path.unlink(missing_ok=True)
        return handle

    def put_file(self, digest: str, path: Path) -> None:
        self._blobs.upload(path, digest)

    def delete(self, digest: str) -> None:
        """Have the server drop `digest` if its stored copy is damaged; a sound copy and
        an absent blob are both fine (the store is shared and content-addressed)."""
        self._blobs.drop_if_damaged(digest)


def open_rest_blob_store(uri: str) -> RestBlobStore:
    """The artifact store of the Knot server at `uri` (open_blob_store's http factory)."""
    return RestBlobStore(uri)
