"""The engine under faults: kill -9 at named points, two runs at once, children of a killed
run, a user's edit between a kill and the resume, and corrupt state files.

The kills are real: the engine runs in its own process on a stand-in project
(tests/engine/stand_in.py) and a named function, patched in that process, sends it SIGKILL when
it is called.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import stand_in
from fakes import canned_project, completed
from ml_phases import adr, cli, engine
from ml_phases import state as run_state
from stand_in import git

# Runs the engine's CLI after replacing module.name with a function that kills this process
# with SIGKILL on its first call (after appending `touch` to a file, to stand for a change the
# cut-off phase made).
KILLER = """
import importlib, os, signal, sys
module, name, touch, *argv = sys.argv[1:]
owner = importlib.import_module(module)
*parents, attribute = name.split(".")
for parent in parents:
    owner = getattr(owner, parent)
def kill(*args, **kwargs):
    if touch:
        path, text = touch.split("=", 1)
        with open(path, "a") as file:
            file.write(text)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(owner, attribute, kill)
from ml_phases.cli import main
main(argv)
"""


def killed_at(root: Path, where: str, *args: str, touch: str = "") -> None:
    """Run `ml-phases ARGS` and kill it with SIGKILL where `module:function` is first called."""
    module, name = where.split(":")
    env = {**os.environ, "PYTHONPATH": str(stand_in.HOOKS)}
    done = subprocess.run(
        [sys.executable, "-c", KILLER, module, name, touch, "--project", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr


def ml_phases(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    process = stand_in.cli(root, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def to_the_end(root: Path) -> str:
    """Resume as a user does: run, approve at the gate, run again; everything printed."""
    printed = ""
    for _ in range(4):
        shown = ml_phases(root, "run")
        printed += shown.stdout + shown.stderr
        assert shown.returncode == 0, printed
        if "Design approval needed" not in shown.stdout:
            return printed
        printed += ml_phases(root, "approve").stdout
    raise AssertionError(printed)


def uncommitted(root: Path) -> list[str]:
    """What git sees changed in the project's own files (the engine's folders are ignored)."""
    return git(root, "status", "--porcelain").splitlines()


def statuses(root: Path) -> dict[int, str]:
    return {n: p.status for n, p in run_state.load(root).phases.items()}


@pytest.fixture
def stand(tmp_path: Path) -> Path:
    return stand_in.make(tmp_path / "churn")


@pytest.fixture
def approved(stand: Path) -> Path:
    """A stand-in project with phases 1-6 done and approved."""
    assert ml_phases(stand, "run").returncode == 0
    assert ml_phases(stand, "approve").returncode == 0
    return stand


# Item 4: a kill between a phase's record and its commit.
def test_a_phase_killed_before_its_commit_is_committed_on_resume(approved: Path) -> None:
    killed_at(approved, "ml_phases.journal:commit", "run")
    assert 7 in adr.records(approved / "docs/adr")  # the record landed, the commit did not
    to_the_end(approved)
    assert uncommitted(approved) == []
    subjects = git(approved, "log", "--format=%s").splitlines()
    assert subjects.count("Phase 7 of 12: Model Implementation") == 1
    seventh = git(approved, "log", "--format=", "--name-only", "--grep=^Phase 7 ").split()
    assert {"configs/experiment.yaml", "tests/test_experiment.py"} <= set(seventh)


# Item 5: the run lock.
HOLD = """
import sys, time
from pathlib import Path
from ml_phases import state
from ml_phases.state import StateError
root, log, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
(root / f"ready-{me}").touch()
while not (root / "go").exists():  # all start together
    time.sleep(0.001)
try:
    with state.locked(root):
        with log.open("a") as file:
            file.write("in\\n")
        time.sleep(0.3)
        with log.open("a") as file:
            file.write("out\\n")
except StateError:
    with log.open("a") as file:
        file.write("refused\\n")
"""


def test_only_one_of_many_simultaneous_runs_takes_the_lock(tmp_path: Path) -> None:
    log, racers = tmp_path / "log", 12
    env = {**os.environ, "PYTHONPATH": str(stand_in.HOOKS)}
    started = [
        subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), str(log), str(n)], env=env)
        for n in range(racers)
    ]
    while len(list(tmp_path.glob("ready-*"))) < racers:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    assert [racer.wait(timeout=60) for racer in started] == [0] * racers
    lines = log.read_text().split()
    assert lines.count("in") == 1, lines
    assert lines.count("refused") == racers - 1


def test_a_lock_held_by_a_killed_run_is_free_and_the_file_stays(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(stand_in.HOOKS)}
    code = (
        "import sys, time; from pathlib import Path; from ml_phases import state\n"
        "with state.locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    with (
        pytest.raises(run_state.StateError, match="another ml-phases run"),
        run_state.locked(tmp_path),
    ):
        pass
    holder.kill()
    holder.wait()
    with run_state.locked(tmp_path):  # the kernel let go of it; no guessing about pids
        pass
    assert (tmp_path / ".ml-flow/run.lock").exists()  # never deleted, so never raced over


def test_two_cli_runs_at_once_one_is_refused(tmp_path: Path) -> None:
    root = stand_in.make(tmp_path / "churn", slow=0.3)
    runs = [stand_in.cli(root, "run", stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    outcomes = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    assert any("another ml-phases run" in err for _, err in outcomes)
    assert statuses(root)[6] == "awaiting_approval"


# Item 6: children of a killed run.
def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc (Linux)")
def test_no_child_outlives_a_killed_run(tmp_path: Path) -> None:
    root = stand_in.make(tmp_path / "churn", hang="bakeoff")
    engine_run = stand_in.cli(root, "run", stdout=subprocess.DEVNULL)
    wait_for(root / "outputs/grandchild.pid")
    child = int((root / "outputs/child.pid").read_text())
    grandchild = int((root / "outputs/grandchild.pid").read_text())
    engine_run.send_signal(signal.SIGKILL)
    engine_run.wait()
    killed = time.monotonic()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)  # the bakeoff itself dies with the run
    (root / stand_in.SETTINGS).write_text("{}")
    assert ml_phases(root, "run").returncode == 0
    assert not alive(grandchild)  # what it started is gone before the next run goes on
    while time.monotonic() < killed + stand_in.HANG_SECONDS + 1:
        time.sleep(0.1)
    assert not list((root / "outputs").glob("late-*"))  # neither wrote after the kill


# Item 7: a killed redo.
def test_a_killed_redo_keeps_the_old_committed_phase(approved: Path) -> None:
    to_the_end(approved)
    experiment = (approved / "configs/experiment.yaml").read_text()
    seventh = adr.records(approved / "docs/adr")[7].read_text()
    touch = f"{approved / 'configs/experiment.yaml'}=unverified: true\n"
    killed_at(approved, "ml_phases.changes:Workspace.verify", "run", "--redo", "7", touch=touch)
    assert statuses(approved)[7] != "done"  # an unverified change is not a done phase
    assert ml_phases(approved, "run").returncode == 0
    assert (approved / "configs/experiment.yaml").read_text() == experiment
    assert adr.records(approved / "docs/adr")[7].read_text() == seventh
    assert statuses(approved)[7] == "done"
    assert uncommitted(approved) == []


# Item 8: the put-back and a user's edit.
def test_the_put_back_keeps_a_user_s_edit_and_says_where(approved: Path) -> None:
    killed_at(approved, "ml_phases.changes:Workspace.verify", "run")  # phase 7 wrote, unverified
    edit = "# my own experiment, written after the kill\nmodel: {name: linear}\n"
    (approved / "configs/experiment.yaml").write_text(edit)
    (approved / "src/churn/models.py").write_text('"""My edit of a module phase 7 owns."""\n')
    printed = ml_phases(approved, "run", "--to", "6").stdout
    kept = {
        path.relative_to(approved).as_posix(): path.read_text()
        for path in (approved / ".ml-flow/put-back").rglob("*")
        if path.is_file()
    }
    assert edit in kept.values()
    assert '"""My edit of a module phase 7 owns."""\n' in kept.values()
    folder = next(iter(kept)).split("/configs/")[0].split("/src/")[0]
    assert folder in printed


def test_a_phase_rewriting_a_file_with_uncommitted_edits_keeps_them(
    approved: Path,
) -> None:
    mine = "# my own experiment, not committed yet\nmodel: {name: linear}\n"
    (approved / "configs/experiment.yaml").write_text(mine)  # before phase 7 writes it
    printed = ml_phases(approved, "run", "--to", "7").stdout
    assert (approved / "configs/experiment.yaml").read_text() != mine  # phase 7's own
    kept = [p for p in (approved / ".ml-flow/put-back").rglob("experiment.yaml")]
    assert [path.read_text() for path in kept] == [mine]
    assert "Phase 7 rewrote configs/experiment.yaml, which held changes not committed" in printed
    assert kept[0].parent.parent.relative_to(approved).as_posix() in printed


# Item 9: a stale record's deletion.
def test_a_renamed_record_s_old_file_is_deleted_in_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned = canned_project(tmp_path / "churn", monkeypatch)
    root = canned["root"]
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    engine.run(root)
    engine.approve(root)
    engine.run(root)
    old = adr.records(root / "docs/adr")[10].relative_to(root).as_posix()
    violation = {
        "code": "F401",
        "message": "`os` imported but unused",
        "filename": str(root / "src/churn/models.py"),
        "location": {"row": 1, "column": 1},
        "fix": {"applicability": "unsafe"},
    }
    canned["outputs"]["ruff check"] = completed(json.dumps([violation]))
    engine.run(root, start=10, stop=10, redo=10)
    new = adr.records(root / "docs/adr")[10].relative_to(root).as_posix()
    assert new != old  # the title changed with the finding
    assert old not in git(root, "ls-files").splitlines()
    assert uncommitted(root) == []


# Item 10: corrupt state files.
def state_with(**changes: Any) -> bytes:
    raw = json.loads(run_state.RunState.fresh().to_json())
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        owner = raw
        for parent in parents:
            owner = owner[parent]
        owner[key] = value
    return json.dumps(raw).encode()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\xff\xfe\x00\x81garbage", "not valid JSON"),
        (state_with(capsule=["a"]), "capsule: "),
        (state_with(approval__reasons="abc"), "approval.reasons: "),
        (state_with(version="1"), "version: "),
        (state_with(phases__3__seconds="x"), "phases.3.seconds: "),
        (state_with(phases__2__note=["n"]), "phases.2.note: "),
        (state_with(phases__2__status="finished"), "phases.2.status: "),
        (state_with(extra=1), "extra: "),
    ],
)
def test_a_corrupt_state_file_is_one_line_naming_the_key(
    stand: Path, capsys, content: bytes, named: str
) -> None:
    path = corrupt(stand, "state.json", content)
    for command in ("status", "run"):
        refused_in_one_line(stand, capsys, command, named, "state.json")
    assert path.read_bytes() == content  # left for the user to inspect


def corrupt(stand: Path, name: str, content: bytes) -> Path:
    path = stand / ".ml-flow" / name
    path.parent.mkdir()
    path.write_bytes(content)
    return path


def refused_in_one_line(stand: Path, capsys, command: str, named: str, file: str) -> None:
    """The command exits 2 with one line that names the file and the key."""
    with pytest.raises(SystemExit) as ended:
        cli.main(["--project", str(stand), command])
    assert ended.value.code == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    assert named in error, error
    assert file in error


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\xff\xfe\x00\x81garbage", "not valid JSON"),
        (b'{"1": "profiled"}', "1: "),
        (b'{"one": {}}', "one: "),
        (b'{"13": {}}', "13: "),
        (b"[1, 2]", "Input should be an object (found [1, 2])"),
    ],
)
def test_a_corrupt_facts_file_is_one_line_naming_the_key(
    stand: Path, capsys, content: bytes, named: str
) -> None:
    corrupt(stand, "facts.json", content)
    refused_in_one_line(stand, capsys, "run", named, "facts.json")


# Item 11: an unreadable record.
@pytest.mark.parametrize("content", ["", "no front matter at all\n", "---\nstatus: [\n---\n"])
def test_an_unreadable_record_means_its_phase_is_not_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    root = canned_project(tmp_path / "churn", monkeypatch)["root"]
    assert engine.run(root) == "gate"
    adr.records(root / "docs/adr")[2].write_text(content)
    assert statuses(root)[2] == "pending"
    assert "is unreadable" in run_state.load(root).phases[2].note
    assert engine.run(root) == "gate"
    second = adr.records(root / "docs/adr")[2]
    assert adr.parse(second.read_text()).number == 2  # redone, not skipped


# Item 12: a killed approve.
def test_a_killed_approve_leaves_status_and_records_agreeing(stand: Path) -> None:
    assert ml_phases(stand, "run").returncode == 0
    killed_at(stand, "ml_phases.adr:write_index", "approve")  # just after ADR 6 is written
    state = run_state.load(stand)
    gate = adr.parse(adr.records(stand / "docs/adr")[6].read_text())
    approved = state.approval.status == "approved"
    assert (state.phases[6].status == "done") == approved == (gate.status == "accepted")
    to_the_end(stand)
    assert set(statuses(stand).values()) == {"done"}
    assert uncommitted(stand) == []
