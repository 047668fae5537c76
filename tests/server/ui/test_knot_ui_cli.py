"""`knot ui`: the installed entry point serves the UI of a local store on 127.0.0.1,
auth off whatever KNOT_AUTH says, and prints where to open it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx


def test_knot_ui_serves_the_local_store(tmp_path: Path) -> None:
    knot = Path(sys.executable).parent / "knot"
    command = [str(knot), "ui", "--port", "0", "--store", f"sqlite:///{tmp_path / 'k.db'}"]
    command += ["--artifacts", f"file://{tmp_path / 'artifacts'}"]
    env = {**os.environ, "KNOT_AUTH": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    found = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "listening on" in line:
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        found.wait(120)
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", "".join(lines))
        assert match, lines
        page = httpx.get(match.group(1) + "/", timeout=60)
        assert page.status_code == 200, page.text[-300:]
        assert "Experiments" in page.text and "auth off" in page.text
    finally:
        process.terminate()
        process.wait(30)


def test_knot_ui_refuses_a_bad_store_with_exit_code_2(tmp_path: Path) -> None:
    knot = Path(sys.executable).parent / "knot"
    done = subprocess.run(
        [str(knot), "ui", "--port", "0", "--store", "nonsense://x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nonsense" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
