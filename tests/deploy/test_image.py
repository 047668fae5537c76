"""The Knot runtime image, built by scripts/build-image.sh from a Debian root made of
Debian packages, serves a ModelKit from a real local registry: `knot serve oci://...`
answers /ready and /predict as the model does in process, runs as a non-root user, and
stops cleanly on SIGTERM.

Building takes minutes, so this runs only with KNOT_IMAGE_TESTS=1 (KNOT_IMAGE=TAG reuses
an image already built); it skips, saying why, where buildah or podman cannot run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.knot_process import KNOT, ROOT, environment, prepared_home
from tests.servers import free_port

pytestmark = pytest.mark.skipif(
    os.environ.get("KNOT_IMAGE_TESTS") != "1",
    reason="building the runtime image takes minutes: set KNOT_IMAGE_TESTS=1 to run it",
)

TAG = "localhost/knot:test"


def podman(*args: str) -> list[str]:
    """podman with the runtime and limits that work inside a container too (crun refuses
    cgroup v1 hosts, and the default file limit may be above the hard one)."""
    nofile = subprocess.run(
        ["sh", "-c", "ulimit -Hn"], capture_output=True, text=True, check=True
    ).stdout.strip()
    base = ["podman", "--storage-driver", os.environ.get("STORAGE_DRIVER", "vfs")]
    base += ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
    if args and args[0] == "run":
        limits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]
        return [*base, "run", *limits, *args[1:]]
    return [*base, *args]


@pytest.fixture(scope="module")
def image() -> str:
    for tool in ("buildah", "podman", "mmdebstrap", "runc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: apt-get install buildah podman mmdebstrap runc")
    if os.environ.get("KNOT_IMAGE"):
        return os.environ["KNOT_IMAGE"]
    done = subprocess.run(
        [str(ROOT / "scripts" / "build-image.sh"), TAG],
        cwd=ROOT,
        env={**os.environ, "PYTHON": str(Path(KNOT).parent / "python")},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 3:
        pytest.skip(done.stderr.strip().splitlines()[-1])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    size = re.search(r"image \S+: ([0-9]+) MB", done.stdout)
    assert size, done.stdout
    print(f"runtime image {TAG}: {size.group(1)} MB")
    return TAG


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict], list]]:
    """A scikit-learn model pushed as a ModelKit to a local registry: its oci:// reference,
    some rows and what the model answers for them in process."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import knot
    from knot.packaging.local_registry import find_registry_binary, local_registry

    if find_registry_binary() is None:
        pytest.skip("docker-registry is missing (scripts/install-servers.sh installs it)")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"tenure": rng.uniform(0, 60, 200), "seats": rng.integers(1, 9, 200)})
    labels = (frame["tenure"] + 3 * frame["seats"] > 40).astype(int)
    model = LogisticRegression().fit(frame, labels)
    rows = frame.head(5).to_dict("records")
    with prepared_home(tmp_path_factory, "image") as home, local_registry() as registry:
        knot.log_model(model, registered_model_name="churn", input_example=frame.head(2))
        env = environment(home)
        for args in (
            ["pack", "models:/churn/1", "-t", "churn:1"],
            ["push", "churn:1", f"{registry}/team/churn:1"],
        ):
            done = subprocess.run([KNOT, *args], env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        yield f"oci://{registry}/team/churn:1", rows, model.predict(frame.head(5)).tolist()


def test_the_image_runs_as_a_non_root_user_without_compilers(image: str) -> None:
    script = "id -u; for c in gcc cc g++ make; do command -v $c || true; done"
    done = subprocess.run(
        podman("run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["10001"]


def test_the_image_serves_a_modelkit_from_the_registry(
    image: str, kit: tuple[str, list[dict], list]
) -> None:
    ref, rows, expected = kit
    port = free_port()
    name = f"knot-serve-test-{port}"
    subprocess.run(
        podman(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            image,
            "serve",
            ref,
            "--port",
            str(port),
        ),
        check=True,
        capture_output=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        while True:  # until ready, or the container ended (its logs say why)
            state = subprocess.run(
                podman("inspect", "--format", "{{.State.Running}}", name),
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            assert state == "true", _logs(name)
            try:
                if httpx.get(url + "/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        answer = httpx.post(url + "/predict", json={"inputs": rows})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected
        health = subprocess.run(podman("healthcheck", "run", name), capture_output=True)
        assert health.returncode == 0, health
        subprocess.run(podman("stop", "--time", "60", name), check=True, capture_output=True)
        code = subprocess.run(
            podman("inspect", "--format", "{{.State.ExitCode}}", name),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # uvicorn drains, then re-raises SIGTERM so the exit says why it ended (tini: 143);
        # 137 would mean it outlived the grace period and was killed
        assert code in ("0", "143"), _logs(name)
        assert "Traceback" not in _logs(name)
    finally:
        subprocess.run(podman("rm", "-f", name), capture_output=True)


def _logs(name: str) -> str:
    done = subprocess.run(podman("logs", name), capture_output=True, text=True)
    return json.dumps({"stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]})
