"""Where an agent may reach: paths confined to the project, commands from an allowlist, secrets
kept out of both, and out of everything written down.

What this does not protect against (and the README says so): code an agent writes into its own
files runs when the project's tests or CLI run, with the user's permissions.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ...project import Project, ToolError

HIDDEN = frozenset({".git", ".ml-flow", ".venv"})  # never read, listed or written
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
API_KEY = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}")
REDACTED = "[REDACTED]"
OUTPUT_LIMIT = 12_000  # characters of a command's output an agent sees (head and tail)
# Options that would let a command reach outside the project or delete in it.
REFUSED_OPTIONS = {
    "pytest": ("--basetemp", "--rootdir", "-c", "--config-file", "-o", "--override-ini", "-p"),
    "ruff": ("--fix", "--unsafe-fixes", "--cache-dir", "--config"),
}


class Refused(ValueError):
    """A request outside what an agent may do; the message goes back to the agent."""


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of variables whose names say they are secrets (long enough to be one)."""
    environ = os.environ if environ is None else environ
    return sorted(
        {value for name, value in environ.items() if SECRET_NAME.search(name) and len(value) >= 6},
        key=len,
        reverse=True,
    )


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """The text with every secret value and anything shaped like an Anthropic key masked."""
    for secret in secret_values() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    return API_KEY.sub(REDACTED, text)


def scrubbed_environment() -> dict[str, str | None]:
    """Overrides for Project.run that remove every secret-named variable."""
    return {name: None for name in os.environ if SECRET_NAME.search(name)}


def _secret_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.")


@dataclass(frozen=True)
class Sandbox:
    """One agent's reach: the project folder, and the files it may write in this phase."""

    project: Project
    writable: frozenset[str]  # paths relative to the project root, '/'-separated
    protected: frozenset[str] = frozenset()  # files never written (accepted ADRs)

    @property
    def root(self) -> Path:
        return self.project.root

    def resolve(self, path: object, *, write: bool = False) -> tuple[Path, str]:
        """The real path inside the project and its relative form; Refused otherwise."""
        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            raise Refused("a path must be a non-empty string relative to the project")
        pure = PurePosixPath(path.replace("\\", "/"))
        if pure.is_absolute() or path.startswith("~") or re.match(r"^[A-Za-z]:", path):
            raise Refused(f"'{path}' is absolute; give a path relative to the project root")
        if ".." in pure.parts:
            raise Refused(f"'{path}' uses '..'; paths stay inside the project")
        target = (self.root / pure).resolve()
        if not target.is_relative_to(self.root):
            raise Refused(f"'{path}' leads outside the project (through a symlink)")
        relative = target.relative_to(self.root).as_posix()
        parts = PurePosixPath(relative).parts
        if parts and parts[0] in HIDDEN:
            raise Refused(f"'{path}' is inside {parts[0]}/, which agents may not touch")
        if parts and _secret_file(parts[-1]):
            raise Refused(f"'{path}' holds secrets; agents may not read or write it")
        if write:
            if relative in self.protected:
                raise Refused(f"'{path}' is an accepted ADR; records are never rewritten")
            if relative not in self.writable or pure.as_posix() != relative:
                mine = ", ".join(sorted(self.writable)) or "none in this phase"
                raise Refused(f"'{path}' is not one of your files (yours: {mine})")
        return target, relative

    def files(self, folder: Path) -> Iterator[Path]:
        """Files under folder an agent may see: no hidden folders, no links leading out."""
        for current, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d not in HIDDEN and d != "__pycache__")
            for name in sorted(names):
                path = Path(current, name)
                if _secret_file(name) or not path.resolve().is_relative_to(self.root):
                    continue
                yield path

    def command(self, program: object, args: object, timeout: float) -> str:
        """Run an allowlisted program without a shell and with no secrets in its environment."""
        package = self.project.package
        if program not in ("pytest", "ruff", package):
            raise Refused(f"'{program}' is not allowed; run one of pytest, ruff, {package}")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise Refused("args must be a list of strings")
        for arg in args:
            self._check_argument(str(program), arg)
        if program == "ruff" and "format" in args and not {"--check", "--diff"} & set(args):
            raise Refused("ruff format may only check here (--check or --diff); use write_file")
        module = str(program)
        try:
            done = self.project.run(
                "-m", module, *args, timeout=timeout, env=scrubbed_environment()
            )
        except ToolError as exc:
            raise Refused(str(exc)) from None
        except (OSError, subprocess.SubprocessError) as exc:
            raise Refused(f"'{program}' could not start: {exc}") from None
        output = clip(done.stdout + done.stderr)
        return f"exit code {done.returncode}\n{output}"

    def _check_argument(self, program: str, arg: str) -> None:
        if "\x00" in arg or len(arg) > 2000:
            raise Refused("an argument holds a NUL byte or is over 2000 characters")
        option = arg.split("=", 1)[0]
        if option in REFUSED_OPTIONS.get(program, ()):
            raise Refused(f"the option {option} is not allowed for {program}")
        value = arg.split("=", 1)[-1]
        if value.startswith(("/", "~")) or ".." in PurePosixPath(value).parts:
            raise Refused(f"the argument '{arg}' leaves the project; use relative paths")


def clip(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The head and tail of a long text, saying how much was left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"
