"""Basic auth against a real registry with htpasswd turned on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knot.errors import Unauthorized
from knot.packaging.distribution import PASSWORD_ENV, USERNAME_ENV
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.local_registry import find_registry_binary, local_registry
from knot.packaging.pack import pack_folder
from knot.packaging.transfer import pull, push


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    bcrypt = pytest.importorskip("bcrypt", reason="bcrypt writes the htpasswd file")
    if find_registry_binary() is None:
        pytest.skip("Debian's docker-registry is not installed (apt-get install docker-registry)")
    root = tmp_path_factory.mktemp("locked-registry")
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    (root / "htpasswd").write_text(f"alice:{hashed}\n")
    with local_registry(root / "storage", htpasswd=root / "htpasswd") as address:
        yield address


def test_basic_auth(
    locked_registry: str,
    context: Path,
    store: KitStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pack_folder(context, "toy:1")
    target = f"{locked_registry}/private/toy:1"
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    with pytest.raises(Unauthorized, match=USERNAME_ENV):
        push("toy:1", target, store=store)
    monkeypatch.setenv(USERNAME_ENV, "alice")
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(Unauthorized, match="refused"):
        push("toy:1", target, store=store)
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    pushed = push("toy:1", target, store=store)
    assert len(pushed.sent) == 6
    assert pull(target, store=open_kit_store(tmp_path / "s")).digest == pushed.digest


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.packaging.token_server import token_service

    if find_registry_binary() is None:
        pytest.skip("Debian's docker-registry is not installed (apt-get install docker-registry)")
    root = tmp_path_factory.mktemp("token-registry")
    with (
        token_service(root, "t0ken") as (auth, _),
        local_registry(root / "storage", auth_yaml=auth) as address,
    ):
        yield address


def test_bearer_token_auth(
    token_registry: str,
    context: Path,
    store: KitStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pack_folder(context, "toy:1")
    target = f"{token_registry}/tokened/toy:1"
    monkeypatch.setenv(USERNAME_ENV, "alice")
    monkeypatch.setenv(PASSWORD_ENV, "nope")
    with pytest.raises(Unauthorized, match=USERNAME_ENV):
        push("toy:1", target, store=store)
    monkeypatch.setenv(PASSWORD_ENV, "t0ken")
    pushed = push("toy:1", target, store=store)
    assert len(pushed.sent) == 6
    assert pull(target, store=open_kit_store(tmp_path / "s")).digest == pushed.digest
