"""What a phase changed: snapshots that put files back, the tests a change can affect, and one
git commit of exactly the phase's files."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from ml_phases.changes import PhaseFailed, Snapshot, Workspace, affected_tests, commit
from ml_phases.project import Project, TestRun, read_junit


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def test_a_snapshot_puts_back_changed_new_and_deleted_files(tmp_path: Path) -> None:
    (tmp_path / "kept.py").write_text("kept")
    (tmp_path / "edited.py").write_text("before")
    (tmp_path / "deleted.py").write_text("gone soon")
    snapshot = Snapshot.take(tmp_path, ["kept.py", "edited.py", "deleted.py", "new.py"])
    (tmp_path / "edited.py").write_text("after")
    (tmp_path / "deleted.py").unlink()
    (tmp_path / "new.py").write_text("new")
    assert sorted(snapshot.changed()) == ["deleted.py", "edited.py", "new.py"]
    assert sorted(snapshot.restore()) == ["deleted.py", "edited.py", "new.py"]
    assert (tmp_path / "edited.py").read_text() == "before"
    assert (tmp_path / "deleted.py").read_text() == "gone soon"
    assert not (tmp_path / "new.py").exists()
    assert snapshot.changed() == []


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ([], ()),
        (["configs/default.yaml"], ()),  # no test names it
        (["configs/experiment.yaml"], ("tests/test_experiment.py", "tests/test_integration.py")),
        (["tests/test_experiment.py"], ("tests/test_experiment.py",)),
        (["tests/test_integration.py", "src/pkg/predict.py"], None),
        (["tests/conftest.py"], None),
    ],
)
def test_the_tests_a_change_can_affect(
    tmp_path: Path, changed: list[str], expected: tuple | None
) -> None:
    (tmp_path / "tests").mkdir()
    for name in ("test_experiment.py", "test_integration.py"):
        (tmp_path / "tests" / name).write_text('CONFIG = "configs/experiment.yaml"\n')
    (tmp_path / "tests/test_models.py").write_text("def test_x(): pass\n")
    assert affected_tests(tmp_path, changed) == expected


def test_a_snapshot_on_disk_survives_the_process(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("before")
    Snapshot.take(tmp_path, ["a.py", "new.py"]).save(tmp_path / "saved")
    (tmp_path / "a.py").write_text("after")
    (tmp_path / "new.py").write_text("new")
    loaded = Snapshot.load(tmp_path, tmp_path / "saved")
    assert loaded is not None
    assert sorted(loaded.restore()) == ["a.py", "new.py"]
    assert (tmp_path / "a.py").read_text() == "before"
    assert not (tmp_path / "new.py").exists()
    assert Snapshot.load(tmp_path, tmp_path / "nowhere") is None


class FakeProject(Project):
    def __init__(self, root: Path, outcome: TestRun) -> None:
        super().__init__(root, {"package_name": "pkg"})
        object.__setattr__(self, "outcome", outcome)
        object.__setattr__(self, "asked", [])

    def tests(self, targets: tuple[str, ...] = (), timeout: float = 0) -> TestRun:
        self.asked.append(targets)
        return self.outcome


def test_verify_runs_only_what_changed_and_raises_when_red(tmp_path: Path) -> None:
    red = TestRun((), 3, 1, 0, 0.1, ("tests/test_a.py::test_b: boom",))
    project = FakeProject(tmp_path, red)
    space = Workspace(project, Snapshot.take(tmp_path, ["tests/test_a.py"]))
    (tmp_path / "tests").mkdir()
    assert space.verify() is None  # nothing changed: nothing to run
    (tmp_path / "tests/test_a.py").write_text("def test_b(): assert False\n")
    with pytest.raises(PhaseFailed, match="test_b: boom"):
        space.verify()
    assert project.asked == [("tests/test_a.py",)]


def test_junit_reports_are_read(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a" name="test_ok" time="0.5"/>'
        '<testcase classname="tests.test_a" name="test_bad" time="0.25">'
        '<failure message="assert 1 == 2&#10;more">trace</failure></testcase>'
        '<testcase classname="tests.test_a" name="test_skip" time="0"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    run = read_junit(report, ("tests/test_a.py",))
    assert (run.passed, run.failed, run.skipped, run.seconds) == (1, 1, 1, 0.75)
    assert run.failures == ("tests.test_a::test_bad: assert 1 == 2",)
    assert not run.green
    assert run.describe() == "tests/test_a.py: 1 passed, 1 failed, 1 skipped in 0.8 s"


def test_commit_takes_exactly_the_phase_files(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "user.txt").write_text("the user's")
    git(tmp_path, "add", "user.txt")  # staged by the user: must stay out of the phase commit
    said = commit(tmp_path, ["a.txt", "missing.txt"], "Phase 7 of 12: Model Implementation")
    assert said.startswith("commit ")
    assert git(tmp_path, "show", "--name-only", "--format=%s", "HEAD").split("\n")[:3] == [
        "Phase 7 of 12: Model Implementation",
        "",
        "a.txt",
    ]
    assert "A  user.txt" in git(tmp_path, "status", "--porcelain")
    assert commit(tmp_path, ["a.txt"], "nothing new") == "nothing to commit"


def test_no_commit_outside_a_repository_or_inside_a_parent_one(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    assert commit(tmp_path, ["a.txt"], "x").startswith("not committed")
    git(tmp_path, "init", "-q")
    inner = tmp_path / "project"
    inner.mkdir()
    (inner / "b.txt").write_text("b")
    assert commit(inner, ["b.txt"], "x").startswith("not committed")  # the parent is left alone
    assert git(tmp_path, "status", "--porcelain") == "?? a.txt\n?? project/\n"


def test_tests_that_hang_are_killed_with_what_they_started_and_fail_the_phase(
    tmp_path: Path,
) -> None:
    """A change whose tests hang fails its phase; the timeout ends the whole process tree."""
    (tmp_path / "tests").mkdir()
    marker = tmp_path / "grandchild-alive"
    (tmp_path / "tests/test_hang.py").write_text(
        "import subprocess, sys, time\n\n\ndef test_hang():\n"
        "    code = 'import time, pathlib; time.sleep(3); pathlib.Path(%r).touch()'\n"
        f"    subprocess.Popen([sys.executable, '-c', code % {str(marker)!r}])\n"
        "    time.sleep(60)\n"
    )
    project = Project(tmp_path, {"package_name": "demo"})
    space = Workspace(project, Snapshot.take(tmp_path, ["tests/test_hang.py"]))
    (tmp_path / "tests/test_hang.py").write_text(
        (tmp_path / "tests/test_hang.py").read_text() + "\n"
    )
    with pytest.raises(PhaseFailed, match="did not finish in 2 s"):
        space.verify(timeout=2)
    time.sleep(3)
    assert not marker.exists()
