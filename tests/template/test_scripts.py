"""The two scripts that run before any dependency exists: setup_env.py and the Copier task."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import shlex
import subprocess
import sys
import sysconfig
import zipfile
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


def run_task(
    project: Path,
    setup_env: str,
    *args: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """The Copier task run in `project` with `setup_env` as its environment script; it must exit
    0 whatever happens (Copier would delete the new project otherwise). Returns what it printed."""
    (project / "scripts").mkdir()
    (project / "scripts/setup_env.py").write_text(setup_env)
    monkeypatch.chdir(project)
    assert copier_task.main(["--package", "my_model", *args]) == 0
    return capsys.readouterr().out


def test_task_always_exits_0_and_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing step must not fail the task: Copier would delete the new project."""
    script = "import sys; sys.exit(3)\n"
    printed = run_task(tmp_path, script, monkeypatch=monkeypatch, capsys=capsys)
    assert "'build .venv' failed (exit code 3)" in printed
    python = shlex.quote(str(tmp_path / ".venv/bin/python"))
    assert printed.splitlines()[-3:] == [
        f"ml-flow: fix the cause, then run: cd {tmp_path} && make install",
        f"ml-flow:   then: {python} -m my_model profile",
        f"ml-flow:   then: {python} -m ml_phases run",
    ]
    assert (tmp_path / "scripts/setup_env.py").exists()
    assert [path.name for path in (tmp_path / ".ml-flow/engine").iterdir()] == [
        "ml_phases-0.2.0-py3-none-any.whl"
    ]


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
    assert planned[0].command[-1].endswith("hooks[claude]")  # no wheel: from the template
    assert [step.name for step in planned] == ["build .venv", "profile the data"]
    assert "ANTHROPIC_API_KEY is not set" in capsys.readouterr().out
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    planned = copier_task.steps(tmp_path, "demo", True, False, "claude")
    assert planned[-1].command[-3:] == ["-m", "ml_phases", "run"]
    offline = copier_task.steps(tmp_path, "demo", True, False)
    assert offline[0].command[-1] == str(copier_task.ENGINE)
    wheel = tmp_path / "engine.whl"  # with a wheel, setup_env.py installs it (extras rendered)
    assert copier_task.steps(tmp_path, "demo", True, False, "claude", wheel)[0].command[1:] == [
        "scripts/setup_env.py"
    ]


@pytest.mark.parametrize(("backend", "extras"), [("offline", ""), ("claude", "[claude]")])
def test_setup_env_installs_the_engine_wheel_left_in_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, extras: str
) -> None:
    project = render(tmp_path / "p", agent_backend=backend)
    module = load_script(project / "scripts/setup_env.py")
    monkeypatch.chdir(project)
    assert module.engine_wheel() == []  # rendered without the task: no wheel
    wheel = copier_task.write_engine_wheel(project / copier_task.ENGINE_WHEELS)
    assert module.engine_wheel() == [f"{wheel.relative_to(project)}{extras}"]


def test_engine_wheel_installs_without_an_index_and_runs(tmp_path: Path) -> None:
    """The wheel written at copy time is all a later `make install` needs to get ml-phases."""
    wheel = copier_task.write_engine_wheel(tmp_path / "engine")
    assert wheel.name == "ml_phases-0.2.0-py3-none-any.whl"
    assert copier_task.write_engine_wheel(tmp_path / "again").read_bytes() == wheel.read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = "ml_phases-0.2.0.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        records = archive.read(f"{info}/RECORD").decode().splitlines()
        for row in records:  # every file's hash and size, as installers may check them
            name, digest, size = row.rsplit(",", 2)
            if name != f"{info}/RECORD":
                data = archive.read(name)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                assert (digest, int(size)) == (f"sha256={expected.decode()}", len(data)), name
    assert "ml_phases/cli.py" in names
    assert "ml_phases/backends/offline/files/test_experiment.py.tmpl" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert {row.rsplit(",", 2)[0] for row in records} == set(names)
    assert "Requires-Dist: pyyaml>=6.0\n" in metadata
    assert 'Requires-Dist: anthropic>=2.10; extra == "claude"\n' in metadata

    # A bare venv that sees this environment's packages (pyyaml) and installs with no index.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "dev.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin/python", "install"]
    subprocess.run([*pip, "--no-index", "--no-deps", "--quiet", wheel], check=True)
    project = tmp_path / "project"
    project.mkdir()
    status = subprocess.run(
        [venv / "bin/ml-phases", "status"], cwd=project, capture_output=True, text=True
    )
    assert status.returncode == 0, status.stderr
    assert "Problem Analysis" in status.stdout
    where = subprocess.run(
        [venv / "bin/python", "-c", "import ml_phases; print(ml_phases.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)


# Nothing to install from: pip without its configuration, uv offline without a cache.
NO_INDEX = {
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_FIND_LINKS": "",
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
    "UV_OFFLINE": "1",
    "UV_NO_CACHE": "1",
}


@pytest.mark.slow
def test_a_copy_whose_build_failed_gets_the_engine_from_the_printed_command(
    tmp_path: Path,
) -> None:
    """Copier deletes its clone of the template when the copy ends: the recovery command must
    need nothing from it. Then `make install`, in a fresh shell with the index back."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    project = tmp_path / "my project"
    copy = ["copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", "run_phases=false"]
    copied = subprocess.run(
        [sys.executable, "-m", "copier", *copy, str(ROOT), str(project)],
        env={**env, **NO_INDEX},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    printed = copied.stdout + copied.stderr
    assert copied.returncode == 0, printed
    assert "'build .venv' failed" in printed, printed
    assert not (project / ".venv/bin/ml-phases").exists()
    recovery = printed.split("fix the cause, then run: ", 1)[1].splitlines()[0]
    assert "hooks" not in recovery, recovery
    rebuilt = subprocess.run(
        ["bash", "-c", recovery], env=env, capture_output=True, text=True, timeout=600
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    status = subprocess.run(
        [project / ".venv/bin/ml-phases", "status"], cwd=project, capture_output=True, text=True
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Problem Analysis" in status.stdout
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True
        ).stdout
        == ""
    ), "the engine's wheel is part of the first commit"


def test_task_builds_the_environment_and_leaves_the_phases_until_the_data_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--data-source", "data/later.csv")
    printed = run_task(tmp_path, "print('built')\n", *args, monkeypatch=monkeypatch, capsys=capsys)
    assert (
        "data/later.csv is not in the project yet: profiling and the phases wait for it" in printed
    )
    assert "build .venv: " in printed
    assert "profile the data" not in printed
    assert "ml_phases run" not in printed
    assert "the design record is in docs/adr/" not in printed
