"""`knot pack`, `knot kits list/inspect/remove/tags`, `knot push`, `knot pull`,
`knot unpack`, `knot sign`, `knot verify`, `knot keys generate`: ModelKits (KitOps'
OCI format) from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from knot.cli._exit import check_failed
from knot.cli._output import print_json, print_table

kits_app = typer.Typer(help="ModelKits in the local store.", no_args_is_help=True)
keys_app = typer.Typer(help="Ed25519 key pairs for signing ModelKits.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON.")


def pack(
    source: str = typer.Argument(
        ..., help="models:/NAME/VERSION (or @ALIAS), or a folder with a Kitfile."
    ),
    tag: str | None = typer.Option(None, "-t", "--tag", help="Local tag, e.g. churn:3."),
    compression: str = typer.Option("none", help="none, gzip or gzip-fastest (kit's choices)."),
    no_datasets: bool = typer.Option(False, "--no-datasets", help="Leave the run's datasets out."),
) -> None:
    """Pack a registered model version or a Kitfile folder into a ModelKit."""
    from knot.errors import Invalid

    if source.startswith("models:/"):
        from knot.packaging.from_registry import pack_model_version

        packed = pack_model_version(
            source, tag, include_datasets=not no_datasets, compression=compression
        )
    else:
        from knot.packaging.pack import pack_folder

        if not Path(source).is_dir():
            raise Invalid(
                f"{source!r} is neither a models:/ URI nor a folder with a Kitfile", field="source"
            )
        if tag is None:
            raise Invalid("packing a folder needs a tag: -t NAME:TAG", field="tag")
        packed = pack_folder(Path(source), tag, compression=compression)
    typer.echo(
        f"packed {packed.reference} {packed.digest} ({len(packed.manifest['layers'])} layers)"
    )


@kits_app.command("list")
def list_kits(json_out: bool = JSON) -> None:
    """ModelKits in the local store."""
    from knot.packaging.layout import open_kit_store

    entries = open_kit_store().entries()
    if json_out:
        print_json([e.__dict__ for e in entries])
        return
    print_table("ModelKits", ["reference", "digest"], [(e.reference, e.digest) for e in entries])


@kits_app.command("inspect")
def inspect(ref: str, json_out: bool = JSON) -> None:
    """The manifest and Kitfile of a ModelKit (local, or REGISTRY/REPO:TAG)."""
    import json

    from knot.packaging.layout import open_kit_store
    from knot.packaging.unpack import kitfile_of
    from knot.refs import parse_kit_ref

    store = open_kit_store()
    if parse_kit_ref(ref).registry is not None:
        from knot.packaging.transfer import pull

        ref = pull(ref, store=store).reference
    digest, manifest = store.resolve(ref)
    kitfile = kitfile_of(store, manifest).model_dump(mode="json", exclude_none=True)
    if json_out:
        print_json({"digest": digest, "manifest": manifest, "kitfile": kitfile})
        return
    typer.echo(f"{ref} {digest}")
    rows = [(layer["mediaType"], layer["digest"], layer["size"]) for layer in manifest["layers"]]
    print_table("layers", ["media type", "digest", "bytes"], rows)
    typer.echo(json.dumps(kitfile, indent=2))


@kits_app.command("remove")
def remove(ref: str) -> None:
    """Untag a local ModelKit and delete the blobs no other kit uses."""
    from knot.packaging.layout import open_kit_store

    typer.echo(f"removed {ref} ({open_kit_store().remove(ref)})")


@kits_app.command("tags")
def tags(repository: str = typer.Argument(..., help="REGISTRY/REPO")) -> None:
    """The tags of a repository in an OCI registry."""
    from knot.packaging.distribution import RegistryClient
    from knot.packaging.transfer import remote_reference

    ref = remote_reference(repository)
    with RegistryClient(ref.registry or "") as client:
        for tag in client.list_tags(ref.repository):
            typer.echo(tag)


def push(
    source: str = typer.Argument(..., help="Local ModelKit, e.g. churn:3."),
    destination: str = typer.Argument(..., help="REGISTRY/REPO[:TAG]"),
    mount_from: str | None = typer.Option(None, help="Mount blobs from this repository."),
) -> None:
    """Push a ModelKit; blobs the registry already has are not sent again."""
    from knot.packaging.transfer import push as push_kit

    result = push_kit(source, destination, mount_from=mount_from)
    typer.echo(
        f"pushed {result.reference} {result.digest}: {len(result.sent)} blobs sent "
        f"({result.bytes_moved:,} bytes), {len(result.skipped)} already there, "
        f"{len(result.mounted)} mounted"
    )


def pull(ref: str = typer.Argument(..., help="REGISTRY/REPO[:TAG][@DIGEST]")) -> None:
    """Pull a ModelKit into the local store, checking every blob's digest."""
    from knot.packaging.transfer import pull as pull_kit

    result = pull_kit(ref)
    typer.echo(
        f"pulled {result.reference} {result.digest}: {len(result.sent)} blobs received, "
        f"{len(result.skipped)} already here"
    )


def unpack(
    ref: str,
    dest: Path,
    model: bool = typer.Option(False, "--model", help="Only the model (and its parts)."),
    datasets: bool = typer.Option(False, "--datasets", help="Only the datasets."),
    code: bool = typer.Option(False, "--code", help="Only the code."),
    docs: bool = typer.Option(False, "--docs", help="Only the docs."),
) -> None:
    """Extract a ModelKit's layers into DEST (all, or those chosen)."""
    from knot.packaging.unpack import unpack as unpack_kit

    kinds = {
        kind
        for kind, wanted in (
            ("model", model),
            ("modelpart", model),
            ("dataset", datasets),
            ("code", code),
            ("docs", docs),
        )
        if wanted
    }
    written = unpack_kit(ref, dest, kinds or None)
    typer.echo(f"unpacked {len(written)} files into {dest}")


def sign(
    ref: str, key: Path = typer.Option(..., "--key", help="Ed25519 private key (PEM).")
) -> None:
    """Sign a ModelKit's manifest digest; the signature is stored beside it (cosign's tag)."""
    from knot.packaging.signing import sign as sign_kit

    typer.echo(f"signed: {sign_kit(ref, key)}")


def verify(
    ref: str, key: Path = typer.Option(..., "--key", help="Ed25519 public key (PEM).")
) -> None:
    """Check a ModelKit's signature against a public key. Exits 1 when the kit is unsigned
    or its signature does not verify with KEY, 2 when the kit or the key cannot be read."""
    from knot.errors import Corrupted, NotFound
    from knot.packaging.signing import verify as verify_kit

    try:
        digest = verify_kit(ref, key)
    except (Corrupted, NotFound) as exc:
        if exc.field != "signature":  # the kit or a blob is missing: not a verdict
            raise
        check_failed(exc.message)
    typer.echo(f"verified: {ref} ({digest}) is signed by {key}")


@keys_app.command("generate")
def generate(
    private: Path = typer.Option(Path("knot-signing.key"), help="Where to write the private key."),
    public: Path = typer.Option(Path("knot-signing.pub"), help="Where to write the public key."),
) -> None:
    """Write a new Ed25519 key pair (PEM)."""
    from knot.packaging.signing import generate_keys

    generate_keys(private, public)
    typer.echo(f"wrote {private} (keep it secret) and {public}")
