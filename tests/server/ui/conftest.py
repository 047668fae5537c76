"""Fixtures of the web UI tests: two live `knot server` processes started once per
session (an empty store with auth off, a seeded store with auth on), Debian's chromium
driven by Playwright, and a browser page that records console errors and failed
requests so every test can assert there were none."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.server.live import LiveServer, start_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"
SEED = Path(__file__).with_name("seed.py")


@dataclass
class Seeded:
    folder: Path
    tokens: dict[str, str]

    @property
    def store(self) -> str:
        return f"sqlite:///{self.folder / 'knot.db'}"

    @property
    def artifacts(self) -> str:
        return f"file://{self.folder / 'artifacts'}"


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    folder = tmp_path_factory.mktemp("ui-seeded")
    subprocess.run([sys.executable, str(SEED), str(folder)], check=True, timeout=600)
    return Seeded(folder, json.loads((folder / "tokens.json").read_text()))


@pytest.fixture(scope="session")
def seeded_server(seeded: Seeded) -> Iterator[LiveServer]:
    server = start_server(seeded.store, seeded.artifacts, env={"KNOT_AUTH": "1"}, timeout=120)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("ui-empty")
    server = start_server(
        f"sqlite:///{folder / 'knot.db'}",
        f"file://{folder / 'artifacts'}",
        env={"KNOT_AUTH": "0"},
        timeout=120,
    )
    yield server
    server.stop()


# package scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, which would break every asyncio test run after it in the same worker
@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-servers.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@dataclass
class Watched:
    """A browser tab and every console error, failed request and 4xx/5xx response it saw."""

    page: Any
    problems: list[str] = field(default_factory=list)
    expected_status: set[int] = field(default_factory=set)

    def open(self, url: str) -> Any:
        response = self.page.goto(url, wait_until="load")
        # charts draw after load; wait until each figure is drawn (or failed, which the
        # console then reports)
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('div.figure div.plot'))"
            ".every(p => p.getAttribute('data-drawn') === '1')"
        )
        return response

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(chromium: Any) -> Iterator[Watched]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = Watched(page)

    def console(message: Any) -> None:
        if message.type == "error":
            watched.problems.append(f"console error: {message.text}")

    def response(found: Any) -> None:
        if found.status >= 400 and found.status not in watched.expected_status:
            watched.problems.append(f"{found.status} {found.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: watched.problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: watched.problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", response)
    yield watched
    context.close()


def sign_in(tab: Watched, base: str, token: str) -> None:
    tab.page.goto(f"{base}/ui/login", wait_until="load")
    tab.page.fill("input[name=token]", token)
    tab.page.click("form[action='/ui/login'] button[type=submit]")
    tab.page.wait_for_load_state("load")
