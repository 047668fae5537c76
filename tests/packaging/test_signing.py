"""Ed25519 signatures stored cosign-style beside the kit, locally and in a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from knot.errors import Corrupted, Invalid, NotFound
from knot.packaging.distribution import RegistryClient
from knot.packaging.layout import KitStore, open_kit_store
from knot.packaging.pack import pack_folder
from knot.packaging.signing import generate_keys, sign, verify
from knot.packaging.transfer import pull, push
from tests.packaging.conftest import OciRegistry


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    generate_keys(tmp_path / "k.key", tmp_path / "k.pub")
    return tmp_path / "k.key", tmp_path / "k.pub"


def test_sign_and_verify_locally(context: Path, store: KitStore, keys: tuple[Path, Path]) -> None:
    packed = pack_folder(context, "toy:1")
    assert (keys[0].stat().st_mode & 0o777) == 0o600
    with pytest.raises(NotFound, match="is not signed"):
        verify("toy:1", keys[1], store=store)
    tag = sign("toy:1", keys[0], store=store)
    assert tag == f"toy:sha256-{packed.digest.removeprefix('sha256:')}.sig"
    assert verify("toy:1", keys[1], store=store) == packed.digest


def test_other_key_or_changed_kit_fails(
    context: Path, store: KitStore, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    pack_folder(context, "toy:1")
    sign("toy:1", keys[0], store=store)
    generate_keys(tmp_path / "other.key", tmp_path / "other.pub")
    with pytest.raises(Corrupted, match="does not verify"):
        verify("toy:1", tmp_path / "other.pub", store=store)
    (context / "README.md").write_text("changed after signing")
    pack_folder(context, "toy:1")  # the tag now names another manifest digest
    with pytest.raises(NotFound, match="is not signed"):
        verify("toy:1", keys[1], store=store)


def test_bad_keys(context: Path, store: KitStore, keys: tuple[Path, Path], tmp_path: Path) -> None:
    pack_folder(context, "toy:1")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(Invalid, match="not a PEM private key"):
        sign("toy:1", tmp_path / "junk.pem", store=store)
    with pytest.raises(Invalid, match="no private key"):
        sign("toy:1", tmp_path / "missing.key", store=store)
    with pytest.raises(Invalid, match="not a PEM public key"):
        verify("toy:1", keys[0], store=store)  # the private half given as public
    with pytest.raises(Invalid, match="already exists"):
        generate_keys(keys[0], tmp_path / "new.pub")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    rsa_like = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.key").write_bytes(
        rsa_like.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(Invalid, match="not an Ed25519"):
        sign("toy:1", tmp_path / "ec.key", store=store)


def test_signature_travels_with_push_and_pull(
    oci_registry: OciRegistry,
    context: Path,
    store: KitStore,
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    packed = pack_folder(context, "toy:1")
    sign("toy:1", keys[0], store=store)
    target = f"{oci_registry.address}/signed/toy:1"
    push("toy:1", target, store=store)
    with RegistryClient(oci_registry.address) as client:
        sig = f"sha256-{packed.digest.removeprefix('sha256:')}.sig"
        assert client.list_tags("signed/toy") == ["1", sig]
    assert verify(target, keys[1], store=store) == packed.digest  # read from the registry
    fresh = open_kit_store(tmp_path / "fresh")
    pull(target, store=fresh)
    assert verify(target.split("/", 1)[0] + "/signed/toy:1", keys[1], store=fresh)


def test_sign_in_registry(
    oci_registry: OciRegistry, context: Path, store: KitStore, keys: tuple[Path, Path]
) -> None:
    pack_folder(context, "toy:1")
    target = f"{oci_registry.address}/remote-signed/toy:1"
    push("toy:1", target, store=store)
    with pytest.raises(NotFound, match="is not signed"):
        verify(target, keys[1], store=store)
    sign(target, keys[0], store=store)
    assert verify(target, keys[1], store=store)
