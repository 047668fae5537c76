"""Fill a store the way a small project would, through the SDK: an experiment of six
runs with loss curves and artifacts (text, CSV, PNG), a model with two versions behind a
promotion policy that needs an approver, a dataset with a passing and a rejected
version, and three tokens. Run as a script (the SDK keeps one session per process):

    python tests/server/ui/seed.py FOLDER      # writes FOLDER/knot.db, FOLDER/tokens.json
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path


def _png(path: Path) -> None:
    """A 4x4 red PNG, written by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def seed(folder: Path) -> dict[str, str]:
    os.environ["KNOT_STORE"] = f"sqlite:///{folder / 'knot.db'}"
    os.environ["KNOT_ARTIFACTS"] = f"file://{folder / 'artifacts'}"
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import knot
    from knot.backends import open_sql_governance
    from knot.governance.tokens import create_token

    frame = pd.DataFrame(
        {"age": [25, 40, 61, 33, 52, 47, 29, 38], "spend": [10.0, 52, 8, 33, 71, 12, 40, 27]}
    )
    target = [0, 1, 0, 1, 1, 0, 1, 0]
    files = folder / "files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "notes.txt").write_text("trained on <customers> & friends\n")
    (files / "table.csv").write_text("age,spend\n25,10\n40,52\n")
    _png(files / "plot.png")
    knot.register_dataset("customers", frame, rules={"columns": {"age": {"min": 18, "max": 120}}})
    knot.register_dataset("customers", frame.assign(age=frame.age + 200))  # rejected
    for i in range(6):
        with knot.start_run(f"sweep-{i}", experiment="churn"):
            knot.log_params({"lr": str(0.01 * (i + 1)), "model": "logreg", "depth": str(2 + i % 3)})
            for step in range(30):
                knot.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            knot.log_metric("auc", 0.6 + 0.05 * i)
            knot.log_artifact(files / "notes.txt")
            knot.log_artifact(files / "table.csv")
            knot.log_artifact(files / "plot.png")
            if i in (4, 5):
                model = LogisticRegression().fit(frame, target)
                knot.log_model(model, registered_model_name="churn", input_example=frame[:2])
    knot.promote("churn", 1)  # no policy yet: the alias moves at once
    knot.set_promotion_policy("churn", ["auc >= 0.5"], approver_role="approver")
    knot.flush()
    db = open_sql_governance(os.environ["KNOT_STORE"]).db
    return {
        name: create_token(db, name, role)[1]
        for name, role in (("alice", "editor"), ("bob", "approver"), ("carol", "viewer"))
    }


if __name__ == "__main__":
    target_folder = Path(sys.argv[1])
    tokens = seed(target_folder)
    (target_folder / "tokens.json").write_text(json.dumps(tokens))
