"""Concurrency and caching of the Claude backend, against the local fake Messages API.

    .venv/bin/python tests/engine/benchmarks/bench_claude.py [--latency 1.0] [--repeats 3]

Every reply of the fake server takes `--latency` seconds. Phase 1 has one agent, phase 2 three;
each agent makes three requests (two tool calls, then its report). The two phases run side by
side, alternating, `--repeats` times; the script prints the wall-clock seconds of each, the
ratio three-agents / one-agent (target <= 1.5), and how many requests after each agent's first
carried the cache markers (system prefix and newest message) and read the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT / "hooks"), str(ROOT / "tests/engine")]

from fake_anthropic import FakeAPI, focus_key, report, serve, tool_use  # noqa: E402
from fakes import CATALOGUE  # noqa: E402
from ml_phases.backends.base import Context  # noqa: E402
from ml_phases.backends.claude.backend import ClaudeBackend  # noqa: E402
from ml_phases.backends.claude.settings import Settings  # noqa: E402
from ml_phases.phases import Phase, phase  # noqa: E402
from ml_phases.project import Project  # noqa: E402

TARGET = 1.5


def project(folder: Path) -> Project:
    (folder / "docs/adr").mkdir(parents=True)
    (folder / "src/demo").mkdir(parents=True)
    (folder / "src/demo/__init__.py").write_text('"""Demo."""\n')
    shutil.copy(CATALOGUE, folder / "src/demo/catalogue.py")
    (folder / ".copier-answers.yml").write_text(yaml.safe_dump({"package_name": "demo"}))
    return Project.open(folder)


def timed(backend: ClaudeBackend, spec: Phase, ctx: Context) -> float:
    start = time.perf_counter()
    backend.fill(spec, ctx)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per reply")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    script = [[tool_use("list_files")], [tool_use("read_file", path=".copier-answers.yml")]]
    api = FakeAPI(latency=args.latency)
    for spec in (phase(1), phase(2)):
        for agent in spec.agents:
            api.scripts[focus_key(agent.focus)] = [*script, [report()]]
    with tempfile.TemporaryDirectory() as tmp, serve(api):
        os.environ |= {
            "ANTHROPIC_API_KEY": "sk-ant-bench-0123456789",
            "ANTHROPIC_BASE_URL": api.url,
        }
        ctx = Context(project(Path(tmp) / "demo"), {"package_name": "demo"})
        backend = ClaudeBackend(Settings(budget_usd=None), say=lambda line: None)
        one, three = [], []
        for _ in range(args.repeats):
            one.append(timed(backend, phase(1), ctx))
            three.append(timed(backend, phase(2), ctx))
    ratio = statistics.median(three) / statistics.median(one)
    print(f"latency per reply: {args.latency:.1f} s; three requests per agent; {args.repeats} runs")
    print(f"one agent (phase 1):    median {statistics.median(one):.2f} s  {_runs(one)}")
    print(f"three agents (phase 2): median {statistics.median(three):.2f} s  {_runs(three)}")
    print(
        f"ratio three / one: {ratio:.2f} (target <= {TARGET}) {'ok' if ratio <= TARGET else 'OVER'}"
    )
    later = [r for r in api.requests if any(m["role"] == "assistant" for m in r["messages"])]
    marked = [
        r
        for r in later
        if r["system"][-1].get("cache_control")
        and r["messages"][-1]["content"][-1].get("cache_control")
    ]
    print(f"requests after an agent's first: {len(later)}; with both cache markers: {len(marked)}")
    prefix = {json.dumps([r["tools"], r["system"]]) for r in api.requests}
    print(f"distinct cached prefixes: {len(prefix)} across {len(api.requests)} requests")


def _runs(seconds: list[float]) -> str:
    return "(" + ", ".join(f"{s:.2f}" for s in seconds) + ")"


if __name__ == "__main__":
    main()
