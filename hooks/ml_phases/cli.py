"""`ml-phases`: run the twelve design phases on a generated project, one ADR each.

    ml-phases run [--from N] [--to N] [--redo N] [--backend offline] [--capsule SLUG]
    ml-phases status [--json]
    ml-phases approve [--option baseline|sota|pragmatic]
    ml-phases reject --reason "…"

Bad input (a corrupt state file, a malformed capsule, a project another run holds, a failing
project command) ends with one line and exit code 2; ADRs and state on disk are left as they are.
A phase whose change breaks the project's tests is undone and marked failed: exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import engine
from . import state as run_state
from .adr import RecordError
from .capsule import CapsuleError
from .project import ToolError

ERRORS = (run_state.StateError, RecordError, CapsuleError, ToolError, engine.EngineError)


def status(project: Path, as_json: bool) -> None:
    rows = run_state.summary(run_state.load(project))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    done = sum(row["status"] == "done" for row in rows)
    print(f"{project.resolve().name}: {done} of {len(rows)} phases done")
    meta = None
    for row in rows:
        if row["meta"] != meta:
            meta = row["meta"]
            print(f"  {meta}")
        adr = f"  {row['adr']}" if row["adr"] else ""
        print(f"    {row['phase']:>2}. {row['name']:<26} {row['status']}{adr}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ml-phases", description=__doc__.splitlines()[0])
    top.add_argument("--project", type=Path, default=Path("."), help="the generated project")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the phases that are not done, up to the gate")
    run.add_argument("--from", dest="start", type=int, default=1, help="first phase")
    run.add_argument("--to", dest="stop", type=int, default=12, help="last phase")
    run.add_argument("--redo", type=int, help="run this phase again even if it is done")
    run.add_argument("--backend", default="offline", help="offline (claude comes later)")
    run.add_argument("--capsule", help="read .phase0/capsules/SLUG/capsule.yaml")
    show = commands.add_parser("status", help="the twelve phases and where the run stands")
    show.add_argument("--json", action="store_true", help="print JSON")
    approve = commands.add_parser("approve", help="approve the proposed design")
    approve.add_argument("--option", help="approve another candidate: baseline | sota | pragmatic")
    reject = commands.add_parser("reject", help="reject the proposed design (redo phases 4-5)")
    reject.add_argument("--reason", required=True, help="why; it becomes input to phases 4-5")
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    root = args.project
    try:
        if args.command == "status":
            status(root, args.json)
        elif args.command == "run":
            ended = engine.run(
                root,
                start=args.start,
                stop=args.stop,
                redo=args.redo,
                backend=args.backend,
                capsule=args.capsule,
            )
            if ended == "done":
                print("All phases in range are done; the ADRs are in docs/adr/.")
            elif ended == "failed":
                sys.exit(1)
        elif args.command == "approve":
            chosen = engine.approve(root, args.option)
            print(f"Approved: {chosen}. Next: ml-phases run")
        else:
            refused = engine.reject(root, args.reason)
            print(f"Rejected: {refused}. Next: ml-phases run (phases 4-5 again, then the gate)")
    except ERRORS as exc:
        print(f"ml-phases: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("ml-phases: stopped; `ml-phases run` resumes where it stopped", file=sys.stderr)
        sys.exit(130)
