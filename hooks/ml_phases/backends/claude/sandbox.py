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

from ...layout import REPORT, STATE_DIR
from ...project import Project, ToolError

HIDDEN = frozenset({".git", STATE_DIR, ".venv"})  # never read, listed or written
# Files no agent needs: the report is a megabyte of inlined chart library around the records
# the agents read in docs/adr/, and the engine writes it after them.
GENERATED = frozenset({REPORT})
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
API_KEY = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}")
REDACTED = "[REDACTED]"
OUTPUT_LIMIT = 12_000  # characters of a command's output an agent sees (head and tail)
# The options pytest and ruff accept here, and whether each takes a value. Anything else is
# refused: output files (--junitxml, ruff -o), plugins, other configs, fixes that rewrite code.
OPTIONS: dict[str, dict[str, bool]] = {
    "pytest": {
        **dict.fromkeys(("-q", "-v", "-vv", "-x", "-s", "-l", "--co", "--collect-only"), False),
        **dict.fromkeys(("-ra", "-rA", "-rf", "-rs", "--no-header", "--lf", "--ff"), False),
        **dict.fromkeys(("-k", "-m", "--tb", "--maxfail", "--durations"), True),
    },
    "ruff": {
        **dict.fromkeys(("--check", "--diff", "--statistics", "--no-cache", "-q"), False),
        **dict.fromkeys(("--output-format", "--select", "--ignore", "--extend-select"), True),
    },
}
RUFF_COMMANDS = ("check", "format")


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
        if parts and parts[0].lower() in HIDDEN:
            raise Refused(f"'{path}' is inside {parts[0]}/, which agents may not touch")
        if relative in GENERATED:
            raise Refused(f"'{path}' is the engine's page of the records; read docs/adr/ instead")
        if parts and _secret_file(parts[-1].lower()):
            raise Refused(f"'{path}' holds secrets; agents may not read or write it")
        if write:
            if relative in self.protected:
                raise Refused(f"'{path}' is an accepted ADR; records are never rewritten")
            if relative not in self.writable or pure.as_posix() != relative:
                mine = ", ".join(sorted(self.writable)) or "none in this phase"
                raise Refused(f"'{path}' is not one of your files (yours: {mine})")
        return target, relative

    def files(self, folder: Path) -> Iterator[Path]:
        """Files under folder an agent may read: links are followed only where resolve allows."""
        for current, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d.lower() not in HIDDEN and d != "__pycache__")
            for name in sorted(names):
                path = Path(current, name)
                try:
                    self.resolve(path.relative_to(self.root).as_posix())
                except Refused:
                    continue
                yield path

    def command(self, program: object, args: object, timeout: float) -> str:
        """Run an allowlisted program without a shell and with no secrets in its environment.

        pytest and ruff take only the options in OPTIONS; every other argument, and every
        option's value, must be a path (or text) that resolve() allows. The project's CLI takes
        its own options, its values checked the same way.
        """
        package = self.project.package
        if program not in ("pytest", "ruff", package):
            raise Refused(f"'{program}' is not allowed; run one of pytest, ruff, {package}")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise Refused("args must be a list of strings")
        self._check_arguments(str(program), args)
        try:
            env = scrubbed_environment()
            done = self.project.run("-m", str(program), *args, timeout=timeout, env=env)
        except ToolError as exc:
            raise Refused(str(exc)) from None
        except (OSError, subprocess.SubprocessError) as exc:
            raise Refused(f"'{program}' could not start: {exc}") from None
        return f"exit code {done.returncode}\n{done.stdout}{done.stderr}"

    def _check_arguments(self, program: str, args: list[str]) -> None:
        if program == "ruff":
            if not args or args[0] not in RUFF_COMMANDS:
                raise Refused("ruff runs as `ruff check ...` or `ruff format --check ...`")
            if args[0] == "format" and not {"--check", "--diff"} & set(args):
                raise Refused("ruff format may only check here (--check or --diff); use write_file")
            args = args[1:]
        allowed = OPTIONS.get(program)
        takes_value = False
        for arg in args:
            if "\x00" in arg or len(arg) > 2000:
                raise Refused("an argument holds a NUL byte or is over 2000 characters")
            if takes_value:  # the value of the option before: text, checked as a path too
                takes_value = False
                self._check_value(arg)
                continue
            name, _, value = arg.partition("=")
            if not arg.startswith("-"):
                self._check_value(arg)  # a path, a test id, or a config override key=value
            elif allowed is not None:
                if name not in allowed:
                    known = " ".join(sorted(allowed))
                    raise Refused(
                        f"{program} option '{name}' is not allowed here (allowed: {known})"
                    )
                takes_value = allowed[name] and not value
            if value:
                self._check_value(value)

    def _check_value(self, value: str) -> None:
        """A value that may be a path must be one resolve() allows (node ids: the file part)."""
        candidate = value.split("::", 1)[0].strip()
        if candidate:
            self.resolve(candidate)


def clip(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The head and tail of a long text, saying how much was left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"
