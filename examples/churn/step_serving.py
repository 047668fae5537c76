"""Quickstart step: serve the champion, send it traffic, move a challenger in as a 25%
canary (the running service picks it up), show the split and the prediction log.

    from step_serving import serve_and_canary
    serve_and_canary("churn")
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter

import httpx
from ports import port_for
from rich.console import Console
from rich.table import Table

import knot
from knot.serving.logs.predictions import read_prediction_log

console = Console()
CANARY_WEIGHT = 0.25


def _rows(name: str, n: int) -> list[dict[str, object]]:
    """`n` rows of the data the champion was trained on, with the columns it takes."""
    champion = knot.get_model_version(f"models:/{name}@champion")
    if champion.signature is None or not champion.datasets:
        raise SystemExit(f"{champion.uri} has no signature or dataset to draw requests from")
    frame = knot.load_dataset(champion.datasets[0])
    return list(frame[champion.signature.columns].head(n).to_dict("records"))


def _challenger(name: str) -> int:
    """A ready version other than the champion; the champion's model registered again
    (standing in for a retrained one) when there is none."""
    champion = knot.get_model(name).aliases["champion"]
    others = [v for v in knot.list_model_versions(name) if v.version != champion]
    ready = [v for v in others if v.status.value == "ready"]
    if ready:
        return max(v.version for v in ready)
    base = knot.get_model_version(name, champion)
    return knot.register_model(base.run_id, base.artifact_path, name, "canary demo").version


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.perf_counter() - started > 60:
            raise SystemExit("knot serve did not become ready; run `knot serve` to see why")
        time.sleep(0.05)


def _send(client: httpx.Client, rows: list[dict[str, object]]) -> Counter[int]:
    versions: Counter[int] = Counter()
    for i, row in enumerate(rows):
        answer = client.post(
            "/predict", json={"inputs": [row]}, headers={"x-knot-route-key": f"customer-{i}"}
        )
        answer.raise_for_status()
        versions[answer.json()["model_version"]] += 1
    return versions


def serve_and_canary(name: str, requests: int = 400) -> None:
    rows = _rows(name, requests)
    port = port_for("canary")
    url = f"http://127.0.0.1:{port}"
    if "challenger" in knot.get_model(name).aliases:  # start from the champion alone
        knot.delete_alias(name, "challenger")
    command = [
        *(sys.executable, "-c", "from knot.cli import main; main()"),
        *("serve", f"models:/{name}@champion", "--port", str(port), "--poll", "0.2"),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = _wait_ready(url, server)
        console.print(f"[bold]7. serving[/] models:/{name}@champion ready at {url} in {ready:.2f}s")
        with httpx.Client(base_url=url, timeout=30) as client:
            before = _send(client, rows)
            challenger = _challenger(name)
            knot.set_alias(name, "challenger", challenger)
            # the split goes through the promotion policy: a version awaiting approval
            # that meets its thresholds may take up to its canary limit (audited)
            knot.set_traffic(name, challenger="challenger", weight=CANARY_WEIGHT)
            while client.get("/ready").json()["models"].get("challenger") is None:
                time.sleep(0.05)  # the service loads the challenger beside the champion
            after = _send(client, rows)
            metrics = client.get("/metrics").text
        table = Table(title=f"traffic split ({requests} requests each, sticky by customer)")
        for column in ("phase", *(f"version {v}" for v in sorted(before | after))):
            table.add_column(column)
        for phase, counts in (("champion only", before), (f"canary {CANARY_WEIGHT:.0%}", after)):
            table.add_row(phase, *(str(counts.get(v, 0)) for v in sorted(before | after)))
        console.print(table)
        swaps = [line for line in metrics.splitlines() if line.startswith("knot_model_swaps_total")]
        console.print(f"   /metrics: {', '.join(swaps)}")
    finally:
        server.send_signal(signal.SIGTERM)  # drains in-flight requests, writes the log
        server.wait(timeout=30)
        if knot.get_traffic(name) is not None:
            knot.clear_traffic(name)  # the loop's own canary sets the next split
    log = read_prediction_log(name)
    counts = log.groupby(["version", "role"]).size()
    console.print(f"   prediction log: {len(log)} rows, partitioned by day and version")
    for (version, role), n in counts.items():
        console.print(f"     version {version} as {role}: {n} rows")
    last = log.iloc[-1]
    console.print(f"     last: request {last.request_id} -> {last.prediction} ({last.digest[:19]})")


def serve_from_kit(ref: str, name: str) -> None:
    """Serve the ModelKit `ref` (pulled from its registry, digests and signature checked)
    and answer one request with it."""
    port = port_for("kit")
    url = f"http://127.0.0.1:{port}"
    target = f"oci://{ref}" if "/" in ref else ref if ref.startswith("oci://") else f"oci://{ref}"
    command = [
        *(sys.executable, "-c", "from knot.cli import main; main()"),
        *("serve", target, "--port", str(port)),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = _wait_ready(url, server)
        with httpx.Client(base_url=url, timeout=30) as client:
            answer = client.post("/predict", json={"inputs": _rows(name, 3)}).json()
        console.print(
            f"   served {target} in {ready:.2f}s: predictions {answer['predictions']} "
            f"from {answer['model_name']}/{answer['model_version']}"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
