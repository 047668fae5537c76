"""Step 4: the champion packed as a ModelKit (tag housing:N in the local kit store) and
served from the kit with `knot serve housing:N`; its answers match the registry's model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from model import TARGET
from service import Service

import knot
from knot.packaging.from_registry import pack_model_version


def pack_and_serve_kit(frame: pd.DataFrame) -> str:
    """Pack models:/housing@champion; returns the kit's tag."""
    kit = pack_model_version("models:/housing@champion")
    print(f"4. ModelKit: {kit.reference} {kit.digest[:19]}...")
    rows = frame.drop(columns=[TARGET]).head(5)
    with Service(kit.reference, "kit") as service:
        answer = service.client.post("/predict", json={"inputs": rows.to_dict("records")})
        answer.raise_for_status()
    expected = knot.load_model("models:/housing@champion").predict(rows)
    same = np.allclose(answer.json()["predictions"], expected)
    print(
        f"   knot serve {kit.reference}: ready in {service.ready_seconds:.1f}s, answers "
        f"{'match' if same else 'DIFFER from'} the registered model"
    )
    return kit.reference
