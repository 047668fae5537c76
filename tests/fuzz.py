"""schemathesis, the installed CLI, over a running service's /openapi.json.

Every check it has runs (no 5xx; status codes, content types, headers and bodies as the
document says; schema-violating requests refused; schema-valid ones accepted), on a
bounded number of cases per operation, generated deterministically: the same requests
every run, so a failure reproduces and the run time stays the same. Nothing in it
depends on how fast the machine answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def schemathesis(
    url: str,
    folder: Path,
    *,
    examples: int,
    phases: str = "examples,coverage,fuzzing",
    config: str = "",
    exclude: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run it against `url`; `config` is a schemathesis.toml (per-operation settings),
    and the run's files stay in `folder`."""
    settings = folder / "schemathesis.toml"
    settings.write_text(config)
    command = [
        SCHEMATHESIS,
        "--config-file",
        str(settings),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        *(("--exclude-checks", ",".join(exclude)) if exclude else ()),
        "--phases",
        phases,
        "--max-examples",
        str(examples),
        "--generation-deterministic",
        "--workers",
        "1",
        # a loaded machine is slow, not wrong: no per-request limit, no "too slow" check
        "--request-timeout",
        "600",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True)
