"""A client for the OCI distribution API (what every container registry speaks), over
httpx: blob existence checks, monolithic and chunked uploads, cross-repository mounts,
manifests by tag or digest, tag listing, and bearer-token or basic auth.

Credentials come from KNOT_REGISTRY_USERNAME / KNOT_REGISTRY_PASSWORD. Plain http is
used only for registries on this machine (127.0.0.1, localhost, ::1).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import httpx

from knot.errors import Corrupted, Invalid, KnotError, NotFound, Unauthorized, Unavailable
from knot.packaging.descriptors import check_oci_digest, read_manifest, shown, size_mismatch
from knot.packaging.layer_tar import CHUNK

__all__ = ["ACCEPT", "PASSWORD_ENV", "USERNAME_ENV", "RegistryClient", "is_loopback"]

USERNAME_ENV = "KNOT_REGISTRY_USERNAME"
PASSWORD_ENV = "KNOT_REGISTRY_PASSWORD"
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
Body = bytes | Callable[[], Iterable[bytes]]
_MAX_ERROR_BODY = 64 << 10


def _file_chunks(path: Path, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    remaining = length if length is not None else path.stat().st_size - start
    with path.open("rb") as f:
        f.seek(start)
        while remaining > 0 and (chunk := f.read(min(CHUNK, remaining))):
            remaining -= len(chunk)
            yield chunk


def _plain_length(response: httpx.Response) -> int | None:
    """The announced byte count of the content itself (not of a compressed encoding)."""
    length = response.headers.get("content-length", "")
    encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
    return int(length) if length.isdigit() and not encoded else None


def is_loopback(registry: str) -> bool:
    """Whether plain http is allowed to `registry` (host[:port]): only to this machine."""
    host = (
        registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1:].split("]")[0]
    )
    return host in ("localhost", "::1") or host.startswith("127.")


class RegistryClient:
    """One registry (host[:port]); repositories are passed per call."""

    def __init__(
        self,
        registry: str,
        *,
        username: str | None = None,
        password: str | None = None,
        chunk_size: int = 64 << 20,
        timeout: float = 60.0,
    ) -> None:
        self.registry = registry
        scheme = "http" if is_loopback(registry) else "https"
        self.base = f"{scheme}://{registry}"
        self.username = username or os.environ.get(USERNAME_ENV) or None
        self.password = password or os.environ.get(PASSWORD_ENV) or None
        self.chunk_size = chunk_size
        self._tokens: dict[str, str] = {}
        self._basic = False
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # plumbing

    def _auth_headers(self, scope: str) -> dict[str, str]:
        if scope in self._tokens:
            return {"authorization": f"Bearer {self._tokens[scope]}"}
        if self._basic and self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            return {"authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {}

    def _send(
        self,
        method: str,
        url: str,
        scope: str,
        *,
        body: Body | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        for attempt in range(2):
            content = body() if callable(body) else body
            request = self.http.build_request(
                method,
                url if url.startswith("http") else self.base + url,
                content=content,
                headers={**(headers or {}), **self._auth_headers(scope)},
                params=params,
            )
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise Unavailable(
                    f"cannot reach the OCI registry {self.registry} ({exc or type(exc).__name__}); "
                    "check the address and that it is running",
                ) from exc
            if response.status_code != 401 or attempt == 1:
                return response
            response.close()
            if not self._authenticate(response.headers.get("www-authenticate", ""), scope):
                return response
        raise AssertionError("unreachable")

    def _authenticate(self, challenge: str, scope: str) -> bool:
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if not self.username:
                return False
            self._basic = True
            return True
        if scheme != "bearer":
            return False
        fields = dict(_CHALLENGE.findall(challenge))
        if "realm" not in fields:
            return False
        params = {"service": fields.get("service", self.registry), "scope": scope}
        auth = httpx.BasicAuth(self.username, self.password or "") if self.username else None
        try:
            answer = self.http.get(fields["realm"], params=params, auth=auth)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach the token service {fields['realm']} ({exc})") from exc
        if answer.status_code != 200:
            return False
        try:
            payload = answer.json()
            token = payload.get("token") or payload.get("access_token")
        except (ValueError, AttributeError):  # not a token answer: as good as none
            return False
        if not token:
            return False
        self._tokens[scope] = str(token)
        return True

    def _fail(self, response: httpx.Response, what: str) -> KnotError:
        raw = b""
        try:
            for chunk in response.iter_bytes():  # an error body is read only so far
                raw += chunk
                if len(raw) > _MAX_ERROR_BODY:
                    break
            errors = json.loads(raw).get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        except (ValueError, AttributeError, TypeError, httpx.HTTPError, httpx.StreamError):
            detail = raw[:200].decode("utf-8", "replace")
        # the registry's words go into a one-line error: no newlines, no screenful
        detail = " ".join(detail.split())[:300] or f"HTTP {response.status_code}"
        if response.status_code in (401, 403):
            return Unauthorized(
                f"the registry {self.registry} refused {what} ({detail}); set "
                f"{USERNAME_ENV} and {PASSWORD_ENV} to an account that may do it",
                field="ref",
            )
        if response.status_code == 404:
            return NotFound(f"{what}: not found on {self.registry} ({detail})", field="ref")
        return Unavailable(f"the registry {self.registry} failed {what} ({detail})")

    @staticmethod
    def _scope(repo: str, push: bool) -> str:
        return f"repository:{repo}:{'pull,push' if push else 'pull'}"

    # blobs

    def blob_exists(self, repo: str, digest: str, *, push: bool = False) -> bool:
        check_oci_digest(digest, f"a blob of {repo}")
        response = self._send("HEAD", f"/v2/{repo}/blobs/{digest}", self._scope(repo, push))
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, f"checking blob {digest} in {repo}")

    def _start_upload(self, repo: str, digest: str, mount_from: str | None) -> str | None:
        """The upload URL, or None when the blob was mounted from `mount_from`."""
        check_oci_digest(digest, f"a blob for {repo}")
        params = {"mount": digest, "from": mount_from} if mount_from else None
        scope = self._scope(repo, True)
        response = self._send("POST", f"/v2/{repo}/blobs/uploads/", scope, params=params)
        if mount_from and response.status_code == 201:
            return None
        if response.status_code != 202 or "location" not in response.headers:
            raise self._fail(response, f"starting an upload to {repo}")
        return str(httpx.URL(self.base).join(response.headers["location"]))

    def upload_blob(
        self, repo: str, path: Path, digest: str, *, mount_from: str | None = None
    ) -> str:
        """Send `path` as blob `digest`: "mounted", or "uploaded" in one PUT (small blobs)
        or chunked PATCHes. The file is streamed, never read whole."""
        location = self._start_upload(repo, digest, mount_from)
        if location is None:
            return "mounted"
        size = path.stat().st_size
        scope = self._scope(repo, True)
        if size > self.chunk_size:
            for start in range(0, size, self.chunk_size):
                length = min(self.chunk_size, size - start)
                response = self._send(
                    "PATCH",
                    location,
                    scope,
                    body=lambda s=start, n=length: _file_chunks(path, s, n),
                    headers={
                        "content-type": "application/octet-stream",
                        "content-length": str(length),
                        "content-range": f"{start}-{start + length - 1}",
                    },
                )
                if response.status_code != 202:
                    raise self._fail(response, f"uploading blob {digest} to {repo}")
                location = str(httpx.URL(self.base).join(response.headers["location"]))
            body: Body = b""
            length_header = "0"
        else:
            body, length_header = (lambda: _file_chunks(path)), str(size)
        url = str(httpx.URL(location).copy_merge_params({"digest": digest}))
        response = self._send(
            "PUT",
            url,
            scope,
            body=body,
            headers={"content-type": "application/octet-stream", "content-length": length_header},
        )
        if response.status_code != 201:
            raise self._fail(response, f"finishing the upload of blob {digest} to {repo}")
        return "uploaded"

    def download_blob(self, repo: str, digest: str, dest: Path, size: int) -> None:
        """Stream blob `digest` into `dest` (a temp file of the caller's), hashing and
        counting as it comes; Corrupted as soon as it exceeds `size` bytes, or at the
        end if its size or digest differs. `dest` is never renamed here."""
        where = f"blob {check_oci_digest(digest, 'a blob')} of {self.registry}/{repo}"
        sha, received = hashlib.sha256(), 0
        response = self._send(
            "GET", f"/v2/{repo}/blobs/{digest}", self._scope(repo, False), stream=True
        )
        try:
            if response.status_code != 200:
                raise self._fail(response, f"blob {digest} of {repo}")
            announced = _plain_length(response)
            if announced is not None and announced != size:
                raise size_mismatch(where, announced, size)
            with dest.open("wb") as out:
                for chunk in response.iter_bytes():  # as received: faster than re-chunking
                    received += len(chunk)
                    if received > size:  # a registry must not fill the disk
                        raise size_mismatch(where, received, size, more=True)
                    sha.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the OCI registry {self.registry} broke off sending {where} ({exc}); pull again",
            ) from exc
        finally:
            response.close()
        if received != size:
            raise size_mismatch(where, received, size)
        if f"sha256:{sha.hexdigest()}" != digest:
            raise Corrupted(
                f"{where} does not match its digest (got sha256:{sha.hexdigest()}); the "
                "registry's copy is damaged or was tampered with, so nothing was stored",
                field="digest",
            )

    # manifests and tags

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str]:
        """(manifest bytes, digest) by tag or digest. The bytes are checked against the
        digest asked for and against the registry's Docker-Content-Digest header, and
        at most MAX_MANIFEST_BYTES are read."""
        if ":" in reference:  # tags cannot hold ':'; anything with one must be a digest
            check_oci_digest(reference, f"the manifest asked for from {self.registry}/{repo}")
        where = f"manifest {reference} from {self.registry}/{repo}"
        response = self._send(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            self._scope(repo, False),
            headers={"accept": ACCEPT},
            stream=True,
        )
        try:
            if response.status_code == 404:
                raise NotFound(
                    f"no ModelKit {self.registry}/{repo}:{reference} (the registry has no such "
                    f"repository or tag); list tags with `knot kits tags {self.registry}/{repo}`",
                    field="ref",
                )
            if response.status_code != 200:
                raise self._fail(response, f"manifest {reference} of {repo}")
            body = read_manifest(response.iter_bytes(), _plain_length(response), where)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the OCI registry {self.registry} broke off sending {where} ({exc}); pull again"
            ) from exc
        finally:
            response.close()
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        if reference.startswith("sha256:") and reference != digest:
            raise Corrupted(
                f"{where} does not match the digest asked for (got {digest}); the registry "
                "returned other bytes than were pinned, so nothing was stored",
                field="digest",
            )
        header = response.headers.get("docker-content-digest")
        if header is not None:
            check_oci_digest(header, f"the Docker-Content-Digest header of {where}")
            if header != digest:
                raise Corrupted(
                    f"{where} does not match the registry's Docker-Content-Digest header "
                    f"{header} (the bytes hash to {digest}); the registry or something "
                    "between it and here changed the manifest, so nothing was stored",
                    field="digest",
                )
        return body, digest

    def put_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        response = self._send(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            self._scope(repo, True),
            body=body,
            headers={"content-type": media_type},
        )
        if response.status_code not in (200, 201):
            raise self._fail(response, f"storing manifest {reference} in {repo}")
        return f"sha256:{hashlib.sha256(body).hexdigest()}"

    def list_tags(self, repo: str) -> list[str]:
        tags: list[str] = []
        url: str | None = f"/v2/{repo}/tags/list"
        while url:
            response = self._send("GET", url, self._scope(repo, False))
            if response.status_code == 404:
                return []
            if response.status_code != 200:
                raise self._fail(response, f"listing tags of {repo}")
            try:
                tags += [str(tag) for tag in response.json().get("tags") or []]
            except (ValueError, AttributeError, TypeError) as exc:
                raise Invalid(
                    f"the registry {self.registry} answered the tag list of {repo} with "
                    f"something else than JSON tags ({exc})",
                    field="ref",
                ) from None
            match = re.match(r"<([^>]+)>", response.headers.get("link", ""))
            url = match.group(1) if match else None
            if url and not str(httpx.URL(self.base).join(url)).startswith(self.base + "/"):
                raise Invalid(  # our credentials go to this registry only
                    f"the registry {self.registry} points the next page of tags at "
                    f"{shown(url)}, another host; Knot follows links on the registry only",
                    field="ref",
                )
        return sorted(tags)
