"""The user flow in chromium, auth on: filter runs, compare three and see their loss
curves, promote a version (editor), approve it as another user (approver), see the
alias move and the audit row. A viewer sees no write buttons and a forged POST is 403."""

from __future__ import annotations

from tests.server.live import LiveServer
from tests.server.ui.api import api, experiment_and_runs
from tests.server.ui.conftest import Seeded, Watched, sign_in


def test_filter_compare_promote_approve(
    seeded_server: LiveServer, seeded: Seeded, tab: Watched
) -> None:
    base, page = seeded_server.url, tab.page
    experiment, _ = experiment_and_runs(base, seeded.tokens["alice"])
    sign_in(tab, base, seeded.tokens["alice"])
    tab.open(f"{base}/ui/experiments/{experiment}")
    page.fill("#run-filter input[name=filter]", "metrics.auc >= 0.74")
    page.click("#run-filter button[type=submit]")
    page.wait_for_load_state("load")
    names = page.locator("#runs tbody td:nth-child(2)").all_inner_texts()
    assert sorted(names) == ["sweep-3", "sweep-4", "sweep-5"]
    for box in page.locator("#runs tbody input[name=run]").all():
        box.check()
    page.click("#compare")
    page.wait_for_load_state("load")
    page.wait_for_selector("div.plot[data-drawn='1']")
    assert page.locator("h1").inner_text() == "Compare 3 runs"
    curves = page.locator("#charts div.figure").first
    # plotly draws SVG: read text content, not the inner text of HTML elements
    assert curves.locator(".gtitle").text_content() == "loss"
    legend = sorted(curves.locator(".legendtext").all_text_contents())
    assert legend == sorted(names) and len(names) == 3
    tab.shot("flow-compare")

    # alice (editor) asks to move champion to v2; the policy wants an approver
    tab.open(f"{base}/ui/models/churn")
    assert page.locator("#aliases tr[data-alias=champion]").inner_text().endswith("v1")
    page.locator("#v2 form.promote button").click()
    page.wait_for_load_state("load")
    assert "pending" in page.locator("#note").inner_text()
    assert page.locator("#pending tbody tr").count() == 1
    assert page.locator("#pending button.approve").count() == 0  # an editor cannot approve
    page.click("nav.top form button[type=submit]")  # sign out
    page.wait_for_load_state("load")

    # bob (approver) approves: the alias moves and the audit log names him
    sign_in(tab, base, seeded.tokens["bob"])
    tab.open(f"{base}/ui/models/churn")
    page.locator("#pending input[name=comment]").first.fill("looks good")
    page.locator("#pending button.approve").click()
    page.wait_for_load_state("load")
    assert "approved" in page.locator("#note").inner_text()
    assert page.locator("#aliases tr[data-alias=champion]").inner_text().endswith("v2")
    tab.shot("flow-approved")
    tab.open(f"{base}/ui/audit?actor=bob")
    assert "verified" in page.locator("#chain").inner_text()
    actions = page.locator("#audit tbody tr").all_inner_texts()
    assert any("churn@champion" in row for row in actions), actions
    assert tab.problems == []
    policy_alias = api(base, seeded.tokens["carol"], "GET", "/models/churn")["aliases"]
    assert policy_alias["champion"] == 2


def test_a_viewer_cannot_approve(seeded_server: LiveServer, seeded: Seeded, tab: Watched) -> None:
    base, page = seeded_server.url, tab.page
    pending = api(
        base,
        seeded.tokens["alice"],
        "POST",
        "/models/churn/promotions",
        json={"version": 1, "alias": "champion", "comment": "back to v1"},
    )
    assert pending["status"] == "pending"
    sign_in(tab, base, seeded.tokens["carol"])
    tab.open(f"{base}/ui/models/churn")
    assert page.locator(f"#pending tr[data-request='{pending['request_id']}']").count() == 1
    assert page.locator("button.approve, button.reject, form.promote").count() == 0
    csrf = page.locator("nav.top input[name=csrf]").input_value()
    # the viewer's own session and a valid CSRF token: the role still refuses it
    forged = page.request.post(
        f"{base}/ui/promotions/{pending['request_id']}/approve",
        form={"csrf": csrf, "model": "churn", "comment": "sneaky"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "viewer" in forged.text()
    # and without the CSRF token a form is refused before anything else
    no_csrf = page.request.post(
        f"{base}/ui/models/churn/promote", form={"version": "1"}, max_redirects=0
    )
    assert no_csrf.status == 403 and "CSRF" in no_csrf.text()
    requests = api(base, seeded.tokens["carol"], "GET", "/models/churn/promotions")
    assert {r["request_id"]: r["status"] for r in requests}[pending["request_id"]] == "pending"
