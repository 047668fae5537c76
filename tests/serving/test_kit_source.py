"""`knot serve oci://...`: a ModelKit is served like a registered model, and with a
public key set, an unsigned kit is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from knot.errors import KnotError
from knot.packaging.from_registry import pack_model_version
from knot.packaging.signing import generate_keys, sign
from knot.serving.sources import load_source
from tests.serving.conftest import row, serving

pytestmark = pytest.mark.anyio


async def test_a_modelkit_serves_like_its_model_version(churn: Path) -> None:
    packed = pack_model_version("models:/churn/2")
    served = load_source(f"oci://{packed.reference}")
    assert (served.name, served.version, served.digest) == ("churn", 2, packed.digest)
    async with serving(model=f"oci://{packed.reference}") as (client, _):
        answer = await client.post("/predict", json={"inputs": [row(30.0)]})
    assert answer.status_code == 200
    assert answer.json()["predictions"] == [11]


async def test_with_a_public_key_only_signed_kits_are_served(
    churn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = tmp_path / "kit.key", tmp_path / "kit.pub"
    generate_keys(private, public)
    packed = pack_model_version("models:/churn/1")
    monkeypatch.setenv("KNOT_KIT_PUBLIC_KEY", str(public))
    with pytest.raises(KnotError, match="is not signed"):
        load_source(f"oci://{packed.reference}")
    sign(packed.reference, private)
    assert load_source(f"oci://{packed.reference}").version == 1
