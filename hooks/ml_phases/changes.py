"""What a phase changed in the project: keep it if the tests stay green, else put it back.

A code-writing phase starts from a snapshot of the files it owns. When it ends, the tests its
change can affect run; if they fail, the snapshot is restored, so a failed phase leaves the
project as it found it. Each finished phase becomes one git commit of its own files and ADR.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .project import Project, TestRun

# Files that every test depends on: a change to one of them reruns the whole suite.
SHARED = ("tests/conftest.py", "pyproject.toml")
GIT_IDENTITY = ("-c", "user.name=ml-phases", "-c", "user.email=ml-phases@localhost")


class PhaseFailed(RuntimeError):
    """A phase whose change broke the project's tests (its change is undone)."""


@dataclass
class Snapshot:
    """The bytes of some project files before a phase (None: the file did not exist)."""

    root: Path
    before: dict[str, bytes | None] = field(default_factory=dict)

    @classmethod
    def take(cls, root: Path, paths: list[str]) -> Snapshot:
        return cls(root, {path: _read(root / path) for path in paths})

    def changed(self) -> list[str]:
        return [path for path, old in self.before.items() if _read(self.root / path) != old]

    def restore(self) -> list[str]:
        """Put every changed file back as it was; returns the paths restored."""
        restored = self.changed()
        for path in restored:
            target, old = self.root / path, self.before[path]
            if old is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(old)
        return restored


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def affected_tests(changed: list[str]) -> tuple[str, ...] | None:
    """The test files a change can affect: None means the whole suite.

    A change under src/ or to the shared fixtures can break any test; a change to a test
    file or a config only affects the tests that read it, which are the changed test files.
    """
    if any(path.startswith("src/") or path in SHARED for path in changed):
        return None
    return tuple(path for path in changed if path.startswith("tests/") and path.endswith(".py"))


@dataclass
class Workspace:
    """A code-writing phase's view of its change: what it touched, and the tests on it."""

    project: Project
    snapshot: Snapshot
    checked: TestRun | None = None

    def verify(self, *, full: bool = False) -> TestRun | None:
        """Run the tests the change can affect (all with `full`); raise PhaseFailed if red.

        Returns None when nothing changed that a test reads, and so nothing needed running.
        """
        targets = None if full else affected_tests(self.snapshot.changed())
        if targets == ():
            return None
        run = self.project.tests(targets or ())
        self.checked = run
        if not run.green:
            shown = "; ".join(run.failures[:3]) or "no test ran"
            raise PhaseFailed(f"the tests failed ({run.describe()}): {shown}")
        return run


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )


def is_repository(root: Path) -> bool:
    """Whether root is the top of a git work tree (a parent repository is left alone)."""
    try:
        top = git(root, "rev-parse", "--show-toplevel")
    except OSError:  # git is not installed
        return False
    return top.returncode == 0 and Path(top.stdout.strip()).resolve() == root.resolve()


def commit(root: Path, paths: list[str], message: str) -> str | None:
    """Commit exactly these paths (added, changed or deleted); returns the commit or None.

    Other changes in the work tree, staged or not, stay out of the commit. The user's git
    identity is used when one is set, else `ml-phases`.
    """
    if not paths or not is_repository(root):
        return None
    tracked = set(git(root, "ls-files", "--", *paths).stdout.splitlines())
    paths = [p for p in paths if (root / p).exists() or p in tracked]
    if not paths:
        return None
    git(root, "add", "-A", "--", *paths)
    if git(root, "diff", "--cached", "--quiet", "--", *paths).returncode == 0:
        return None  # nothing of these paths changed
    identity = () if git(root, "config", "user.email").stdout.strip() else GIT_IDENTITY
    done = git(root, *identity, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths)
    if done.returncode != 0:
        return None
    return git(root, "rev-parse", "--short", "HEAD").stdout.strip()
