"""Where Knot keeps things: settings read from the environment, then ./knot.toml.

KNOT_HOME       folder for the default stores (default ~/.knot)
KNOT_STORE      metadata store URI: sqlite:///path.db, postgresql://..., http://host:port
KNOT_ARTIFACTS  artifact store URI: file:///folder, s3://bucket/prefix, or a Knot server's
                http://host:port (the default when KNOT_STORE is a server)
KNOT_USER       who is recorded as the author of runs and changes (default: the OS user);
                advisory: anybody can set it. Only a token on `knot server --auth`
                proves who someone is and what role they hold
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knot.errors import Invalid

__all__ = ["KNOWN_KEYS", "Settings", "pinned", "redact", "settings"]

#: the keys ./knot.toml may set (at its top level or under [knot])
KNOWN_KEYS = ("home", "store", "artifacts", "user")


@dataclass(frozen=True)
class Settings:
    home: Path
    store_uri: str
    artifacts_uri: str
    user: str


def redact(uri: str) -> str:
    """`uri` without its password, for logs and for telling a user which store is used."""
    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", uri)


@lru_cache(maxsize=16)
def _read_toml(path: Path, _mtime: int) -> tuple[tuple[str, str], ...]:
    # Cached by modification time: settings() runs on every run start and audit record.
    if not path.is_file():
        return ()
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{path} is not valid TOML ({exc}); fix the file or remove it") from exc
    section = data.get("knot", data)
    return tuple((str(k), str(v)) for k, v in section.items() if not isinstance(v, dict))


_pinned: ContextVar[Settings | None] = ContextVar("knot_settings", default=None)


@contextmanager
def pinned(value: Settings) -> Iterator[None]:
    """settings() returns `value` in this context: for a burst of Knot's own writes that
    would each read the environment and ./knot.toml again (a pipeline records every
    step with audit rows, and each needs the user and the home folder)."""
    token = _pinned.set(value)
    try:
        yield
    finally:
        _pinned.reset(token)


def settings() -> Settings:
    """Read settings now (not at import), so tests and users can change the environment."""
    fixed = _pinned.get()
    if fixed is not None:
        return fixed
    cwd = os.getcwd()
    try:
        mtime = os.stat(os.path.join(cwd, "knot.toml")).st_mtime_ns
    except OSError:
        mtime = None
    env = os.environ.get
    # every run start and audit record asks: the same inputs give the same answer
    knot = (env("KNOT_HOME"), env("KNOT_STORE"), env("KNOT_ARTIFACTS"), env("KNOT_USER"))
    return _settings(cwd, mtime, env("HOME"), *knot)


@lru_cache(maxsize=16)
def _settings(
    cwd: str,
    toml_mtime: int | None,
    _home: str | None,  # Path.home() and "~" read HOME
    home_env: str | None,
    store_env: str | None,
    artifacts_env: str | None,
    user_env: str | None,
) -> Settings:
    toml = dict(_read_toml(Path(cwd) / "knot.toml", toml_mtime)) if toml_mtime is not None else {}
    home = Path(home_env or toml.get("home") or Path.home() / ".knot")
    home = home.expanduser()
    store = store_env or toml.get("store") or f"sqlite:///{home / 'knot.db'}"
    # a client of a Knot server keeps its artifacts on that server (knot.client.rest_artifacts)
    server = store if store.split(":", 1)[0].lower() in ("http", "https") else None
    artifacts = artifacts_env or toml.get("artifacts") or server or f"file://{home / 'artifacts'}"
    user = user_env or toml.get("user") or _os_user()
    return Settings(home=home, store_uri=store, artifacts_uri=artifacts, user=user)


@lru_cache(maxsize=1)
def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
