"""Quickstart step: pack the champion as a ModelKit (KitOps' OCI format), sign it, push
it to a local OCI registry started for the demo, and load the model back from there.

    from step_packaging import pack_and_push, stop_registry
    ref = pack_and_push(version)   # '127.0.0.1:PORT/demo/churn:3' (or 'churn:3')
    ...                            # serve from `ref` while the registry runs
    stop_registry()
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from pathlib import Path

from ports import port_for
from rich.console import Console

import knot
from knot.packaging import load_model_from_kit
from knot.packaging.from_registry import pack_model_version
from knot.packaging.local_registry import find_registry_binary, local_registry
from knot.packaging.signing import generate_keys, sign, verify
from knot.packaging.transfer import push

OUT = Path(__file__).parent / "out"
console = Console()
_registry = ExitStack()
atexit.register(_registry.close)


def stop_registry() -> None:
    """Stop the demo's registry (also done at exit)."""
    _registry.close()


def _keys() -> tuple[Path, Path]:
    private, public = OUT / "signing.key", OUT / "signing.pub"
    if not private.exists():
        public.unlink(missing_ok=True)
        generate_keys(private, public)
    return private, public


def pack_and_push(version: knot.ModelVersion) -> str:
    """Pack models:/churn@champion, sign it, push it to a registry on 127.0.0.1 (kept
    running until stop_registry) and return the reference to serve; the local
    reference when docker-registry is not installed."""
    packed = pack_model_version("models:/churn@champion")
    kinds = ", ".join(layer["mediaType"].split(".")[3] for layer in packed.manifest["layers"])
    console.print(
        f"[bold]6. ModelKit[/] packed models:/churn@champion (v{version.version}) as "
        f"{packed.reference} {packed.digest[:19]}... ({kinds})"
    )
    private, public = _keys()
    sign(packed.reference, private)
    ref = packed.reference
    if find_registry_binary() is None:
        console.print(
            "   [yellow]docker-registry is not installed (apt-get install docker-registry); "
            "skipping the push, serving from the local store[/]"
        )
    else:
        address = _registry.enter_context(local_registry(port=port_for("registry")))
        ref = f"{address}/demo/churn:{version.version}"
        first = push(packed.reference, ref)
        again = push(packed.reference, ref)
        console.print(
            f"   pushed to oci://{ref}: {len(first.sent)} blobs ({first.bytes_moved:,} bytes); "
            f"pushing again sent {len(again.sent)}"
        )
    verify(ref, public)
    loaded = load_model_from_kit(f"oci://{ref}" if "/" in ref else ref, public_key=public)
    console.print(f"   signature verified with {public.name}; loaded {loaded!r} from the kit")
    return ref
