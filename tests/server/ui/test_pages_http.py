"""The UI over plain HTTP: hostile query parameters get a page naming the problem with
a 4xx status (never a 500), unknown ids a 404 page, forms without a CSRF token a 403,
and plotly.js comes from the app itself, cached and compressed."""

from __future__ import annotations

import httpx
import pytest

from tests.server.live import LiveServer
from tests.server.ui.api import experiment_and_runs
from tests.server.ui.conftest import Seeded


@pytest.fixture(scope="module")
def browser_like(seeded_server: LiveServer, seeded: Seeded) -> httpx.Client:
    """An HTTP client signed in as alice, the way the login form does it."""
    client = httpx.Client(base_url=seeded_server.url, timeout=60)
    form = client.get("/ui/login")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    done = client.post("/ui/login", data={"token": seeded.tokens["alice"], "csrf": csrf})
    assert done.status_code == 303 and "knot_session" in client.cookies
    return client


def test_hostile_query_parameters_get_a_page_naming_them(
    seeded_server: LiveServer, seeded: Seeded, browser_like: httpx.Client
) -> None:
    experiment, runs = experiment_and_runs(seeded_server.url, seeded.tokens["alice"])
    cases = {
        f"/ui/experiments/{experiment}?filter=metrics.auc %3E 'x'": (422, "compares with numbers"),
        f"/ui/experiments/{experiment}?filter=((": (422, "filter"),
        f"/ui/experiments/{experiment}?order=nonsense.key DESC": (422, "order_by"),
        f"/ui/experiments/{experiment}?page=not-a-token": (422, "page_token"),
        f"/ui/experiments/{experiment}?size=-5": (422, "size"),
        f"/ui/experiments/{experiment}?cols=../../etc": (422, "column"),
        "/ui/experiments/no-such-experiment": (404, "no-such-experiment"),
        "/ui/runs/0123456789abcdef0123456789abcdef": (404, "0123456789abcdef"),
        "/ui/runs/%00bad": (404, "bad"),
        "/ui/no-such-page": (404, "no-such-page"),
        f"/ui/runs/{runs[0]['run_id']}/artifacts/../../etc/passwd": (404, ""),
        f"/ui/compare?run={runs[0]['run_id']}": (422, "2 to 20 runs"),
        f"/ui/compare?run={runs[0]['run_id']}&run={runs[1]['run_id']}&metric=nope": (422, "nope"),
        "/ui/models/no-such-model": (404, "no-such-model"),
        "/ui/datasets/customers/diff?a=99": (404, "99"),
        "/ui/lineage?ref=bogus": (422, "bogus"),
        "/ui/lineage?ref=models:/churn/1&depth=1000000": (422, "depth"),
        "/ui/audit?since=yesterdayish": (422, "yesterdayish"),
        "/ui/audit?limit=0": (422, "limit"),
    }
    for path, (status, words) in cases.items():
        response = browser_like.get(path)
        assert response.status_code == status, (path, response.status_code, response.text[-400:])
        assert response.headers["content-type"].startswith("text/html"), path
        assert words in response.text, (path, words)


def test_forms_need_the_csrf_token(seeded_server: LiveServer, browser_like: httpx.Client) -> None:
    promoted = browser_like.post("/ui/models/churn/promote", data={"version": "1"})
    assert promoted.status_code == 403 and "CSRF" in promoted.text
    wrong = browser_like.post("/ui/logout", data={"csrf": "x" * 43})
    assert wrong.status_code == 403
    assert browser_like.get("/ui/models").status_code == 200  # still signed in


def test_a_bad_token_does_not_sign_in(seeded_server: LiveServer) -> None:
    with httpx.Client(base_url=seeded_server.url, timeout=60) as client:
        csrf = client.get("/ui/login").text.split('name="csrf" value="')[1].split('"')[0]
        refused = client.post("/ui/login", data={"token": "knot_nope", "csrf": csrf})
        assert refused.status_code == 401 and "knot_session" not in client.cookies
        redirect = client.get("/ui/runs/x")
        assert redirect.status_code == 303
        assert redirect.headers["location"] == "/ui/login?next=%2Fui%2Fruns%2Fx"


def test_plotly_comes_from_the_app_cached_and_compressed(empty_server: LiveServer) -> None:
    page = httpx.get(empty_server.url + "/ui/lineage?ref=x", timeout=60)
    assert page.status_code == 422
    with httpx.Client(base_url=empty_server.url, timeout=60) as client:
        home = client.get("/")
        assert home.status_code == 200 and "<nav" in home.text
        path = home.text.split('<script src="')[1].split('"')[0]
        script = client.get(path)
        assert script.status_code == 200 and "knot-ui" in path
        from knot.server.ui.render import PLOTLY_PATH

        bundle = client.get(PLOTLY_PATH, headers={"accept-encoding": "gzip"})
        assert bundle.status_code == 200
        assert bundle.headers["content-encoding"] == "gzip"
        assert "immutable" in bundle.headers["cache-control"]
        assert b"plotly.js" in bundle.content[:2000]


def test_the_runs_table_pages_sorts_and_picks_columns(
    seeded_server: LiveServer, seeded: Seeded, browser_like: httpx.Client
) -> None:
    experiment, _ = experiment_and_runs(seeded_server.url, seeded.tokens["alice"])

    def names(text: str) -> list[str]:
        return [part.split("<")[0] for part in text.split('">sweep-')[1:]]

    first = browser_like.get(f"/ui/experiments/{experiment}?size=4&order=metrics.auc DESC")
    assert first.status_code == 200
    assert names(first.text) == ["5", "4", "3", "2"]
    following = first.text.split('id="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = browser_like.get(following.replace("&amp;", "&"))
    assert names(second.text) == ["1", "0"] and 'id="next-page"' not in second.text
    ascending = browser_like.get(f"/ui/experiments/{experiment}?order=params.lr ASC")
    assert names(ascending.text) == ["0", "1", "2", "3", "4", "5"]
    chosen = browser_like.get(f"/ui/experiments/{experiment}?cols=params.depth")
    head = chosen.text.split("<thead>")[1].split("</thead>")[0]
    assert "params.depth" in head and "metrics.auc" not in head
