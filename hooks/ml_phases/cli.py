"""`ml-phases`: where the twelve phases of a project stand.

Bad input (a corrupt state file, a project another run holds) ends with one line and exit
code 2; the ADRs and the state on disk are left as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import state as run_state
from .adr import RecordError


def status(project: Path, as_json: bool) -> int:
    rows = run_state.summary(run_state.load(project))
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    done = sum(row["status"] == "done" for row in rows)
    print(f"{project.resolve().name}: {done} of {len(rows)} phases done")
    meta = None
    for row in rows:
        if row["meta"] != meta:
            meta = row["meta"]
            print(f"  {meta}")
        adr = f"  {row['adr']}" if row["adr"] else ""
        print(f"    {row['phase']:>2}. {row['name']:<26} {row['status']}{adr}")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ml-phases", description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("."), help="the generated project")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("status", help="the twelve phases and where the run stands")
    show.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        code = status(args.project, args.json)
    except (run_state.StateError, RecordError) as exc:
        print(f"ml-phases: error: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)
