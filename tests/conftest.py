"""Helpers shared by the template's tests: rendering through Copier's API and its CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]
# Renders made by tests skip the environment build (the one end-to-end test turns it on).
FAST = {"setup_env": False}
# Jinja openers: closers ("}}", "%}") also occur in Python (nested dicts, f"{x:.1%}").
MARKERS = ("{{", "{%")


def render(dest: Path, **answers: Any) -> Path:
    """Render the working tree of the template with defaults plus `answers`; no tasks run."""
    run_copy(
        str(ROOT),
        dest,
        data={**FAST, **answers},
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return dest


def copier_cli(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Copier's own command line, as a user runs it (stdout and stderr together)."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def rendered_files(project: Path) -> list[str]:
    return sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".venv" not in path.parts and ".git" not in path.parts
    )


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One default render shared by the tests that only read it."""
    return render(tmp_path_factory.mktemp("default") / "project")


# markdownlint-cli2 (node) lints what the engine writes with the generated project's own config.
MARKDOWNLINT_VERSION = "0.22.1"
MARKDOWNLINT_CONFIG = ROOT / "template/.markdownlint-cli2.yaml"


@pytest.fixture(scope="session")
def markdownlint() -> Callable[[list[Path]], subprocess.CompletedProcess[str]]:
    """Lint Markdown files with markdownlint-cli2 and the template's config.

    The tool is installed once with npm into .venv/node (git-ignored, rebuilt with .venv);
    only where npm itself is missing is the test skipped.
    """
    prefix = ROOT / ".venv/node"
    binary = prefix / "node_modules/.bin/markdownlint-cli2"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed, so markdownlint-cli2 cannot be")
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"markdownlint-cli2@{MARKDOWNLINT_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )

    def lint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), "--config", str(MARKDOWNLINT_CONFIG), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return lint


# Screenshots and other files a person may want to look at after a run (CI keeps them).
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "test-artifacts")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system's Chromium (Debian's `chromium` package), installed with apt-get where it is
    missing and this user may; Playwright's own browser download cannot be fetched here."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        with suppress(subprocess.TimeoutExpired):
            for args in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
                subprocess.run(["apt-get", *args], env=quiet, capture_output=True, timeout=600)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("no Chromium on PATH, and `apt-get install chromium` (as root) gave none")
    return found


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    """A headless Chromium driven by Playwright, for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def browser_or_reason(request: pytest.FixtureRequest) -> tuple[Any | None, str]:
    """The browser, or why there is none: for a test that checks more than the page, which
    runs its other checks first and then skips with the reason."""
    try:
        return request.getfixturevalue("browser"), ""
    except pytest.skip.Exception as skipped:
        return None, str(skipped)


@dataclass
class PageCheck:
    """What a browser saw of a report page."""

    seconds: float  # from asking for the page until every chart was drawn
    charts: str  # the page's own verdict: "drawn", or "failed" (the error is on the console)
    problems: list[str]  # console errors and warnings, uncaught exceptions, failed requests
    marks: dict[str, int]  # each chart's id: the bars and points drawn in its SVG
    links: list[str]  # the addresses of every link to an ADR
    screenshot: Path


def check_report(browser: Any, page: Path, name: str) -> PageCheck:
    """Open a report page from disk as a person would, wait until its charts are drawn, and
    keep a full-page screenshot in the test artifacts."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
    tab.on("dialog", lambda dialog: problems.append(f"a script opened a dialog: {dialog.message}"))
    try:
        started = time.perf_counter()
        tab.goto(page.resolve().as_uri())
        try:
            tab.wait_for_function("document.body.dataset.charts !== undefined", timeout=30_000)
        except PlaywrightTimeout:
            raise AssertionError(f"the charts never finished: {problems}") from None
        seconds = time.perf_counter() - started
        marks = {  # the figures' own marks (bars, points); rules and axes do not count
            chart.get_attribute("id"): chart.evaluate(
                "e => e.querySelectorAll('svg g.mark-rect > *, svg g.mark-symbol > *').length"
            )
            for chart in tab.query_selector_all("[data-chart]")
        }
        links = tab.eval_on_selector_all(
            "a[href]", "anchors => anchors.map(a => a.getAttribute('href'))"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{name}.png"
        tab.screenshot(path=shot, full_page=True)
        charts = tab.evaluate("document.body.dataset.charts")
    finally:
        tab.close()
    adr_links = [link for link in links if link.startswith("adr/")]
    return PageCheck(seconds, charts, problems, marks, adr_links, shot)


def assert_report_works(browser: Any, page: Path, name: str) -> PageCheck:
    """The report's bar: under 2 MB, no console errors, every chart drawn, every link to an
    ADR resolves, and a screenshot kept."""
    assert page.stat().st_size < 2_000_000, f"{page} is {page.stat().st_size} bytes"
    seen = check_report(browser, page, name)
    assert seen.problems == [], seen.problems
    assert seen.charts == "drawn"
    assert seen.marks, "the page has no charts"
    assert all(count > 0 for count in seen.marks.values()), seen.marks
    assert seen.links, "no figure links to an ADR"
    unresolved = {link for link in seen.links if not (page.parent / unquote(link)).is_file()}
    assert not unresolved, unresolved
    assert seen.screenshot.stat().st_size > 10_000
    print(f"{name}: {page.stat().st_size} bytes, charts drawn in {seen.seconds:.2f} s")
    return seen
