"""How long `copier copy --trust --defaults --skip-tasks` takes, end to end, as a user runs it.

    .venv/bin/python tests/template/benchmarks/bench_render.py [--runs 7] [--template PATH ...]

(--trust: the data checks load a Jinja extension.) Several templates are timed in turns, so
that a before/after comparison shares the machine's state.

Each run is a fresh process (Copier's import included) rendering into a new folder. Prints
every time plus the median and minimum; the target is under 2 seconds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def render_once(template: Path, dest: Path) -> float:
    command = [sys.executable, "-m", "copier", "copy", "--quiet", "--trust", "--defaults"]
    start = time.perf_counter()
    subprocess.run([*command, "--skip-tasks", "--vcs-ref", "HEAD", template, dest], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--template", type=Path, nargs="+", default=[ROOT])
    args = parser.parse_args()
    times: dict[Path, list[float]] = {template: [] for template in args.template}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for index, template in enumerate(args.template):
                times[template].append(render_once(template, Path(tmp) / f"p{run}-{index}"))
    for template, seconds in times.items():
        print(f"{template}: runs (s):", " ".join(f"{value:.2f}" for value in seconds))
        median, best = statistics.median(seconds), min(seconds)
        verdict = "ok" if median < 2 else "SLOW"
        print(f"  median {median:.2f} s, min {best:.2f} s, target < 2 s: {verdict}")


if __name__ == "__main__":
    main()
