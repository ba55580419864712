"""How the phase engine holds up under faults, counted over many tries.

    .venv/bin/python tests/engine/benchmarks/bench_faults.py [--kills 50] [--edits 50]
        [--races 50] [--corrupt 50] [--seed 0] [--hooks DIR]

Each try runs the real `ml-phases` command line, in its own process, on a stand-in project
(tests/engine/stand_in.py: the generated project's tools answer from tables, so a full run takes
seconds) and prints counts:

- kill -9 at random points of a full run (`run`, `approve`, `run`): after each kill a user
  edits a file (one the cut-off phase owns when there is one, else one a finished phase wrote),
  then `run`/`approve` go on to the end. Counted: resumed (twelve phases done), every done
  phase committed (after every command that ended, nothing but the user's file differs from
  git), the user's edit kept (in the tree or under .ml-flow/put-back/), no tool writing and no
  process of the killed run left once the next command started.
- races: two `ml-phases run` started together; counted: one refused, the other ran.
- corrupt state: hand-picked bad values and random truncations and byte flips of
  .ml-flow/state.json and facts.json; counted: refused with one line and exit code 2, or
  (a flip that still makes a valid file) accepted; anything else is a crash.

`--hooks DIR` runs another copy of the engine (say, main's hooks/) to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

import stand_in  # noqa: E402  (the tests folder is not a package)

OWNED = {  # the files phases 7-12 write, by phase (ml_phases.phases, package `churn`)
    7: ["configs/experiment.yaml", "tests/test_experiment.py", "src/churn/models.py"],
    8: ["src/churn/train.py", "src/churn/data.py"],
    9: ["tests/test_integration.py", "src/churn/predict.py"],
    11: ["configs/experiment.yaml", "src/churn/evaluate.py"],
    12: ["docs/model_card.md"],
}
SLOW = 0.02  # seconds each stand-in tool takes: a full run lasts a few seconds


def command(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    process = stand_in.cli(root, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def dirty(root: Path, besides: set[str]) -> list[str]:
    """Files git sees changed, other than the user's own."""
    lines = stand_in.git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    return [line for line in lines if line[3:] not in besides]


def marked(root: Path) -> list[int]:
    """Processes started by engine commands in this project that still run (Linux)."""
    mark = f"\0ML_PHASES_PROJECT={root.resolve()}\0".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if mark in b"\0" + (entry / "environ").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                found += [] if state == "Z" else [int(entry.name)]
        except OSError:
            continue
    return found


def status(root: Path) -> list[dict]:
    shown = command(root, "status", "--json")
    return json.loads(shown.stdout) if shown.returncode == 0 else []


def flow(root: Path, tally: Counter, besides: set[str], printed: list[str]) -> bool:
    """run / approve / run to the end; after each command, every done phase is committed.

    The user resumes with a command even when `status` shows every phase done: a kill between a
    phase's finished marker and its commit leaves the commit to the next command (status only
    reads), and that is what this counts.
    """
    for attempt in range(6):
        rows = status(root)
        if attempt and rows and all(row["status"] == "done" for row in rows):
            return True
        waiting = rows and rows[5]["status"] == "awaiting_approval"
        done = command(root, "approve" if waiting else "run")
        printed.append(done.stdout + done.stderr)
        if done.returncode != 0 or "Traceback" in done.stderr:
            tally["a command failed after the kill"] += 1
            print(done.stdout[-800:], done.stderr[-800:], file=sys.stderr)
            return False
        if dirty(root, besides):
            tally["left a done phase uncommitted"] += 1
            print(dirty(root, besides), file=sys.stderr)
    return False


def flow_seconds(base: Path, scratch: Path, commands: list[str]) -> float:
    """How long the commands take from base, unharmed."""
    root = scratch / "timed"
    shutil.copytree(base, root, symlinks=True)
    start = time.perf_counter()
    killed_flow(root, float("inf"), commands)
    seconds = time.perf_counter() - start
    shutil.rmtree(root)
    return seconds


def killed_flow(root: Path, at: float, commands: list[str]) -> str | None:
    """Run these commands in turn and kill -9 whichever runs `at` seconds in."""
    deadline = time.perf_counter() + at
    for args in ([name] for name in commands):
        process = stand_in.cli(root, *args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and time.perf_counter() < deadline:
            time.sleep(0.002)
        if process.poll() is None:
            process.kill()  # SIGKILL
            process.wait()
            return args[0]
    return None


def user_edit(root: Path, rng: random.Random, token: str) -> tuple[str, bool]:
    """Edit a file as a user might after the kill: one the cut-off phase owns, when a phase
    was cut off, else one a finished code phase wrote. Returns the file and whether a
    put-back could touch it."""
    journals = root / ".ml-flow/snapshots"
    cut = [
        int(folder.name)
        for folder in (journals.glob("*") if journals.is_dir() else [])
        if folder.name.isdigit() and not (folder / "finished.json").exists()
    ]
    done = [n for n in OWNED if any(row["status"] == "done" for row in status(root)[n - 1 : n])]
    if cut and cut[0] in OWNED:
        path, exposed = rng.choice(OWNED[cut[0]]), True
    elif done:
        path, exposed = rng.choice(OWNED[rng.choice(done)]), False
    else:
        path, exposed = "configs/default.yaml", False
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a") as file:
        file.write(f"\n# {token}\n")
    return path, exposed


def kept(root: Path, path: str, token: str) -> bool:
    places = [root / path, *(root / ".ml-flow/put-back").rglob("*")]
    return any(place.is_file() and token in place.read_text(errors="replace") for place in places)


def kills(
    base: Path, scratch: Path, tries: int, rng: random.Random, commands: list[str]
) -> Counter:
    """Kill -9 at random points of these commands (from base), a user's edit, then resume."""
    failures = ("a command failed after the kill", "left a done phase uncommitted")
    tally: Counter = Counter(dict.fromkeys([*failures, "user edit lost"], 0))
    span = flow_seconds(base, scratch, commands)
    print(f"{', '.join(commands)} from {base.name}: {span:.1f} s")
    for number in range(tries):
        root = scratch / f"kill-{number}"
        killed = None
        while killed is None:  # a kill that came after the end is tried again
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(base, root, symlinks=True)
            killed = killed_flow(root, rng.uniform(0.05, span), commands)
        tally[f"killed in: {killed}"] += 1
        writes = root / stand_in.WRITES
        before = writes.read_text() if writes.exists() else ""
        token = f"user edit {number} {rng.random()}"
        path, exposed = user_edit(root, rng, token)
        tally["edits to a file the put-back restores"] += exposed
        time.sleep(0.3)  # what a surviving child would write in this time shows below
        after = writes.read_text() if writes.exists() else ""
        tally["a tool wrote after the kill"] += after != before
        tally["a process of the killed run was left"] += bool(marked(root))
        printed: list[str] = []
        resumed = flow(root, tally, {path}, printed)
        tally["resumed"] += resumed
        tally["user edit kept"] += kept(root, path, token)
        if not kept(root, path, token):
            tally["user edit lost"] += 1
            print(f"lost: {path} (put-back could touch it: {exposed})", *printed, file=sys.stderr)
        if resumed:
            subjects = stand_in.git(root, "log", "--format=%s").splitlines()
            phases = {f"Phase {n} of 12" for n in range(1, 13)}
            committed = all(any(s.startswith(p) for s in subjects) for p in phases)
            tally["every phase has its commit"] += committed and not dirty(root, {path})
        shutil.rmtree(root)
    return tally


def races(base: Path, scratch: Path, tries: int) -> Counter:
    tally: Counter = Counter({"crashed (a traceback)": 0})
    for number in range(tries):
        root = scratch / f"race-{number}"
        shutil.copytree(base, root, symlinks=True)
        both = [
            stand_in.cli(root, "run", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        ended = [(process.wait(timeout=300), process.stderr.read()) for process in both]
        refused = sum(code == 2 and "another ml-phases run" in err for code, err in ended)
        ran = sum(code == 0 for code, _ in ended)
        outcome = "refused" if (refused, ran) == (1, 1) else f"ran {ran}, refused {refused}"
        tally[outcome] += 1
        tally["crashed (a traceback)"] += any("Traceback" in err for _, err in ended)
        shutil.rmtree(root)
    return tally


def bad_states(state: bytes) -> list[tuple[str, bytes]]:
    """Hand-picked corruptions of the two state files (state: a valid state file)."""

    def changed(path: list[str], value: object) -> bytes:
        raw = json.loads(state)
        owner = raw
        for key in path[:-1]:
            owner = owner[key]
        owner[path[-1]] = value
        return json.dumps(raw).encode()

    return [
        ("state.json", b"\xff\xfe\x00\x81 binary garbage"),
        ("state.json", changed(["capsule"], ["a"])),
        ("state.json", changed(["approval", "reasons"], "abc")),
        ("state.json", changed(["version"], "1")),
        ("state.json", changed(["phases", "3", "seconds"], "x")),
        ("state.json", changed(["phases", "2", "note"], ["n"])),
        ("state.json", b""),
        ("facts.json", b"\xff\xfe garbage"),
        ("facts.json", b'{"1": "profiled"}'),
        ("facts.json", b"[1, 2]"),
    ]


def corrupt(base: Path, scratch: Path, tries: int, rng: random.Random) -> Counter:
    tally: Counter = Counter({"crashed or unclear": 0})
    root = scratch / "corrupt"
    shutil.copytree(base, root, symlinks=True)
    command(root, "run")  # real state and facts files to corrupt
    real = {name: (root / ".ml-flow" / name).read_bytes() for name in ("state.json", "facts.json")}
    cases = bad_states(real["state.json"])
    for _ in range(tries):
        name = rng.choice(sorted(real))
        content = bytearray(real[name])
        if rng.random() < 0.5:
            content = content[: rng.randrange(len(content))]
        else:
            for _ in range(rng.randint(1, 3)):
                content[rng.randrange(len(content))] = rng.randrange(256)
        cases.append((name, bytes(content)))
    for name, content in cases:
        (root / ".ml-flow" / name).write_bytes(content)
        for args in (["status"], ["run", "--to", "5"]):
            done = command(root, *args)
            lines = done.stderr.strip().splitlines()
            if done.returncode == 2 and len(lines) == 1 and name in lines[0]:
                tally["refused in one line naming the file"] += 1
            elif done.returncode == 0 and "Traceback" not in done.stderr:
                tally["accepted (still a valid file)"] += 1
            else:
                tally["crashed or unclear"] += 1
                print(name, content[:60], done.returncode, done.stderr[-400:], file=sys.stderr)
        (root / ".ml-flow" / name).write_bytes(real[name])
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--edits", type=int, default=50, help="kills in phases 7-12")
    parser.add_argument("--races", type=int, default=50)
    parser.add_argument("--corrupt", type=int, default=50, help="random corruptions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hooks", type=Path, help="run the engine found here instead")
    args = parser.parse_args()
    if args.hooks:
        stand_in.HOOKS = args.hooks.resolve()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        base = stand_in.make(scratch / "new", slow=SLOW)
        approved = scratch / "approved"
        shutil.copytree(base, approved, symlinks=True)
        assert command(approved, "run").returncode == command(approved, "approve").returncode == 0
        whole = ["run", "approve", "run"]
        for name, tally in (
            ("kill -9 at random points", kills(base, scratch, args.kills, rng, whole)),
            (
                "kill -9 in phases 7-12, then a user's edit",
                kills(approved, scratch, args.edits, rng, ["run"]),
            ),
            ("two runs at once", races(base, scratch, args.races)),
            ("corrupt state files", corrupt(base, scratch, args.corrupt, rng)),
        ):
            print(f"\n{name}:")
            for outcome, count in sorted(tally.items()):
                print(f"  {outcome}: {count}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
