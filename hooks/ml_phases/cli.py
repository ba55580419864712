"""`ml-phases`: run the twelve design phases on a generated project, one ADR each.

    ml-phases run [--from N] [--to N] [--redo N] [--capsule SLUG]
                  [--backend offline|claude] [--model ID] [--budget-usd X]
                  [--max-turns N] [--phase-minutes M]
    ml-phases status [--json]
    ml-phases approve [--option baseline|sota|pragmatic]
    ml-phases reject --reason "…"
    ml-phases report [--open]

Bad input (a corrupt state file, a malformed capsule, a project another run holds, a failing
project command) ends with one line and exit code 2; ADRs and state on disk are left as they are.
A phase whose change breaks the project's tests is undone and marked failed: exit code 1.
A phase stopped by a limit (budget, turns, time) or an unavailable API is undone and marked
incomplete: exit code 3; the next `ml-phases run` resumes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import engine, layout, report
from . import state as run_state
from .adr import RecordError
from .backends.base import BackendError
from .backends.claude.sandbox import redact
from .backends.claude.settings import (
    DEFAULT_BUDGET_USD,
    DEFAULT_MAX_TURNS,
    DEFAULT_MODEL,
    DEFAULT_PHASE_MINUTES,
    Flags,
)
from .capsule import CapsuleError
from .phases import PHASES, redone_on_reject, span
from .project import ToolError

ERRORS = (
    OSError,  # a file the engine must read or write that is not a file (a folder, a pipe)
    run_state.StateError,
    RecordError,
    CapsuleError,
    ToolError,
    engine.EngineError,
    BackendError,
)
EXIT_INCOMPLETE = 3


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
    run.add_argument("--to", dest="stop", type=int, default=len(PHASES), help="last phase")
    run.add_argument("--redo", type=int, help="run this phase again even if it is done")
    run.add_argument("--capsule", help="read .phase0/capsules/SLUG/capsule.yaml")
    run.add_argument(
        "--backend", choices=engine.BACKENDS, help="who fills the phases (default: the answers)"
    )
    claude = run.add_argument_group("claude backend (defaults: the answers, else these)")
    claude.add_argument("--model", help=f"Claude model id ({DEFAULT_MODEL})")
    claude.add_argument(
        "--budget-usd", type=positive, help=f"most this run may spend ({DEFAULT_BUDGET_USD})"
    )
    claude.add_argument(
        "--max-turns", type=positive_int, help=f"requests per agent ({DEFAULT_MAX_TURNS})"
    )
    claude.add_argument(
        "--phase-minutes", type=positive, help=f"wall clock per phase ({DEFAULT_PHASE_MINUTES})"
    )
    show = commands.add_parser("status", help="the twelve phases and where the run stands")
    show.add_argument("--json", action="store_true", help="print JSON")
    approve = commands.add_parser("approve", help="approve the proposed design")
    approve.add_argument("--option", help="approve another candidate: baseline | sota | pragmatic")
    redone = f"phases {span(redone_on_reject())}"
    reject = commands.add_parser("reject", help=f"reject the proposed design (redo {redone})")
    reject.add_argument("--reason", required=True, help=f"why; it becomes input to {redone}")
    page = commands.add_parser(
        "report", help=f"write {layout.REPORT}: the record and its figures on one page"
    )
    page.add_argument("--open", action="store_true", help="open it in a web browser")
    return top


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number above 0")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number above 0")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    root = args.project

    def say(line: str) -> None:
        print(redact(line), flush=True)

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
                claude=Flags(
                    model=args.model,
                    budget_usd=args.budget_usd,
                    max_turns=args.max_turns,
                    phase_minutes=args.phase_minutes,
                ),
                say=say,
            )
            if ended == "done":
                print("All phases in range are done; the ADRs are in docs/adr/.")
            elif ended in ("failed", "incomplete"):
                sys.exit(1 if ended == "failed" else EXIT_INCOMPLETE)
        elif args.command == "report":
            uri = report.write(root).resolve().as_uri()
            print(f"Report: {uri}")
            if args.open and not report.open_in_browser(uri):
                print("No web browser found here; open the address above in one.")
        elif args.command == "approve":
            chosen = engine.approve(root, args.option, say)
            print(f"Approved: {chosen}. Next: ml-phases run")
        else:
            refused = engine.reject(root, args.reason, say)
            again = f"phases {span(redone_on_reject())} again, then the gate"
            print(f"Rejected: {refused}. Next: ml-phases run ({again})")
    except ERRORS as exc:
        print(f"ml-phases: error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("ml-phases: stopped; `ml-phases run` resumes where it stopped", file=sys.stderr)
        sys.exit(130)
