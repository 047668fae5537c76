"""Blob transfer with a Knot server's artifact store, for every remote area.

A blob is named by its digest ("sha256:<hex>"). `RestBlobs` asks whether the server
has one (HEAD), uploads a local file streamed, and downloads one streamed (GET),
hashing on the way so a damaged copy is Corrupted, never used. The server chooses how
bytes travel: to upload, the client asks (POST .../uploads) and either PUTs through the
server, which hashes while it writes and keeps nothing on a digest or size mismatch, or,
when the server's artifact store is S3, PUTs to the presigned URL it got and asks the
server to commit it (checked the same way). A GET may redirect to a presigned URL, which
the client follows. The client never needs S3 credentials.

    blobs = RestBlobs(uri, client)
    blobs.upload(path)                   # -> digest; skipped when the server has it
    with blobs.downloaded(digest) as p:  # a verified temporary file
        ...
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson

from knot.artifacts import digest_file
from knot.artifacts._digest import CHUNK_SIZE, check_digest
from knot.client._http import error_from, send
from knot.errors import Corrupted, KnotError, NotFound, Unavailable
from knot.governance.roles import Forbidden, Unauthorized

__all__ = ["BLOBS_PATH", "RestBlobs"]

BLOBS_PATH = "/api/v1/blobs"


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


class RestBlobs:
    """The artifact store of the Knot server at `uri`, reached over `client`."""

    def __init__(self, uri: str, client: httpx.Client) -> None:
        self.uri = uri.rstrip("/")
        self._client = client

    def _url(self, digest: str) -> str:
        return f"{self.uri}{BLOBS_PATH}/{quote(check_digest(digest), safe=':')}"

    def _request(self, method: str, digest: str, **kwargs: object) -> httpx.Response:
        url = self._url(digest)
        try:
            return self._client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach the Knot server at {self.uri} for blob {digest} "
                f"({exc or type(exc).__name__}); check that it is running and try again"
            ) from exc

    def exists(self, digest: str) -> bool:
        """Whether the server's artifact store holds `digest`."""
        response = self._request("HEAD", digest)
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise self._head_error(response, digest)
        return True

    def size(self, digest: str) -> int:
        """The size of `digest` in the server's artifact store; NotFound if it has none."""
        response = self._request("HEAD", digest)
        if response.status_code == 404:
            raise NotFound(f"the Knot server at {self.uri} has no blob {digest}", field="digest")
        if response.status_code >= 400:
            raise self._head_error(response, digest)
        return int(response.headers["content-length"])

    def _head_error(self, response: httpx.Response, digest: str) -> KnotError:
        # a HEAD answer has no body to carry Knot's error, so its status says it all
        if response.status_code == 401:
            return Unauthorized(
                f"the Knot server at {self.uri} requires a token to read blob {digest}; "
                "set KNOT_TOKEN to a token from `knot tokens create`"
            )
        if response.status_code == 403:
            return Forbidden(
                f"the token in KNOT_TOKEN may not read blob {digest} on {self.uri}; "
                "ask for a token with the viewer role or higher"
            )
        return error_from(response, self.uri, "HEAD", f"{BLOBS_PATH}/{digest}")

    def drop_if_damaged(self, digest: str) -> bool:
        """Ask the server to delete `digest` if its stored bytes no longer match it (True
        when it did); a sound or absent blob stays as it is."""
        response = self._request("DELETE", digest)
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise error_from(response, self.uri, "DELETE", f"{BLOBS_PATH}/{digest}")
        return bool(orjson.loads(response.content).get("deleted"))

    def upload(self, path: Path, digest: str | None = None) -> str:
        """Send the file at `path` (named by `digest`, computed when not given) unless
        the server has it already, the way the server chooses; returns the digest."""
        digest = check_digest(digest) if digest is not None else digest_file(path)
        size = path.stat().st_size
        offer = self._json("POST", f"{BLOBS_PATH}/{digest}/uploads", {"size": size})
        if offer.get("present"):
            return digest
        if offer.get("url"):
            self._put_presigned(str(offer["url"]), path, size, digest)
            commit = f"{BLOBS_PATH}/{digest}/uploads/{quote(str(offer['upload_id']), safe='')}"
            self._json("POST", commit, {"size": size})
            return digest
        response = self._request(
            "PUT",
            digest,
            content=_chunks(path),
            params={"size": size},
            headers={"content-length": str(size), "content-type": "application/octet-stream"},
        )
        if response.status_code >= 400:
            raise error_from(response, self.uri, "PUT", f"{BLOBS_PATH}/{digest}")
        return digest

    def _json(self, method: str, path: str, payload: object) -> dict[str, object]:
        answer: dict[str, object] = orjson.loads(
            send(self._client, self.uri, method, path, body=orjson.dumps(payload))
        )
        return answer

    def _put_presigned(self, url: str, path: Path, size: int, digest: str) -> None:
        # straight to the bucket, without the bearer token, which is for Knot only
        try:
            response = httpx.put(
                url,
                content=_chunks(path),
                headers={"content-length": str(size)},
                timeout=self._client.timeout,
            )
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the upload of blob {digest} to the presigned URL the Knot server at "
                f"{self.uri} gave broke off ({exc or type(exc).__name__}); try again"
            ) from exc
        if response.status_code >= 400:
            raise Unavailable(
                f"the presigned URL the Knot server at {self.uri} gave for blob {digest} "
                f"refused the upload (HTTP {response.status_code}: {response.text[:200]}); "
                "try again, and if it repeats set KNOT_PRESIGN=0 on the server"
            )

    @contextmanager
    def downloaded(self, digest: str) -> Iterator[Path]:
        """The blob as a temporary local file, verified against `digest` (removed on exit)."""
        with tempfile.TemporaryDirectory(prefix="knot-blob-") as tmp:
            yield self.download(digest, Path(tmp) / "blob")

    def download(self, digest: str, dest: Path) -> Path:
        """Write the blob to `dest`, which appears only once its digest checks out."""
        digest = check_digest(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        part = Path(name)
        try:
            hasher = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, self._stream(digest) as response:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    hasher.update(chunk)
                    out.write(chunk)
            actual = "sha256:" + hasher.hexdigest()
            if actual != digest:
                raise Corrupted(
                    f"blob {digest} from {self.uri} arrived as {actual}: it is damaged on "
                    "the server or on the way; try again, and if it repeats the stored "
                    "copy is corrupted",
                    field="digest",
                )
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
        return dest

    @contextmanager
    def _stream(self, digest: str) -> Iterator[httpx.Response]:
        # a redirect is the server handing out a presigned URL: follow it, without our
        # bearer token, which is for the Knot server only
        url = self._url(digest)
        try:
            with self._client.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect and "location" in response.headers:
                    with httpx.stream(
                        "GET", response.headers["location"], timeout=self._client.timeout
                    ) as direct:
                        if direct.status_code >= 400:
                            direct.read()
                            raise Unavailable(
                                f"the presigned URL the Knot server at {self.uri} gave for "
                                f"blob {digest} answered HTTP {direct.status_code}; try again"
                            )
                        yield direct
                    return
                if response.status_code >= 400:
                    response.read()
                    error = error_from(response, self.uri, "GET", f"{BLOBS_PATH}/{digest}")
                    if response.status_code == 404 and not isinstance(error, NotFound):
                        error = NotFound(f"the Knot server has no blob {digest}", field="digest")
                    raise error
                yield response
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the download of blob {digest} from {self.uri} broke off "
                f"({exc or type(exc).__name__}); try again"
            ) from exc
