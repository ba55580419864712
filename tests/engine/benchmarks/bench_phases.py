"""How long the twelve offline phases take on sample:breast_cancer, phase by phase.

    .venv/bin/python tests/engine/benchmarks/bench_phases.py [--option sota] [--keep DIR]

Renders a default project whose Copier task builds .venv (not timed), then times
`ml-phases run` to the gate, `approve` and `run` to the end as a user runs them, each a fresh
process. Prints each phase's seconds (from .ml-flow/state.json) and the wall-clock totals
against the targets: phases 1-6 under 30 s, all twelve under 120 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TARGETS = {"phases 1-6": 30.0, "all twelve": 120.0}


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--option", help="approve this candidate instead of the recommended one")
    parser.add_argument("--keep", type=Path, help="render here and keep the project")
    args = parser.parse_args()
    env_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    os.environ["PATH"] = env_path  # the task finds uv in the dev environment
    with tempfile.TemporaryDirectory() as tmp:
        project = args.keep or Path(tmp) / "project"
        copier = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
        render = [*copier, "--vcs-ref", "HEAD", "--data", "run_phases=false"]
        subprocess.run([*render, str(ROOT), str(project)], check=True, stdout=subprocess.DEVNULL)
        phases = [str(project / ".venv/bin/python"), "-m", "ml_phases"]
        design = timed([*phases, "run"], project)
        approval = timed(
            [*phases, "approve", *(["--option", args.option] if args.option else [])], project
        )
        build = timed([*phases, "run"], project)
        state = json.loads((project / ".ml-flow/state.json").read_text())
    print("phase  seconds")
    for number, phase in sorted(state["phases"].items(), key=lambda item: int(item[0])):
        print(f"{int(number):>5}  {phase['seconds'] if phase['seconds'] is not None else '-':>7}")
    totals = {"phases 1-6": design, "all twelve": design + approval + build}
    for name, seconds in totals.items():
        verdict = "ok" if seconds < TARGETS[name] else "SLOW"
        print(f"{name}: {seconds:.1f} s wall clock, target < {TARGETS[name]:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
