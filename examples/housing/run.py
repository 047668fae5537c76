"""The housing demo: a regression on the Boston housing table through Knot's whole
lifecycle: validated data, a tracked sweep, a champion promoted through a policy, a
ModelKit served by `knot serve`, live traffic with prices coming back, an MAE alert and
the loop that retrains and canaries a new champion on live MAE. `make demo-housing`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# a table of 506 rows fits faster on one thread: OpenMP's threads only contend on a busy
# machine (knot serve and knot retrain inherit this)
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

from model import load_housing
from service import Service
from step_data import register_and_validate
from step_loop import retrain_with_a_canary
from step_monitoring import watch_the_prices_rise
from step_packaging import pack_and_serve_kit
from step_registry import register_and_promote
from step_sweep import sweep

import knot


def main() -> int:
    frame = load_housing()
    dataset = register_and_validate(frame)
    best_run, model = sweep(dataset)
    first = register_and_promote(best_run, model, frame)
    # the live service starts loading now, while the kit is packed and served
    live = Service("models:/housing@champion", "live", "--poll", "0.2").start()
    kit = pack_and_serve_kit(frame)
    with live:
        fired = watch_the_prices_rise(live, frame)
        if not fired:
            print("no alert fired; the loop is left alone")
            return 1
        code = retrain_with_a_canary(live, frame)
    champion = knot.get_model_version("models:/housing@champion")
    print(f"7. champion: {first.uri} -> {champion.uri}; its lineage:")
    for edge in knot.lineage(champion.uri, direction="up").edges:
        print(f"   {edge.source} --{edge.relation}--> {edge.target}")
    print(
        "\nWhere to look: knot runs list -e housing; knot models show housing; "
        f"knot kits inspect {kit}; knot monitor alerts housing; knot loop status housing; "
        f"knot lineage {champion.uri}"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
