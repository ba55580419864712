"""How large docs/report.html is, how long writing it takes, and how soon it opens in Chromium.

    .venv/bin/python tests/engine/benchmarks/bench_report.py [PROJECT] [--rounds N]

PROJECT is a generated project whose phases ran (default: ./demo-project, which `.ci/demo`
makes). Each round writes the page (as the engine does after every phase) and opens it from
disk in a fresh headless Chromium tab, timing until every chart is drawn; the figures are the
median and the range over the rounds, against the targets: under 2 MB, open in under 1 s.
Needs Debian's chromium (`apt-get install chromium`) and the dev environment's playwright.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "hooks"))

from ml_phases import layout, report  # noqa: E402  (the engine from this checkout)

TARGETS = {"bytes": 2_000_000, "open_s": 1.0}


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, default=ROOT / "demo-project")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("bench_report: no chromium on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    page = layout.report_file(args.project)
    writes, opens, drawn = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(args.rounds):
            started = time.perf_counter()
            report.write(args.project)
            writes.append(time.perf_counter() - started)
            tab = browser.new_page()
            started = time.perf_counter()
            tab.goto(page.resolve().as_uri())
            tab.wait_for_function("document.body.dataset.charts === 'drawn'")
            opens.append(time.perf_counter() - started)
            drawn.append(int(tab.evaluate("document.body.dataset.drawnMs")) / 1000)
            tab.close()
        browser.close()
    size = page.stat().st_size
    large = size >= TARGETS["bytes"]
    print(f"page: {page}")
    print(f"size: {size:,} bytes, target < 2 MB: {'LARGE' if large else 'ok'}")
    print(f"write (the engine's refresh after a phase): {spread(writes)}")
    print(f"the page's own clock, navigation to charts drawn: {spread(drawn)}")
    slow = statistics.median(opens) >= TARGETS["open_s"]
    print(f"open, charts drawn: {spread(opens)}; target < 1 s: {'SLOW' if slow else 'ok'}")


if __name__ == "__main__":
    main()
