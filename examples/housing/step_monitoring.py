"""Step 5: the champion serves the market after the price rise. The sale prices come
back as labels, `knot monitor run` computes the live MAE, and the MAE rule of
monitor.yaml fires."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from market import sales_after_the_rise
from service import Service, knot_command
from traffic import feedback, score, wait_logged

from knot.monitoring.alerts.events import AlertEvent, alert_events
from knot.monitoring.monitor_config import apply_config, load_config

MONITOR = Path(__file__).parent / "monitor.yaml"


def watch_the_prices_rise(live: Service, frame: pd.DataFrame) -> list[AlertEvent]:
    apply_config(load_config(MONITOR))  # as `knot monitor rules apply monitor.yaml`
    sent = score(live, sales_after_the_rise(frame, 300, seed=1))
    labels = feedback(live, sent)
    wait_logged("housing", sent)
    print(f"5. monitoring: {len(sent)} sales scored at {live.url}, {labels} prices back")
    out = knot_command("monitor", "run", "housing", "--window", "1h", "--lookback", "2")
    for line in out.strip().splitlines():
        print(f"   {line}")
    fired = alert_events("housing", state="fired")
    for event in fired:
        print(
            f"   alert {event.rule} fired: live {event.metric} {event.value:.2f} "
            f"> {event.threshold}"
        )
    return fired
