"""What a phase changed in the project: keep it if the tests stay green, else put it back.

A phase starts from a snapshot of the files it owns, saved under .ml-flow/ so that even a
killed run can be put back when the next run starts. When a code phase ends, the tests its
change can affect run; if they fail, the snapshot is restored, so a failed phase leaves the
project as it found it. Each finished phase becomes one git commit of what it changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .layout import MANIFEST, STATE_DIR, atomic_write
from .project import Project, TestRun, ToolError

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

    def restore(self, only: list[str] | None = None, keep: Path | None = None) -> list[str]:
        """Put every changed file (or only these) back as it was; returns the paths restored.

        With `keep`, a file's current content is copied to keep/<path> before it is replaced or
        removed: a put-back cannot tell a phase's writes from a user's, so it destroys neither.
        """
        restored = self.changed() if only is None else only
        for path in restored:
            target, old = self.root / path, self.before[path]
            if keep is not None and target.is_file():
                (keep / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(target, keep / path)
            if old is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(old)
        return restored

    def save(self, folder: Path) -> None:
        """Keep the snapshot on disk (the files, then a manifest) until the change is over."""
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "files").mkdir(parents=True)
        for index, old in enumerate(self.before.values()):
            if old is not None:
                (folder / "files" / str(index)).write_bytes(old)
        self._save_manifest(folder)

    def include(self, folder: Path, path: str) -> None:
        """Add a file to the snapshot, and to its copy on disk, before it is first written."""
        if path in self.before:
            return
        old = self.before[path] = _read(self.root / path)
        if old is not None:
            (folder / "files" / str(len(self.before) - 1)).write_bytes(old)
        self._save_manifest(folder)

    def _save_manifest(self, folder: Path) -> None:
        manifest = {path: old is not None for path, old in self.before.items()}
        atomic_write(folder / MANIFEST, json.dumps(manifest))  # last: the snapshot is whole

    @classmethod
    def load(cls, root: Path, folder: Path) -> Snapshot | None:
        """A snapshot a cut-off change left on disk, or None when there is none (or half one)."""
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        before = {
            path: (folder / "files" / str(index)).read_bytes() if existed else None
            for index, (path, existed) in enumerate(manifest.items())
        }
        return cls(root, before)


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def affected_tests(root: Path, changed: list[str]) -> tuple[str, ...] | None:
    """The test files a change can affect: None means the whole suite.

    A change under src/ or to the shared fixtures can break any test. A changed test file
    affects itself; any other changed file (a config) affects the test files that name it.
    """
    if any(path.startswith("src/") or path in SHARED for path in changed):
        return None
    tests = {path for path in changed if path.startswith("tests/test_") and path.endswith(".py")}
    others = [Path(path).name for path in changed if path not in tests]
    for test in sorted((root / "tests").glob("test_*.py")) if others else []:
        if any(name in test.read_text(encoding="utf-8") for name in others):
            tests.add(test.relative_to(root).as_posix())
    return tuple(sorted(path for path in tests if (root / path).is_file()))


@dataclass
class Workspace:
    """A code-writing phase's view of its change: what it touched, and the tests on it."""

    project: Project
    snapshot: Snapshot
    verified: bool = False  # whether the phase checked its change (else the engine does)

    def verify(self, *, full: bool = False, timeout: float | None = None) -> TestRun | None:
        """Run the tests the change can affect (all with `full`); raise PhaseFailed if red,
        if pytest cannot collect them, or if they outrun `timeout` seconds.

        Returns None when nothing changed that a test reads, and so nothing needed running.
        """
        self.verified = True
        targets = None if full else affected_tests(self.project.root, self.snapshot.changed())
        if targets == ():
            return None
        try:
            run = self.project.tests(targets or (), timeout=timeout)
        except ToolError as exc:
            raise PhaseFailed(f"the tests did not run to the end ({exc})") from None
        if not run.green:
            shown = "; ".join(run.failures[:3]) or "no test ran"
            raise PhaseFailed(f"the tests failed ({run.describe()}): {shown}")
        return run


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )
    except subprocess.TimeoutExpired:  # waiting on a prompt (a signing key, say)
        return subprocess.CompletedProcess(["git", *args], 1, "", "git timed out after 60 s")


def is_repository(root: Path) -> bool:
    """Whether root is the top of a git work tree (a parent repository is left alone)."""
    try:
        top = git(root, "rev-parse", "--show-toplevel")
    except OSError:  # git is not installed
        return False
    return top.returncode == 0 and Path(top.stdout.strip()).resolve() == root.resolve()


def uncommitted(root: Path, paths: list[str]) -> set[str]:
    """Which of these files hold changes git has not committed (new files included); none
    outside a git repository, where nothing is committed to compare with."""
    if not paths or not is_repository(root):
        return set()
    listed = git(root, "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths)
    return {entry[3:] for entry in listed.stdout.split("\0") if len(entry) > 3}


def commit(root: Path, paths: list[str], message: str) -> str:
    """Commit exactly these paths (added, changed or deleted); says what happened.

    Other changes in the work tree, staged or not, stay out of the commit. The user's git
    identity is used when one is set, else `ml-phases`.
    """
    if not is_repository(root):
        return "not committed: the project is not a git repository of its own"
    tracked = set(git(root, "ls-files", "--", *paths).stdout.splitlines()) if paths else set()
    paths = [p for p in paths if (root / p).exists() or p in tracked]
    if not paths:
        return "nothing to commit"
    git(root, "add", "-A", "--", *paths)
    if git(root, "diff", "--cached", "--quiet", "--", *paths).returncode == 0:
        return "nothing to commit"
    named = all(git(root, "config", key).stdout.strip() for key in ("user.name", "user.email"))
    identity = () if named else GIT_IDENTITY
    done = git(root, *identity, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths)
    if done.returncode != 0:
        git(root, "reset", "--quiet", "--", *paths)  # leave the index as it was
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"not committed ({reason}); commit the files yourself"
    return "commit " + git(root, "rev-parse", "--short", "HEAD").stdout.strip()


# Folders a project's own runs fill; outside git they are left out of a project's file list.
GENERATED = frozenset(
    {".git", ".venv", STATE_DIR, "__pycache__", ".pytest_cache", ".ruff_cache", "outputs"}
    | {"mlruns", "wandb"}
)


def project_files(root: Path, largest: int = 10_000_000) -> list[str]:
    """The project's own files (what git would track; up to `largest` bytes each)."""
    listed = (
        git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        if is_repository(root)
        else None
    )
    if listed is not None and listed.returncode == 0:
        paths = [path for path in listed.stdout.split("\0") if path]
    else:
        paths = [
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and not GENERATED & set(path.relative_to(root).parts)
        ]
    return sorted(p for p in paths if (root / p).is_file() and (root / p).stat().st_size <= largest)
