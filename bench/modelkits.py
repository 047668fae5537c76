"""Packing, pushing and pulling a large model folder: Knot against the `oras` Python SDK
(and Python's tarfile for packing), side by side in one process run.

    python bench/modelkits.py [--size-mb 1024] [--files 4]

A generated model folder (random bytes in `--files` files, `--size-mb` in all) is packed
into a ModelKit, pushed to a local registry (Debian's docker-registry started here), pushed
again (it must send no blob), and pulled into an empty store. The peers do the same work
on the same bytes: tarfile writes the folder's tar, oras pushes and pulls the model layer
file. Packing is timed twice against tarfile: plain (tarfile leaves its bytes in the page
cache) and durable (tarfile, then the fsync Knot does before it records the kit), since
a pack that fsyncs can go no faster than the disk writes. Two ceilings follow, on the
same bytes: sha256 alone (one stream from memory, the layer digest every OCI packer
computes; it cannot be split across cores), writing them to a new file with an fsync (what a
durable pack waits for), and the disk itself: as many bytes written with O_DIRECT from an
aligned buffer, no page cache and no copy, then an fsync (no durable write of these bytes
can land faster on this machine). Each operation runs in a
forked child, so its peak memory (max RSS) is its own; a streaming implementation stays
flat whatever the size. Results go to bench/results/packaging.json. Nothing here asserts
a time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import multiprocessing
import os
import resource
import shutil
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from interleave import DEFAULT_N, Interleaved, interleave, print_interleaved

RESULTS = Path(__file__).resolve().parent / "results" / "packaging.json"
console = Console(width=150)


def _child(fn: Callable[[], Any], queue: Any) -> None:
    started = time.perf_counter()
    try:
        extra = fn()
        error = ""
    except Exception as exc:  # the peer may fail; report it in the table
        extra, error = None, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, peak_mb, extra, error))


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any, str]:
    """(seconds, peak RSS in MB, what fn returned, error) of fn run in a forked child."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(fn, queue))
    process.start()
    result = queue.get()
    process.join()
    return result  # type: ignore[no-any-return]


def make_folder(root: Path, size_mb: int, files: int) -> None:
    model = root / "model"
    model.mkdir(parents=True)
    per_file = size_mb * (1 << 20) // files
    for i in range(files):
        with (model / f"weights-{i:03d}.bin").open("wb") as f:
            left = per_file
            while left:
                chunk = min(left, 8 << 20)
                f.write(os.urandom(chunk))
                left -= chunk
    (model / "config.json").write_text('{"layers": 48}')
    (root / "Kitfile").write_text(
        'manifestVersion: "1.0"\npackage: {name: bench}\nmodel: {name: bench, path: model}\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="model folder size (MB)")
    parser.add_argument("--files", type=int, default=4, help="files in the folder")
    parser.add_argument("--rounds", type=int, default=DEFAULT_N, help="interleaved pack rounds")
    parser.add_argument("--pack-only", action="store_true", help="skip push and pull")
    args = parser.parse_args()

    from knot.packaging.layout import open_kit_store
    from knot.packaging.local_registry import local_registry
    from knot.packaging.pack import pack_folder
    from knot.packaging.transfer import pull, push

    with tempfile.TemporaryDirectory(prefix="knot-bench-pack-") as tmp:
        root = Path(tmp)
        os.environ["KNOT_HOME"] = str(root / "home")
        context = root / "context"
        with console.status(f"generating a {args.size_mb} MB model folder"):
            make_folder(context, args.size_mb, args.files)
        mb = sum(p.stat().st_size for p in context.rglob("*") if p.is_file()) / (1 << 20)
        with local_registry(root / "registry") as address:
            target = f"{address}/bench/model:1"
            rows: list[dict[str, Any]] = []

            def row(
                op: str,
                knot: tuple[float, float, Any, str],
                peer: str,
                other: tuple[float, float, Any, str] | None,
                note: str = "",
            ) -> None:
                rows.append(
                    {
                        "operation": op,
                        "mb": mb,
                        "knot_s": knot[0],
                        "knot_peak_mb": knot[1],
                        "peer": peer,
                        "peer_s": other[0] if other else None,
                        "peer_peak_mb": other[1] if other else None,
                        "peer_error": other[3] if other else "",
                        "note": note or knot[3],
                    }
                )

            packed, tarred, pack_rounds = _pack_rounds(context, root, mb, args.rounds)
            row("pack", packed, "tarfile", tarred, f"median of {args.rounds} interleaved")
            packed, synced, durable_rounds = _pack_rounds(
                context, root, mb, args.rounds, fsync=True
            )
            row("pack, durable", packed, "tarfile + fsync", synced, "both sides fsync")
            if not args.pack_only:
                measure(lambda: pack_folder(context, "bench:1").digest)  # the kit to push
                first = measure(lambda: len(push("bench:1", target).sent))
                layer = _model_layer(open_kit_store())
                oras_push = measure(lambda: _oras_push(address, layer))
                row("push", first, "oras", oras_push, f"{first[2]} blobs sent")
                second = measure(lambda: len(push("bench:1", target).sent))
                oras_again = measure(lambda: _oras_push(address, layer))
                row("push again", second, "oras", oras_again, f"{second[2]} blobs sent")
                pulled = measure(lambda: pull(target, store=open_kit_store(root / "pulled")).digest)
                oras_pull = measure(lambda: _oras_pull(address, root / "oras-out"))
                row("pull", pulled, "oras", oras_pull)
            ceilings = _ceilings(context, root, mb, args.rounds)
        _print(rows)
        _print_ceilings(ceilings, mb)
        interleaved = [pack_rounds, durable_rounds]
        print_interleaved(
            "Packing: Knot vs tarfile", interleaved, {r.scenario: 1.0 for r in interleaved}
        )
        RESULTS.parent.mkdir(exist_ok=True)
        doc = {
            "size_mb": args.size_mb,
            "rows": rows,
            "interleaved": [r.as_json() for r in interleaved],
            "ceilings_mb_s": ceilings,
        }
        RESULTS.write_text(json.dumps(doc, indent=2))
        console.print(f"results: {RESULTS}")


def _pack_rounds(
    context: Path, root: Path, mb: float, rounds: int, *, fsync: bool = False
) -> tuple[tuple[float, float, Any, str], tuple[float, float, Any, str], Interleaved]:
    """Pack and tar the folder in turns, each round into fresh output that is removed after.

    Each round starts after os.sync() (untimed), so neither side pays for writing back
    the other's dirty pages; Knot's clock includes its own fsync, tarfile's only with
    `fsync`. Every Knot round must give the same kit digest (packing is deterministic).
    """
    last: dict[str, tuple[float, float, Any, str]] = {}
    digests: set[str] = set()

    def peer(i: int) -> float:
        dest = root / f"peer-{i}.tar"
        os.sync()
        last["peer"] = result = measure(lambda: _tar(context, dest, fsync=fsync))
        dest.unlink()
        if result[3]:
            raise RuntimeError(f"tarfile failed: {result[3]}")
        return mb / result[0]

    def knot(i: int) -> float:
        home = root / f"pack-home-{i}"
        os.sync()

        def pack() -> str:
            from knot.packaging.kitfile import read_kitfile
            from knot.packaging.layout import open_kit_store
            from knot.packaging.pack import pack_kitfile

            store = open_kit_store(home)
            return pack_kitfile(
                context, read_kitfile(context / "Kitfile"), "bench:1", store=store
            ).digest

        last["knot"] = result = measure(pack)
        shutil.rmtree(home)
        if result[3]:
            raise RuntimeError(f"knot pack failed: {result[3]}")
        digests.add(result[2])
        if len(digests) != 1:
            raise RuntimeError(f"packing the same folder gave different kits: {digests}")
        return mb / result[0]

    rows = interleave("pack, durable" if fsync else "pack", "MB/s", peer, knot, n=rounds,
                      peer_name="tarfile + fsync" if fsync else "tarfile",
                      progress=lambda line: console.print(f"[dim]{line}[/]"))  # fmt: skip
    med_k, med_p = mb / rows.knot.median, mb / rows.peer.median
    packed = (med_k, last["knot"][1], last["knot"][2], "")
    tarred = (med_p, last["peer"][1], None, "")
    return packed, tarred, rows


def _ceilings(context: Path, root: Path, mb: float, rounds: int) -> dict[str, float]:
    """Median MB/s of sha256 over as many bytes, from memory in 1 MiB chunks (an upper
    bound: no reads), and of copying the folder into one new file followed by an fsync,
    each in a forked child."""
    files = sorted(p for p in context.rglob("*") if p.is_file())

    def hash_all() -> str:
        # the bytes already in memory: no read, so no packer can hash them faster
        sha, chunk = hashlib.sha256(), memoryview(os.urandom(1 << 20))
        for _ in range(round(mb)):
            sha.update(chunk)
        return sha.hexdigest()

    def write_all() -> None:
        dest = root / "ceiling.bin"
        with dest.open("xb") as out:
            for path in files:
                with path.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        dest.unlink()

    def direct_write() -> None:
        # the disk's own rate: aligned 1 MiB writes that bypass the page cache
        dest = root / "ceiling-direct.bin"
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o644)
        buffer = mmap.mmap(-1, 1 << 20)  # page-aligned, as O_DIRECT needs
        buffer.write(os.urandom(1 << 20))
        try:
            for _ in range(round(mb)):
                os.write(fd, buffer)
            os.fsync(fd)
        finally:
            os.close(fd)
            dest.unlink()

    work = [("sha256", hash_all), ("write + fsync", write_all)]
    if hasattr(os, "O_DIRECT"):
        work.append(("direct write + fsync", direct_write))
    found: dict[str, list[float]] = {name: [] for name, _ in work}
    for _ in range(rounds):
        for name, fn in list(work):
            os.sync()
            seconds, _, _, error = measure(fn)
            if error and name == "direct write + fsync":
                found.pop(name)  # a filesystem without O_DIRECT (tmpfs): no such ceiling
                work.remove((name, fn))
                console.print(f"[yellow]no direct-write ceiling here: {error}[/]")
                continue
            if error:
                raise RuntimeError(f"{name} failed: {error}")
            found[name].append(mb / seconds)
    return {name: statistics.median(rates) for name, rates in found.items()}


def _print_ceilings(ceilings: dict[str, float], mb: float) -> None:
    table = Table(title=f"Ceilings on the same {mb:.0f} MB, median MB/s")
    table.add_column("work")
    table.add_column("MB/s")
    table.add_column("bounds")
    table.add_row(
        "sha256 alone, one stream, from memory",
        f"{ceilings['sha256']:,.0f}",
        "any pack (the layer digest)",
    )
    table.add_row(
        "copy into a new file + fsync", f"{ceilings['write + fsync']:,.0f}", "a durable pack"
    )
    if "direct write + fsync" in ceilings:
        table.add_row(
            "the disk: O_DIRECT from memory + fsync",
            f"{ceilings['direct write + fsync']:,.0f}",
            "any durable write here",
        )
    console.print(table)


def _tar(context: Path, dest: Path, *, fsync: bool = False) -> None:
    with tarfile.open(dest, "w") as tar:
        tar.add(context / "model", "model")
    if fsync:  # what a durable pack must do before it says the kit is there
        fd = os.open(dest, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _model_layer(store: Any) -> Path:
    _, manifest = store.resolve("bench:1")
    return Path(store.blob_path(manifest["layers"][0]["digest"]))


def _oras_push(address: str, layer: Path) -> None:
    import oras.client

    os.chdir(layer.parent)
    client = oras.client.OrasClient(hostname=address, insecure=True)
    client.push(files=[layer.name], target=f"{address}/oras/model:1", disable_path_validation=True)


def _oras_pull(address: str, out: Path) -> None:
    import oras.client

    client = oras.client.OrasClient(hostname=address, insecure=True)
    client.pull(target=f"{address}/oras/model:1", outdir=str(out))


def _print(rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"ModelKit packing, {rows[0]['mb']:.0f} MB model folder")
    for column in (
        "operation",
        "Knot MB/s",
        "Knot peak MB",
        "peer",
        "peer MB/s",
        "peer peak MB",
        "Knot / peer speed",
        "note",
    ):
        table.add_column(column)
    for r in rows:
        knot_rate = r["mb"] / r["knot_s"]
        peer_rate = r["mb"] / r["peer_s"] if r["peer_s"] and not r["peer_error"] else None
        table.add_row(
            r["operation"],
            f"{knot_rate:,.0f}" if r["operation"] != "push again" else f"{r['knot_s']:.3f} s",
            f"{r['knot_peak_mb']:.0f}",
            r["peer"],
            "failed"
            if r["peer_error"]
            else (
                f"{peer_rate:,.0f}" if r["operation"] != "push again" else f"{r['peer_s']:.3f} s"
            ),
            "" if r["peer_peak_mb"] is None else f"{r['peer_peak_mb']:.0f}",
            f"{(r['peer_s'] / r['knot_s']):.2f}x" if peer_rate else "",
            r["note"] or r["peer_error"][:60],
        )
    console.print(table)


if __name__ == "__main__":
    main()
