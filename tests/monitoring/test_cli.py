"""`knot monitor run|watch|report|alerts|rules` and `knot feedback` through Typer's runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from knot.cli import app
from knot.errors import Invalid, NotFound
from knot.monitoring.performance.window_metrics import performance
from tests.monitoring.logs import HOUR
from tests.monitoring.test_run import _serve, churn  # noqa: F401  (fixture)

runner = CliRunner()

RULES = """\
model: churn
segment: plan
rules:
  - {name: drifting, metric: drift.share, op: ">=", threshold: 0.3}
  - {name: wrong, metric: error_rate, op: ">", threshold: 0.2, webhook: "http://127.0.0.1:9/x"}
"""


def _now_window_start() -> int:
    import time

    now = int(time.time() * 1000)
    return now - now % HOUR


def test_rules_apply_list_delete(churn: Path, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    out = runner.invoke(app, ["monitor", "rules", "apply", str(path)])
    assert out.exit_code == 0 and "drifting, wrong" in out.output, out.output
    listed = runner.invoke(app, ["monitor", "rules", "list", "churn", "--json"])
    assert [r["name"] for r in json.loads(listed.output)] == ["drifting", "wrong"]
    table = runner.invoke(app, ["monitor", "rules", "list"])
    assert "drifting" in table.output and "drift.share" in table.output
    assert runner.invoke(app, ["monitor", "rules", "delete", "wrong"]).exit_code == 0
    gone = runner.invoke(app, ["monitor", "rules", "delete", "wrong"])
    assert isinstance(gone.exception, NotFound)


def test_run_alerts_report_and_watch(churn: Path, tmp_path: Path) -> None:  # noqa: F811
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    runner.invoke(app, ["monitor", "rules", "apply", str(rules)])
    ids = _serve(churn, shift=8.0, start=_now_window_start())
    for rid in ids[:50]:
        out = runner.invoke(app, ["feedback", "churn", rid, "0"])
        assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["monitor", "run", "churn"])
    assert out.exit_code == 0, out.output
    assert "drifting" in out.output and "fired" in out.output
    assert "tenure" in out.output
    events = runner.invoke(app, ["monitor", "alerts", "churn", "--json"])
    body = json.loads(events.output)
    assert {e["rule"] for e in body["events"]} >= {"drifting"}
    assert body["states"]["drifting"]["state"] == "firing"
    wrong = next(e for e in body["events"] if e["rule"] == "wrong")
    assert wrong["webhook_status"].startswith("failed: ")  # nothing listens on port 9
    html = tmp_path / "report.html"
    out = runner.invoke(app, ["monitor", "report", "churn", "--html", str(html)])
    assert out.exit_code == 0, out.output
    page = html.read_text()
    assert "Drift per feature" in page and "Metrics over time" in page
    assert "Alert timeline" in page and "drifting" in page
    watched = runner.invoke(
        app, ["monitor", "watch", "churn", "--interval", "0.1", "--passes", "2"]
    )
    assert watched.exit_code == 0 and "stopped after 2 pass(es)" in watched.output


def test_feedback_parses_json_and_refuses_a_label_that_does_not_fit(churn: Path) -> None:  # noqa: F811
    ids = _serve(churn, shift=0.0, start=_now_window_start(), n=2)
    assert runner.invoke(app, ["feedback", "churn", ids[0], "1"]).exit_code == 0
    text = runner.invoke(app, ["feedback", "churn", ids[1], "yes"])  # taken as the text yes
    flag = runner.invoke(app, ["feedback", "churn", ids[1], "true"])
    (m,) = performance("churn")
    assert (m.labeled, m.invalid_labels) == (1, 0)  # the model predicts whole numbers
    for refused in (text, flag):
        assert isinstance(refused.exception, Invalid)
        assert refused.exception.field == "labels.0.label"
    bad = runner.invoke(app, ["feedback", "churn", "", "1"])
    assert isinstance(bad.exception, Invalid)
    installed = subprocess.run(
        [str(Path(sys.executable).parent / "knot"), "feedback", "churn", ids[1], "0.5"],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 2
    assert installed.stderr.count("\n") == 1 and "must be a whole number" in installed.stderr


def test_bad_input_is_one_line_and_exit_2(knot_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("model: churn\nrules: [{name: a, metric: accuracy, op: '~', threshold: 1}]\n")
    knot = str(Path(sys.executable).parent / "knot")
    done = subprocess.run(
        [knot, "monitor", "rules", "apply", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "op" in done.stderr and "'~'" in done.stderr
    bad_window = runner.invoke(app, ["monitor", "run", "churn", "--window", "often"])
    assert isinstance(bad_window.exception, Invalid)
    bad_state = runner.invoke(app, ["monitor", "alerts", "churn", "--state", "open"])
    assert isinstance(bad_state.exception, Invalid)


def test_watch_stops_cleanly_on_ctrl_c(churn: Path) -> None:  # noqa: F811
    import signal
    import time

    from knot.monitoring.results import read_results

    _serve(churn, shift=0.0, start=_now_window_start(), n=10)
    knot = str(Path(sys.executable).parent / "knot")
    process = subprocess.Popen(
        [knot, "monitor", "watch", "churn", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not read_results("churn", metric="served_rows"):  # the first pass is stored
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no monitor pass within 60 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped after" in err and "Traceback" not in err


def test_a_rule_on_a_features_drift_verdict_fires_from_knot_monitor_run(
    churn: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Through the installed `knot`: drift.<feature>.drifted is 1 when that feature's
    test rejected, and an alert rule on it fires; the statistic's point names its test."""
    from tests.cli.knot_process import assert_ok, run

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "model: churn\nrules:\n"
        "  - {name: tenure_moved, metric: drift.tenure.drifted, op: '>=', threshold: 1}\n"
    )
    assert_ok(run(churn, "monitor", "rules", "apply", str(rules)))
    _serve(churn, shift=8.0, start=_now_window_start())
    assert "tenure_moved" in assert_ok(run(churn, "monitor", "run", "churn"))
    body = json.loads(assert_ok(run(churn, "monitor", "alerts", "churn", "--json")))
    assert body["states"]["tenure_moved"]["state"] == "firing"
    from knot.monitoring.results import read_results

    results = read_results("churn")
    verdicts = [r for r in results if r.metric == "drift.tenure.drifted"]
    statistic = next(r for r in results if r.metric == "drift.tenure")
    assert verdicts and verdicts[-1].value == 1.0
    assert statistic.detail and statistic.detail["test"] and statistic.detail["drifted"] is True
