"""How long `copier copy --defaults --skip-tasks` takes, end to end, as a user runs it.

    .venv/bin/python tests/benchmarks/bench_render.py [--runs 7]

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

ROOT = Path(__file__).resolve().parents[2]


def render_once(dest: Path) -> float:
    command = [sys.executable, "-m", "copier", "copy", "--quiet", "--defaults", "--skip-tasks"]
    start = time.perf_counter()
    subprocess.run([*command, "--vcs-ref", "HEAD", str(ROOT), str(dest)], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = [render_once(Path(tmp) / f"p{run}") for run in range(args.runs)]
    print("runs (s):", " ".join(f"{seconds:.2f}" for seconds in times))
    median, best = statistics.median(times), min(times)
    verdict = "ok" if median < 2 else "SLOW"
    print(f"median {median:.2f} s, min {best:.2f} s, target < 2 s: {verdict}")


if __name__ == "__main__":
    main()
