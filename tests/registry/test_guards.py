"""The guards around a promotion policy on the embedded store, through the SDK and the
installed `knot` as a subprocess: a guarded alias moves only by promotion, live traffic
goes only to versions that passed the policy, and without a token changing a policy or
approving goes through with a warning that the identity is advisory."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.registry.conftest import Backend

import knot
from knot.config import settings
from knot.errors import Conflict, Forbidden
from knot.governance.identity import ADVISORY, acting_as
from knot.registry.fluent import registry
from knot.store.database import Database
from knot.tracking.fluent import session

KNOT = str(Path(sys.executable).parent / "knot")


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a refused change must leave as it was."""
    tables = ("promotion_policies", "model_aliases", "serving_traffic", "promotion_requests")
    with db.read() as conn:
        found: dict[str, Any] = {
            t: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t}").all())
            for t in tables
        }
        found["audit_rows"] = conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar()
    return found


@pytest.fixture
def churn(knot_home: Path) -> Any:
    """`churn` v1 (val_auc 0.9) the champion through an approved promotion, v2 (0.95) and
    v3 (0.5) never promoted; the policy needs val_auc >= 0.8 and an approver."""
    uri = settings().store_uri
    db = Database(uri)
    backend = Backend("sqlite", registry(), session().store, db, uri)
    for auc in (0.9, 0.95, 0.5):
        backend.registry.create_version("churn", backend.model_run({"val_auc": auc}))
    knot.set_promotion_policy("churn", ["val_auc >= 0.8"], approver_role="approver")
    with acting_as("ana"):
        pending = knot.promote("churn", 1)
    with acting_as("bo"):
        knot.approve(pending.request_id, roles={"approver"})
    yield db
    db.close()


def test_a_guarded_alias_moves_only_by_promotion(churn: Database) -> None:
    before = snapshot(churn)
    with pytest.raises(Conflict, match=r"nobody can set it directly.*knot models promote churn"):
        knot.set_alias("churn", "champion", 3)
    with pytest.raises(Conflict, match="nobody can delete it directly"):
        knot.delete_alias("churn", "champion")
    assert snapshot(churn) == before
    knot.set_alias("churn", "staging", 3)  # an alias the policy does not guard moves freely
    knot.delete_alias("churn", "staging")


def test_live_traffic_goes_only_to_versions_that_passed_the_policy(churn: Database) -> None:
    knot.set_alias("churn", "challenger", 3)
    before = snapshot(churn)
    for weight in (0.05, 1.0):
        with pytest.raises(Forbidden, match=r"version 3 .*has not passed the model's promotion"):
            knot.set_traffic("churn", weight=weight)
    assert snapshot(churn) == before and knot.get_traffic("churn") is None
    # a shadow copy answers nobody, and weight 0 sends nothing: both are free
    assert knot.set_traffic("churn", weight=1.0, shadow=True).shadow
    assert knot.set_traffic("churn", weight=0.0).weight == 0.0
    # the champion itself passed: a canary of it may go live, and then the alias it runs
    # through cannot be moved to a version that did not pass, by set_alias or by promote
    knot.set_alias("churn", "challenger", 1)
    assert knot.set_traffic("churn", weight=0.5).weight == 0.5
    before = snapshot(churn)
    with pytest.raises(Forbidden, match=r"pointing alias 'challenger' there would send 0\.5"):
        knot.set_alias("churn", "challenger", 3)
    with pytest.raises(Forbidden, match="version 3"):
        knot.promote("churn", 3, to="challenger")
    assert snapshot(churn) == before
    # once v2 is approved for the champion it has passed, and may take live traffic
    with acting_as("ana"):
        pending = knot.promote("churn", 2)
    with acting_as("bo"):
        knot.approve(pending.request_id, roles={"approver"})
    knot.set_alias("churn", "challenger", 2)
    assert knot.get_model("churn").aliases == {"champion": 2, "challenger": 2}


def test_a_version_awaiting_approval_canaries_within_the_policys_limit(churn: Database) -> None:
    knot.set_alias("churn", "challenger", 2)  # 0.95 meets the thresholds, not yet approved
    before = snapshot(churn)
    for weight in (0.6, 1.0):  # above the default limit of 0.5: the champion keeps most
        with pytest.raises(Forbidden, match=r"at most 0\.5 as a canary"):
            knot.set_traffic("churn", weight=weight)
    assert snapshot(churn) == before
    assert knot.set_traffic("churn", weight=0.3).weight == 0.3
    with pytest.raises(Forbidden, match="version 3"):  # 0.5 fails the thresholds: no canary
        knot.set_alias("churn", "challenger", 3)
    knot.set_traffic("churn", weight=0.0)
    # an approver may tighten the limit; 0 allows no canary before approval
    with acting_as("bo"):
        knot.set_promotion_policy(
            "churn", ["val_auc >= 0.8"], approver_role="approver", max_canary_weight=0.0
        )
    with pytest.raises(Forbidden, match=r"at most 0 as a canary"):
        knot.set_traffic("churn", weight=0.05)


def test_a_policy_without_approver_lets_versions_meeting_it_canary(churn: Database) -> None:
    knot.set_promotion_policy("churn", ["val_auc >= 0.8"])  # no approver: promote is instant
    knot.set_alias("churn", "challenger", 2)
    assert knot.set_traffic("churn", weight=0.1).weight == 0.1  # 0.95 meets it
    knot.set_traffic("churn", weight=0.0)
    knot.set_alias("churn", "challenger", 3)
    with pytest.raises(Forbidden, match="version 3"):
        knot.set_traffic("churn", weight=0.1)  # 0.5 does not


def test_without_a_token_policy_changes_and_approvals_warn(
    churn: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="knot.identity")
    knot.set_promotion_policy("churn", ["val_auc >= 0.5"], approver_role="approver")
    (warning,) = caplog.messages
    assert warning.startswith(ADVISORY) and "changing the promotion policy of 'churn'" in warning
    assert "'tester'" in warning and "knot server --auth" in warning
    caplog.clear()
    with acting_as("ana"):
        pending = knot.promote("churn", 2)
    assert caplog.messages == []  # requesting needs no role
    with acting_as("bo"):
        knot.approve(pending.request_id, roles={"approver"})
    (warning,) = caplog.messages
    assert "approving the promotion of churn/2 to 'champion' is recorded as 'bo'" in warning


def knot_cli(*args: str, user: str = "tester") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KNOT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KNOT_USER": user},
        timeout=300,  # a hang guard: `knot serve` let through would never return
    )


def test_the_installed_cli_holds_the_same_guards(churn: Database) -> None:
    before = snapshot(churn)
    for args in (["champion", "3"], ["champion", "--delete"]):
        done = knot_cli("models", "alias", "churn", *args)
        assert done.returncode == 2, done.stderr
        assert "is guarded by its promotion policy" in done.stderr
        assert "knot models promote churn VERSION --to champion" in done.stderr
    knot.set_alias("churn", "challenger", 3)
    before = snapshot(churn)
    done = knot_cli("traffic", "set", "churn", "--weight", "1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "version 3 (through alias 'challenger'), which has not passed" in done.stderr
    assert "knot models promote churn 3" in done.stderr and "--shadow" in done.stderr
    assert snapshot(churn) == before


def test_knot_serve_cannot_split_past_the_policy(churn: Database) -> None:
    """The route around `knot traffic set`: a split fixed by `knot serve --challenger
    --weight` is refused for a guarded model (exit 2, before anything starts); a shadow
    copy is not refused."""
    knot.set_alias("churn", "challenger", 3)
    before = snapshot(churn)
    for challenger in ("models:/churn@challenger", "models:/churn/3"):
        done = knot_cli(
            "serve", "models:/churn@champion", "--challenger", challenger, "--weight", "0.5",
            "--port", "1",
        )  # fmt: skip
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "past the promotion policy of model 'churn'" in done.stderr
        assert "knot traffic set churn --weight 0.5" in done.stderr
        assert "serving models:/churn" not in done.stderr
    assert snapshot(churn) == before
    # --shadow answers nobody: it gets past the check and fails only on the port
    done = knot_cli(
        "serve", "models:/churn@champion", "--challenger", "models:/churn/3", "--shadow",
        "--port", "1", "--host", "256.0.0.1",
    )  # fmt: skip
    assert "past the promotion policy" not in done.stderr


def test_knot_user_approvals_are_advisory_and_say_so(churn: Database) -> None:
    with acting_as("ana"):
        pending = knot.promote("churn", 2)
    mine = knot_cli("models", "approve", pending.request_id, user="ana")
    assert mine.returncode == 2 and "'ana' requested this promotion" in mine.stderr
    assert ADVISORY not in mine.stderr  # refused before anything happened
    # the same person under another KNOT_USER gets through: the name is only a claim
    bob = knot_cli("models", "approve", pending.request_id, user="bob")
    assert bob.returncode == 0, bob.stderr
    assert "approved" in bob.stdout
    assert f"warning: {ADVISORY}: approving the promotion of churn/2" in bob.stderr
    assert "recorded as 'bob'" in bob.stderr
    assert knot.get_model("churn").aliases["champion"] == 2
    cleared = knot_cli("models", "policy", "churn", "--clear")
    assert cleared.returncode == 0 and "removed the promotion policy" in cleared.stdout
    assert f"warning: {ADVISORY}: removing the promotion policy of 'churn'" in cleared.stderr
