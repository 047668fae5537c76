"""The audit key: a secret kept outside the database that seals audit records and signs
anchors, so someone who can write the database but not read the key cannot forge them.

Where it comes from, first found wins:
    KNOT_AUDIT_KEY       the key itself (at least 32 characters), e.g. from a secret store
    KNOT_AUDIT_KEY_FILE  a file holding it
    KNOT_HOME/keys/audit.key

Writers seal with the key when one exists and never create one: `knot audit anchor`
creates the default file (mode 0600, its folder 0700) on first use. Every process
that writes a store directly (the server, `knot tokens create`, scripts) must then
read the same key; clients of `knot server` need none.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from knot.artifacts._atomic import fsync_dir
from knot.errors import Invalid

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "AuditKey", "create_key", "key_path", "load_key"]

KEY_ENV = "KNOT_AUDIT_KEY"
KEY_FILE_ENV = "KNOT_AUDIT_KEY_FILE"
MIN_LENGTH = 32
_HEX_KEY = re.compile(r"^[0-9a-f]{64}$")
_lock = threading.Lock()
# read once per file version: records are written often, and a stat is cheaper than a read
_loaded: dict[tuple[Path, int, int], AuditKey] = {}


@dataclass(frozen=True)
class AuditKey:
    """A secret and where it was read from (shown in messages, never the secret)."""

    secret: bytes = field(repr=False)
    source: str

    def seal(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()


def key_path() -> Path:
    """The key file: KNOT_AUDIT_KEY_FILE, else KNOT_HOME/keys/audit.key."""
    from knot.config import settings

    named = os.environ.get(KEY_FILE_ENV)
    return Path(named).expanduser() if named else settings().home / "keys" / "audit.key"


def _from_env(value: str) -> AuditKey:
    if len(value) < MIN_LENGTH:
        raise Invalid(
            f"{KEY_ENV} holds {len(value)} characters; an audit key needs at least "
            f"{MIN_LENGTH} (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)",
            field=KEY_ENV,
        )
    return AuditKey(value.encode(), KEY_ENV)


def _read(path: Path) -> AuditKey:
    text = path.read_text().strip()
    if not _HEX_KEY.match(text):
        raise Invalid(
            f"audit key file {path} does not hold 64 hex digits; restore the key the store was "
            f"sealed with, or point {KEY_FILE_ENV} at it",
            field=KEY_FILE_ENV,
        )
    return AuditKey(bytes.fromhex(text), str(path))


def load_key() -> AuditKey | None:
    """The configured key, or None when there is none (records are then not sealed)."""
    value = os.environ.get(KEY_ENV)
    if value:
        return _from_env(value)
    path = key_path()
    try:
        info = path.stat()
    except FileNotFoundError:
        return None  # looked for again next time: `knot audit anchor` may create it
    version = (path, info.st_ino, info.st_mtime_ns)
    found = _loaded.get(version)
    if found is None:
        with _lock:
            found = _loaded[version] = _read(path)
    return found


def create_key() -> AuditKey:
    """The configured key, creating the key file (0600) when there is none."""
    found = load_key()
    if found is not None:
        return found
    path = key_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link, unlike rename, never replaces: of two processes creating it, one key wins
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    fsync_dir(path.parent)
    created = load_key()
    assert created is not None
    return created
