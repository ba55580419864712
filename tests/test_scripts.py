"""The two scripts that run before any dependency exists: setup_env.py and the Copier task."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, render


def load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


copier_task = load_script(ROOT / "hooks/copier_task.py")


@pytest.fixture(scope="module")
def setup_env(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    project = render(tmp_path_factory.mktemp("scripts") / "p", torch_spec="torch>=2.3,<3")
    return load_script(project / "scripts/setup_env.py")


def test_rendered_defaults(setup_env: ModuleType) -> None:
    assert (setup_env.TORCH_SPEC, setup_env.MIN_PYTHON, setup_env.EXTRAS) == (
        "torch>=2.3,<3",
        (3, 11),
        "dev",
    )


def test_uv_gets_pips_find_links_and_torch_goes_first(setup_env: ModuleType, tmp_path: Path):
    venv = tmp_path / ".venv"
    commands = setup_env.install_commands(
        venv, "/usr/bin/python3", "torch==2.13.0", "dev", "/bin/uv", ["/opt/wheels"]
    )
    assert commands[0] == ["/bin/uv", "venv", "--python", "/usr/bin/python3", str(venv)]
    install = [
        "/bin/uv",
        "pip",
        "install",
        "--compile-bytecode",
        "--python",
        str(venv / "bin/python"),
    ]
    assert commands[1] == [*install, "--find-links", "/opt/wheels", "torch==2.13.0"]
    assert commands[2] == [*install, "--find-links", "/opt/wheels", "-e", ".[dev]"]


def test_pip_fallback_and_an_existing_venv_is_reused(setup_env: ModuleType, tmp_path: Path):
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").touch()
    commands = setup_env.install_commands(venv, "python3", "torch", "dev,wandb", None, [])
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--disable-pip-version-check"]
    assert commands == [[*pip, "torch"], [*pip, "-e", ".[dev,wandb]"]]


def test_pip_find_links_are_read_from_env_and_config(
    setup_env: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/a /b")
    links = setup_env.pip_find_links()
    assert links[:2] == ["/a", "/b"]
    assert len(links) == len(set(links))


def test_too_old_python_is_a_clear_error(setup_env: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"needs Python >= 3\.99"):
        setup_env.find_python((3, 99))


def test_task_always_exits_0_and_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing step must not fail the task: Copier would delete the new project."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/setup_env.py").write_text("import sys; sys.exit(3)\n")
    monkeypatch.chdir(tmp_path)
    assert copier_task.main(["--package", "my_model"]) == 0
    printed = capsys.readouterr().out
    assert "'build .venv' failed (exit code 3)" in printed
    assert "scripts/setup_env.py" in printed.splitlines()[-1]
    assert (tmp_path / "scripts/setup_env.py").exists()


def test_task_survives_a_missing_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(copier_task.sys, "executable", str(tmp_path / "no-such-python"))
    assert copier_task.main(["--package", "my_model"]) == 0
    assert "stopped (FileNotFoundError" in capsys.readouterr().out


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout


def test_task_makes_the_project_a_repository_with_one_commit(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# project\n")
    copier_task.init_repository(tmp_path)
    assert git(tmp_path, "log", "--format=%s").splitlines() == ["Generate from ml-flow-template"]
    assert git(tmp_path, "status", "--porcelain") == ""


@pytest.mark.parametrize(("ignored", "own_repository"), [(False, False), (True, True)])
def test_task_leaves_a_parent_repository_alone_unless_it_ignores_the_project(
    tmp_path: Path, ignored: bool, own_repository: bool
) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("project/\n" if ignored else "")
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# project\n")
    copier_task.init_repository(project)
    assert (project / ".git").is_dir() == own_repository
    assert git(tmp_path, "log") == ""  # no commit in the parent


def test_task_leaves_an_existing_repository_as_it_is(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "README.md").write_text("# project\n")
    copier_task.init_repository(tmp_path)
    assert git(tmp_path, "status", "--porcelain") == "?? README.md\n"


def test_task_installs_the_claude_sdk_and_waits_for_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    planned = copier_task.steps(tmp_path, "demo", True, False, "claude")
    assert planned[0][1][-1].endswith("hooks[claude]")
    assert [name for name, _ in planned] == ["build .venv", "profile the data"]
    assert "ANTHROPIC_API_KEY is not set" in capsys.readouterr().out
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    planned = copier_task.steps(tmp_path, "demo", True, False, "claude")
    assert planned[-1][1][-3:] == ["-m", "ml_phases", "run"]
    offline = copier_task.steps(tmp_path, "demo", True, False)
    assert offline[0][1][-1] == str(copier_task.ENGINE)
