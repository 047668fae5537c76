"""`knot serve oci://...`: a ModelKit is served like a registered model, and with a
public key set, an unsigned kit is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from knot.errors import KnotError
from knot.packaging.from_registry import pack_model_version
from knot.packaging.signing import generate_keys, sign
from knot.serving.sources import load_source
from tests.cli.knot_process import assert_error, run
from tests.servers import free_port
from tests.serving.conftest import row, serving
from tests.serving.live import knot_serve

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


def test_knot_serve_takes_a_local_kit_tag_or_exits_2_before_starting(churn: Path) -> None:
    packed = pack_model_version("models:/churn/2")
    assert ":" in packed.reference and "/" not in packed.reference  # NAME:TAG
    with knot_serve(packed.reference) as (url, _):
        answer = httpx.post(f"{url}/predict", json={"inputs": [row(30.0)]}, timeout=30)
    assert answer.json()["predictions"] == [11]
    port = str(free_port())
    assert_error(run(churn, "serve", "churn:404", "--port", port), "no ModelKit 'churn:404'")
    assert_error(
        run(churn, "serve", "oci://127.0.0.1:1/x/churn:1", "--port", port),
        "cannot reach the OCI registry 127.0.0.1:1",
    )
    assert_error(run(churn, "serve", "nothing", "--port", port), "NAME:TAG", "oci://")
