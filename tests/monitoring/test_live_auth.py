"""Roles on the monitoring routes of a real `knot server` with KNOT_AUTH=1: a viewer
reads results, settings, rules and events but cannot add or remove alert rules, change
settings, store results or evaluate; an editor can, and the audit log names its token.
The `knot monitor` CLI, as a subprocess with KNOT_STORE=http://... and KNOT_TOKEN,
gets the same answers (exit 2 and the role it lacks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from knot.client.rest_governance import RestGovernance
from knot.client.rest_monitoring import RestMonitoring
from knot.governance.audit_query import AuditQuery
from knot.governance.roles import Forbidden
from knot.governance.tokens import create_token
from knot.monitoring.alerts.rules import AlertRule
from knot.monitoring.monitor_config import parse_config
from knot.monitoring.results import ResultPoint
from knot.store.database import Database
from tests.monitoring.logs import HOUR
from tests.server.live import start_server

pytestmark = pytest.mark.server

T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR
RULE = AlertRule(name="kept", model="churn", metric="accuracy", op="<", threshold=0.7)


@dataclass
class Secured:
    url: str
    root: Path
    tokens: dict[str, str]  # role -> secret

    def client(self, role: str) -> RestMonitoring:
        headers = {"authorization": f"Bearer {self.tokens[role]}"}
        return RestMonitoring(self.url, client=httpx.Client(headers=headers, timeout=60.0))


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("monitor-auth")
    uri = f"sqlite:///{root / 'knot.db'}"
    db = Database(uri)
    tokens = {role: create_token(db, f"{role}-bot", role)[1] for role in ("viewer", "editor")}
    db.close()
    env = {"KNOT_AUTH": "1", "KNOT_AUDIT_KEY_FILE": str(root / "no-audit.key")}
    server = start_server(uri, f"file://{root / 'artifacts'}", env=env)
    try:
        yield Secured(server.url, root, tokens)
    finally:
        server.stop()


def _point(metric: str, value: float) -> ResultPoint:
    return ResultPoint(
        model="churn",
        version=1,
        window="1h",
        window_start=T0,
        window_end=T0 + HOUR,
        metric=metric,
        value=value,
    )


def test_a_viewer_reads_and_an_editor_changes(secured: Secured) -> None:
    editor, viewer = secured.client("editor"), secured.client("viewer")
    editor.set_rule(RULE)
    config = parse_config({"model": "churn", "window": "1h", "rules": []})
    editor.apply_config(config)
    assert editor.save_results([_point("accuracy", 0.5), _point("served_rows", 5.0)]) == 2
    (judged,) = editor.judge("churn")
    editor.set_webhook_status(judged.event.id, "sent 200")

    assert [r.name for r in viewer.list_rules()] == ["kept"]
    assert viewer.get_rule("kept") == RULE
    assert viewer.get_settings("churn").window == "1h"
    assert [p.value for p in viewer.read_results("churn", metric="accuracy")] == [0.5]
    assert [p.metric for p in viewer.latest_results()] == ["accuracy", "served_rows"]
    (event,) = viewer.alert_events("churn")
    assert (event.state, event.webhook_status) == ("fired", "sent 200")
    assert viewer.alert_states("churn")["kept"].state == "firing"
    assert viewer.training_reference("churn", 1) is None

    refused = [
        lambda: viewer.set_rule(RULE.model_copy(update={"threshold": 0.1})),
        lambda: viewer.delete_rule("kept"),
        lambda: viewer.apply_config(parse_config({"model": "churn", "window": "1d"})),
        lambda: viewer.save_results([_point("accuracy", 0.99)]),
        lambda: viewer.judge("churn"),
        lambda: viewer.set_webhook_status(event.id, "failed: by a viewer"),
    ]
    for call in refused:
        with pytest.raises(Forbidden, match="'viewer-bot' has role 'viewer'"):
            call()
    assert viewer.get_rule("kept").threshold == 0.7
    assert viewer.get_settings("churn").window == "1h"
    assert [p.value for p in viewer.read_results("churn", metric="accuracy")] == [0.5]
    assert viewer.alert_events("churn") == [event]

    governance = RestGovernance(
        secured.url,
        client=httpx.Client(headers={"authorization": f"Bearer {secured.tokens['viewer']}"}),
    )
    records = governance.audit_log(AuditQuery(entity_kind="alert_rule"))
    assert [(r.action, r.actor) for r in records] == [("alert_rule.set", "editor-bot")]
    editor.delete_rule("kept")
    assert viewer.list_rules() == []
    for store in (editor, viewer):
        store._client.close()


def _knot(secured: Secured, role: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KNOT_STORE": secured.url,
        "KNOT_ARTIFACTS": f"file://{secured.root / 'artifacts'}",
        "KNOT_HOME": str(secured.root / f"home-{role}"),
        "KNOT_TOKEN": secured.tokens[role],
    }
    command = [str(Path(sys.executable).parent / "knot"), "monitor", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_the_cli_as_a_viewer_lists_rules_and_cannot_delete_them(
    secured: Secured, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "model: churn\n"
        "rules:\n"
        "  - {name: cli-rule, metric: drift.share, op: '>=', threshold: 0.3}\n"
    )
    refused = _knot(secured, "viewer", "rules", "apply", str(rules))
    assert refused.returncode == 2 and "has role 'viewer'" in refused.stderr, refused.stderr
    applied = _knot(secured, "editor", "rules", "apply", str(rules))
    assert applied.returncode == 0, applied.stderr
    assert "churn: applied cli-rule" in applied.stdout
    listed = _knot(secured, "viewer", "rules", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["name"] for r in json.loads(listed.stdout)] == ["cli-rule"]
    denied = _knot(secured, "viewer", "rules", "delete", "cli-rule")
    assert denied.returncode == 2 and "has role 'viewer'" in denied.stderr, denied.stderr
    assert "Traceback" not in denied.stderr
    deleted = _knot(secured, "editor", "rules", "delete", "cli-rule")
    assert deleted.returncode == 0, deleted.stderr
    again = _knot(secured, "editor", "rules", "delete", "cli-rule")
    assert again.returncode == 2 and "'cli-rule' does not exist" in again.stderr
