"""Every task_type x tracking x agent_backend combination renders the exact file set, clean."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import FAST, MARKDOWNLINT_VERSION, MARKERS, ROOT, render, rendered_files
from pytest_copie.plugin import Copie

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text().split("\n---")[0])
MATRIX_KEYS = ("task_type", "tracking", "agent_backend")
# Each combination gets a package name of its own, so that every path under src/ is checked
# against the answer that names it.
MATRIX = [
    {**dict(zip(MATRIX_KEYS, values, strict=True)), "package_name": f"model_{index}"}
    for index, values in enumerate(
        itertools.product(*(QUESTIONS[key]["choices"].values() for key in MATRIX_KEYS))
    )
]


def combination(answers: dict[str, str]) -> str:
    return "-".join(answers[key] for key in MATRIX_KEYS)


BASE_FILES = [
    ".copier-answers.yml",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".markdownlint-cli2.yaml",
    ".pre-commit-config.yaml",
    "Makefile",
    "README.md",
    "benchmarks/bench_serve.py",
    "configs/default.yaml",
    "docs/adr/README.md",
    "pyproject.toml",
    "scripts/setup_env.py",
    "src/{pkg}/__init__.py",
    "src/{pkg}/__main__.py",
    "src/{pkg}/bakeoff.py",
    "src/{pkg}/catalogue.py",
    "src/{pkg}/cli.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/device.py",
    "src/{pkg}/diagnostics.py",
    "src/{pkg}/errors.py",
    "src/{pkg}/evaluate.py",
    "src/{pkg}/mlmodel.py",
    "src/{pkg}/monitor.py",
    "src/{pkg}/predict.py",
    "src/{pkg}/runs.py",
    "src/{pkg}/serve.py",
    "src/{pkg}/service.py",
    "src/{pkg}/tables.py",
    "src/{pkg}/tracking.py",
    "src/{pkg}/train.py",
    "tests/conftest.py",
    "tests/serving.py",
    "tests/test_bakeoff.py",
    "tests/test_cli.py",
    "tests/test_config.py",
    "tests/test_data.py",
    "tests/test_diagnostics.py",
    "tests/test_evaluate_predict.py",
    "tests/test_monitor.py",
    "tests/test_pyfunc.py",
    "tests/test_serve.py",
    "tests/test_tracking.py",
    "tests/test_train.py",
]
# The modules (and their tests) of one family of tasks only: a project carries its own.
FAMILY_FILES = {
    "tabular": [
        "benchmarks/bench_candidates.py",
        "benchmarks/bench_ddp.py",
        "benchmarks/bench_memory.py",
        "benchmarks/bench_stream.py",
        "benchmarks/bench_train.py",
        "benchmarks/bench_tune.py",
        "src/{pkg}/batches.py",
        "src/{pkg}/distributed.py",
        "src/{pkg}/losses.py",
        "src/{pkg}/metrics.py",
        "src/{pkg}/models.py",
        "src/{pkg}/streaming.py",
        "src/{pkg}/tune.py",
        "tests/test_distributed.py",
        "tests/test_losses.py",
        "tests/test_metrics.py",
        "tests/test_models.py",
        "tests/test_streaming.py",
        "tests/test_tune.py",
    ],
    "forecasting": [
        "benchmarks/bench_candidates.py",
        "benchmarks/bench_tbptt.py",
        "src/{pkg}/backtest.py",
        "src/{pkg}/features.py",
        "src/{pkg}/forecasters.py",
        "src/{pkg}/frequency.py",
        "src/{pkg}/sequence.py",
        "tests/test_backtest.py",
        "tests/test_features.py",
        "tests/test_frequency.py",
        "tests/test_sequence.py",
    ],
}


def family(task_type: str) -> str:
    return "forecasting" if task_type == "forecasting" else "tabular"


# What the Copier task adds even with setup_env false: the engine, for `make install`.
ENGINE_WHEEL = ".ml-flow/engine/ml_phases-0.2.0-py3-none-any.whl"


def expected_files(answers: dict[str, str]) -> list[str]:
    """The files the answers call for: the base set and the task family's own, under the
    package they name (tracking and agent_backend shape content only, checked below)."""
    package = answers["package_name"]
    paths = [*BASE_FILES, *FAMILY_FILES[family(answers["task_type"])]]
    return sorted([*(path.format(pkg=package) for path in paths), ENGINE_WHEEL])


def ruff(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def matrix_projects(copie_session: Copie) -> dict[str, Path]:
    """Each combination rendered once through pytest-copie (setup_env false: the task writes
    the engine's wheel and commits, and builds nothing)."""
    projects = {}
    for answers in MATRIX:
        result = copie_session.copy(extra_answers={**FAST, **answers})
        assert result.exit_code == 0, result.exception
        assert result.project_dir is not None
        projects[combination(answers)] = result.project_dir
    return projects


def test_matrix_covers_every_choice() -> None:
    assert len(MATRIX) == 3 * 3 * 2


@pytest.mark.parametrize("answers", MATRIX, ids=combination)
def test_combination_renders_clean(matrix_projects: dict[str, Path], answers: dict) -> None:
    project = matrix_projects[combination(answers)]
    assert rendered_files(project) == expected_files(answers)

    leftovers = [
        path
        for path in rendered_files(project)
        if path != ENGINE_WHEEL
        and any(marker in (project / path).read_text() for marker in MARKERS)
    ]
    assert leftovers == []

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: recorded[key] for key in answers} == answers
    config = yaml.safe_load((project / "configs/default.yaml").read_text())
    assert (config["task"], config["tracking"]["backend"]) == (
        answers["task_type"],
        answers["tracking"],
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert ("mlflow-skinny" in dependencies) == (answers["tracking"] == "mlflow")
    assert ("wandb" in pyproject["project"]["optional-dependencies"]) == (
        answers["tracking"] == "wandb"
    )
    package = answers["package_name"]
    assert pyproject["project"]["scripts"] == {package: f"{package}.cli:main"}
    assert words_of_the_other_family(project, answers["task_type"]) == []


# Words only one family's code has (at a word's start): the other family carries none of them.
FAMILY_WORDS = {
    "forecasting": ("forecast", "horizon", "tbptt", "statsmodels", "seasonal"),
    "tabular": ("mlp", "class_weights", "group_column", "stratif"),
}


def words_of_the_other_family(project: Path, task_type: str) -> list[str]:
    """`path: word` for each code file of the project that uses the other family's words."""
    other = "tabular" if family(task_type) == "forecasting" else "forecasting"
    words = FAMILY_WORDS[other]
    return [
        f"{path.relative_to(project)}: {word}"
        for folder in ("src", "tests", "benchmarks")
        for path in sorted((project / folder).rglob("*.py"))
        for word in words
        if re.search(rf"\b{word}", path.read_text(), re.IGNORECASE)
    ]


def tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """A dev tool from this environment's bin folder (actionlint is a binary, not a module)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / name), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_matrix_workflows_pass_actionlint(matrix_projects: dict[str, Path]) -> None:
    """GitHub rejects a whole workflow over one YAML slip, so every rendered one is linted."""
    workflows = sorted(
        path
        for project in matrix_projects.values()
        for path in (project / ".github/workflows").glob("*.y*ml")
    )
    assert len(workflows) >= len(matrix_projects)
    linted = tool("actionlint", "-no-color", *workflows)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    for workflow in workflows:  # the pinned CPU build, not PyPI's CUDA one
        steps = yaml.safe_load(workflow.read_text())["jobs"]["test"]["steps"]
        install = "\n".join(step.get("run", "") for step in steps)
        assert '"torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu' in install


def test_matrix_pyprojects_are_valid(matrix_projects: dict[str, Path]) -> None:
    """PEP 621 metadata and the tool tables, checked against their published schemas."""
    for name, project in matrix_projects.items():
        checked = tool("validate-pyproject", project / "pyproject.toml")
        assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"


def test_matrix_projects_are_ruff_clean(matrix_projects: dict[str, Path]) -> None:
    folders = list(matrix_projects.values())
    check = ruff("check", "--no-cache", *folders)
    assert check.returncode == 0, check.stdout
    formatted = ruff("format", "--check", "--no-cache", *folders)
    assert formatted.returncode == 0, formatted.stdout


@pytest.mark.parametrize(
    ("package", "task_type"),
    [
        ("ab", "classification"),
        ("a" * 30, "classification"),
        ("a" * 30, "forecasting"),
        ("zeta_model", "classification"),
    ],
)
def test_any_package_name_stays_lint_clean(tmp_path: Path, package: str, task_type: str) -> None:
    """Import sorting and wrapping depend on the name's length and place in the alphabet."""
    project = render(tmp_path / "project", package_name=package, task_type=task_type)
    for args in (["check"], ["format", "--check"]):
        result = ruff(*args, "--no-cache", project)
        assert result.returncode == 0, result.stdout


def test_odd_answers_stay_valid_python_toml_and_yaml(tmp_path: Path) -> None:
    """Quotes and backslashes in free-text answers must not break the files they land in."""
    project = render(
        tmp_path / "project",
        author='Ada "AL" O\'Lovelace \\ jr',
        goal='Say """why""" and \'how\' \\ with # and {braces}',
        data_source="data/my 'odd' #file.csv",
        target='price: "usd"',
    )
    tomllib.loads((project / "pyproject.toml").read_text())
    config = yaml.safe_load((project / "configs/default.yaml").read_text())
    assert (config["data"]["source"], config["data"]["target"]) == (
        "data/my 'odd' #file.csv",
        'price: "usd"',
    )
    init = project / "src/my_model/__init__.py"
    compile(init.read_text(), str(init), "exec")
    assert ruff("check", "--no-cache", project).returncode == 0


def test_rendered_markdown_passes_markdownlint(default_project: Path, markdownlint) -> None:
    """The pre-commit hook lints every Markdown file with the project's own config."""
    linted = markdownlint(sorted(default_project.rglob("*.md")))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_pre_commit_pins_the_tested_linters(default_project: Path) -> None:
    hooks = yaml.safe_load((default_project / ".pre-commit-config.yaml").read_text())["repos"]
    revs = {repo["repo"].rsplit("/", 1)[-1]: repo["rev"] for repo in hooks}
    assert revs["markdownlint-cli2"] == f"v{MARKDOWNLINT_VERSION}"
    dev = tomllib.loads((default_project / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    assert "ruff>=0.17,<0.18" in dev
    assert revs["ruff-pre-commit"].startswith("v0.17.")
