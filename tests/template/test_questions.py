"""copier.yml and capsule_questions.yml: the include, derived defaults, and every validator."""

from __future__ import annotations

import keyword
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, copier_cli, render
from jinja2 import Environment

from extensions import time_series as time_series_module
from extensions.catalogue import CatalogueExtension
from extensions.data_file import DataFileExtension
from extensions.time_series import TimeSeriesExtension, frequency_problem, time_series

CAPSULE_KEYS = {
    "goal",
    "constraints",
    "key_files",
    "risks",
    "deployment_target",
    "max_latency_ms",
    "max_model_mb",
    "interpretability",
}

# A forecasting CSV of two weekly series with gaps (made by make_data_files), and its answers.
SERIES: dict[str, Any] = {
    "task_type": "forecasting",
    "data_source": "{data}/series.csv",
    "target": "y",
    "time_column": "day",
    "series_column": "store",
}
QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text().split("\n---")[0])
# Forecasting answers a tabular project never records.
FORECASTING_KEYS = {"time_column", "series_column", "frequency", "horizon", "covariates"}

# (answers, the question the error must name, text the last line must hold)
BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    "project-digit": ({"project_name": "1model"}, "project_name", "start with a letter"),
    "project-slash": ({"project_name": "a/b"}, "project_name", "only letters, digits"),
    "project-long": ({"project_name": "m" * 65}, "project_name", "at most 64"),
    "package-case": ({"package_name": "My-Model"}, "package_name", "lowercase Python identifier"),
    "package-underscore": ({"package_name": "_model"}, "package_name", "lowercase Python"),
    "package-long": ({"package_name": "m" * 31}, "package_name", "at most 30 characters"),
    "package-keyword": ({"package_name": "class"}, "package_name", "Python keyword"),
    "package-soft-keyword": ({"package_name": "match"}, "package_name", "Python keyword"),
    "package-stdlib": ({"package_name": "json"}, "package_name", "standard-library"),
    "package-dependency": ({"package_name": "torch"}, "package_name", "dependency"),
    "package-sklearn": ({"package_name": "sklearn"}, "package_name", "dependency"),
    "author-empty": ({"author": " "}, "author", "1 to 100 printable"),
    "author-newline": ({"author": "a\nb"}, "author", "1 to 100 printable"),
    "python-old": ({"python_version": "3.9"}, "python_version", "'3.11', '3.12', '3.13'"),
    "task-unknown": ({"task_type": "survival"}, "task_type", "'regression', 'forecasting'"),
    "sample-unknown": ({"data_source": "sample:iris"}, "data_source", "sample:breast_cancer"),
    "sample-wrong-task": (
        {"data_source": "sample:diabetes"},
        "data_source",
        "regression sample and task_type",
    ),
    "data-extension": ({"data_source": "data/train.xlsx"}, "data_source", ".csv, .parquet"),
    # Data files (made by the data_dir fixture; {data} is its folder): read at question time.
    "data-absolute-missing": (
        {"data_source": "/nonexistent/x.csv"},
        "data_source",
        "no such file; an absolute path must name an existing file",
    ),
    "data-dangling-link": ({"data_source": "{data}/dangling.csv"}, "data_source", "no such file"),
    "data-folder": ({"data_source": "{data}/folder.csv"}, "data_source", "not a regular file"),
    "data-fifo": ({"data_source": "{data}/fifo.csv"}, "data_source", "not a regular file"),
    "data-binary": ({"data_source": "{data}/binary.csv"}, "data_source", "binary, not CSV"),
    "data-empty": ({"data_source": "{data}/empty.csv"}, "data_source", "empty: its first line"),
    "data-huge-header": ({"data_source": "{data}/huge.csv"}, "data_source", "longer than 1 MiB"),
    "data-latin1": ({"data_source": "{data}/latin1.csv"}, "data_source", "not UTF-8 text"),
    "data-fake-parquet": ({"data_source": "{data}/fake.parquet"}, "data_source", "not a Parquet"),
    "target-not-a-column": (
        {"data_source": "{data}/table.csv", "target": "nope"},
        "target",
        "has no such column; its columns are 'a', 'b c', 'label'",
    ),
    "target-not-in-wide-file": (
        {"data_source": "{data}/wide.csv", "target": "nope"},
        "target",
        "'c18', 'c19' and 4980 more",
    ),
    "target-escaped": (
        {"data_source": "{data}/escape.csv", "target": "nope"},
        "target",
        r"'\x1b[31mred'",
    ),
    "target-empty": ({"target": ""}, "target", "1 to 200 printable"),
    "target-not-in-sample": ({"target": "label"}, "target", "label column 'target'"),
    "metric-wrong-task": ({"primary_metric": "rmse"}, "primary_metric", "roc_auc, pr_auc"),
    "metric-forecasting-for-tabular": ({"primary_metric": "mase"}, "primary_metric", "roc_auc"),
    "metric-unknown": ({"primary_metric": "bleu"}, "primary_metric", "'roc_auc'"),
    # Forecasting: the samples belong to their task, and the questions asked only for it.
    "sample-tabular-for-series": (
        {"task_type": "forecasting", "data_source": "sample:diabetes"},
        "data_source",
        "it is a regression sample and task_type is forecasting",
    ),
    "sample-series-for-tabular": (
        {"data_source": "sample:co2"},
        "data_source",
        "it is a forecasting sample and task_type is classification",
    ),
    "metric-tabular-for-series": (
        {"task_type": "forecasting", "primary_metric": "r2"},
        "primary_metric",
        "choose one of mase, smape, rmse, mae",
    ),
    "target-not-in-series-sample": (
        {"task_type": "forecasting", "target": "co2"},
        "target",
        "name their series column 'target'",
    ),
    "time-not-in-sample": (
        {"task_type": "forecasting", "time_column": "date"},
        "time_column",
        "the bundled series name their time column 'time'",
    ),
    "time-not-a-column": (
        {**SERIES, "time_column": "when"},
        "time_column",
        "has no such column; its columns are 'day', 'store', 'y', 'price'",
    ),
    "time-is-target": ({**SERIES, "time_column": "y"}, "time_column", "it is the target"),
    "time-not-times": (
        {**SERIES, "time_column": "store"},
        "time_column",
        "'store' has 'B' in row 1, which is not a time",
    ),
    "time-mixed": (
        {**SERIES, "data_source": "{data}/mixed.csv"},
        "time_column",
        "'day' has '3' in row 3, a whole number, and '2020-01-04' in row 1",
    ),
    "series-is-target": ({**SERIES, "series_column": "y"}, "series_column", "it is the target"),
    "series-is-time": ({**SERIES, "series_column": "day"}, "series_column", "the time column"),
    "series-not-a-column": ({**SERIES, "series_column": "shop"}, "series_column", "no such column"),
    "series-in-sample": (
        {"task_type": "forecasting", "series_column": "site"},
        "series_column",
        "the bundled series are one series each",
    ),
    "series-not-given": (
        {**SERIES, "series_column": ""},
        "frequency",
        "'day' has two rows at 2020-02-01",
    ),
    "horizon-zero": ({"task_type": "forecasting", "horizon": 0}, "horizon", "1 to 10000"),
    "horizon-negative": ({"task_type": "forecasting", "horizon": -1}, "horizon", "1 to 10000"),
    "horizon-fraction": ({"task_type": "forecasting", "horizon": 1.5}, "horizon", "whole number"),
    "horizon-text": ({"task_type": "forecasting", "horizon": "x"}, "horizon", "whole number"),
    "horizon-huge": ({"task_type": "forecasting", "horizon": 10001}, "horizon", "1 to 10000"),
    "frequency-unit": (
        {"task_type": "forecasting", "frequency": "1x"},
        "frequency",
        "give a whole number and a unit: s, m (minutes), h, d, w, mo, q, y, or i",
    ),
    "frequency-not-the-sample-s": (
        {"task_type": "forecasting", "frequency": "1d"},
        "frequency",
        "sample:co2 steps by 1w",
    ),
    "frequency-irregular": (
        {**SERIES, "data_source": "{data}/irregular.csv", "series_column": ""},
        "frequency",
        "'day' is irregular for the step 1d: 2020-01-02 .. 2020-01-03 12:00 (36 hours)",
    ),
    "frequency-too-fine": (
        {**SERIES, "frequency": "1d"},
        "frequency",
        "'day' of series 'A': it would leave 69 steps missing and 9 present; the data steps by 1w",
    ),
    "frequency-off-the-grid": (
        {**SERIES, "frequency": "1mo"},
        "frequency",
        "is irregular for the step 1mo: 2020-01-04 .. 2020-01-11 (7 days)",
    ),
    "frequency-parquet-unanswered": (
        {"task_type": "forecasting", "data_source": "{data}/sales.PARQUET", "target": "y"},
        "frequency",
        "frequency '' is not allowed: give a whole number and a unit",
    ),
    "covariates-text": ({**SERIES, "covariates": "price"}, "covariates", "YAML list of column"),
    "covariates-numbers": ({**SERIES, "covariates": [1]}, "covariates", "YAML list of column"),
    "covariates-not-a-column": (
        {**SERIES, "covariates": ["price", "promo"]},
        "covariates",
        "'promo' is not a column of",
    ),
    "covariates-time": ({**SERIES, "covariates": ["day"]}, "covariates", "'day' is the time"),
    "covariates-series": ({**SERIES, "covariates": ["store"]}, "covariates", "the series column"),
    "covariates-target": ({**SERIES, "covariates": ["y"]}, "covariates", "'y' is the target"),
    "covariates-twice": (
        {**SERIES, "covariates": ["price", "price"]},
        "covariates",
        "'price' is named twice",
    ),
    "covariates-in-sample": (
        {"task_type": "forecasting", "data_source": "sample:macrodata", "covariates": ["cpi"]},
        "covariates",
        "the bundled series have no covariates known in advance",
    ),
    "tracking-unknown": ({"tracking": "neptune"}, "tracking", "'mlflow', 'wandb', 'none'"),
    "tuning-negative": ({"tuning_trials": -1}, "tuning_trials", "0 or more"),
    "tuning-fraction": ({"tuning_trials": 2.5}, "tuning_trials", "whole number of trials"),
    "tuning-text": ({"tuning_trials": "many"}, "tuning_trials", "whole number of trials"),
    "tuning-bool": ({"tuning_trials": True}, "tuning_trials", "whole number of trials"),
    "backend-unknown": ({"agent_backend": "gpt"}, "agent_backend", "'offline', 'claude'"),
    "model-not-claude": (
        {"agent_backend": "claude", "claude_model": "gpt-5"},
        "claude_model",
        "Claude model id",
    ),
    "budget-zero": ({"agent_backend": "claude", "budget_usd": 0}, "budget_usd", "above 0"),
    "budget-huge": ({"agent_backend": "claude", "budget_usd": 5000}, "budget_usd", "at most 1000"),
    "budget-text": ({"agent_backend": "claude", "budget_usd": "lots"}, "budget_usd", "above 0"),
    "torch-other": ({"torch_spec": "numpy"}, "torch_spec", "give 'torch'"),
    "torch-injection": ({"torch_spec": "torch; rm -rf ~"}, "torch_spec", "give 'torch'"),
    "goal-empty": ({"goal": " "}, "goal", "1 to 1000"),
    "constraints-text": ({"constraints": "be fast"}, "constraints", "YAML list"),
    "constraints-numbers": ({"constraints": [1, 2]}, "constraints", "YAML list"),
    "key-files-parent": ({"key_files": ["src/a.py", "../secrets"]}, "key_files", "'../secrets'"),
    "key-files-absolute": ({"key_files": ["/etc/passwd"]}, "key_files", "outside the project"),
    "risks-mapping": ({"risks": {"a": "b"}}, "risks", "YAML list"),
    "deployment-unknown": ({"deployment_target": "cloud"}, "deployment_target", "'batch'"),
    "latency-negative": ({"max_latency_ms": -1}, "max_latency_ms", "positive number"),
    "latency-text": ({"max_latency_ms": "fast"}, "max_latency_ms", "positive number"),
    "size-negative": ({"max_model_mb": -5}, "max_model_mb", "positive number"),
    "interpretability-unknown": ({"interpretability": "maybe"}, "interpretability", "'required'"),
}
# Capsule-style cases go through --data-file, the rest through --data.
DATA_FILE_CASES = {case for case, (answers, _, _) in BAD.items() if CAPSULE_KEYS & set(answers)}

GOOD: list[dict[str, Any]] = [
    {"project_name": "Fraud Detector 2.0", "author": 'Ada O\'Lovelace "AL"'},
    {"package_name": "churn"},
    {"package_name": "matches"},
    {"task_type": "regression"},
    {"data_source": "data/train.csv", "target": "label"},  # relative, not there yet: accepted
    {"data_source": "{data}/table.csv", "target": "b c"},
    {"data_source": "{data}/link.csv", "target": "label"},  # a symlink to table.csv
    {"data_source": "{data}/with 'quotes' and spaces/t.CSV", "target": "label"},
    {"data_source": "{data}/bom.csv", "target": "label"},
    {"data_source": "{data}/sales.PARQUET", "target": "y", "primary_metric": "pr_auc"},
    {"task_type": "regression", "primary_metric": "r2", "tracking": "wandb"},
    {"tuning_trials": 30},
    {"agent_backend": "claude", "claude_model": "claude-opus-5-5", "budget_usd": 0.5},
    {"torch_spec": "torch>=2.3,<3"},
    {"constraints": ["no PII"], "key_files": ["src/a..b.py", "..hidden"], "risks": ["late labels"]},
    {"deployment_target": "edge", "max_latency_ms": 5, "max_model_mb": 2.5},
    # Forecasting (these render a whole forecasting project).
    {"task_type": "forecasting", "data_source": "sample:sunspots", "horizon": 11},
    {"task_type": "forecasting", "data_source": "sample:macrodata", "frequency": "3mo"},
    {**SERIES, "covariates": ["price"], "primary_metric": "smape", "horizon": 8},
    {**SERIES, "frequency": "7d"},  # the inferred 1w, named otherwise
    {
        "task_type": "forecasting",
        "data_source": "{data}/years.csv",
        "target": "spots",
        "time_column": "year",
    },
    # Parquet is not read at question time: the frequency must be answered.
    {
        "task_type": "forecasting",
        "data_source": "{data}/sales.PARQUET",
        "target": "y",
        "frequency": "1d",
    },
    {"task_type": "forecasting", "data_source": "data/later.csv", "frequency": "1h"},
]


def make_data_files(folder: Path) -> Path:
    """The data files the tables name as {data}: good ones and every kind of bad one."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "table.csv").write_text("a,b c,label\n1,2,0\n3,4,1\n")
    (folder / "link.csv").symlink_to(folder / "table.csv")
    (folder / "dangling.csv").symlink_to(folder / "gone.csv")
    (folder / "folder.csv").mkdir()
    os.mkfifo(folder / "fifo.csv")  # opening it would block: it must not be opened
    (folder / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "empty.csv").write_text("")
    (folder / "huge.csv").write_text("x" * (2 << 20))
    (folder / "latin1.csv").write_bytes("café,label\n1,0\n".encode("latin-1"))
    (folder / "wide.csv").write_text(",".join(f"c{i}" for i in range(5000)) + "\n")
    (folder / "escape.csv").write_text("\x1b[31mred,label\n1,0\n")
    (folder / "bom.csv").write_text("\ufefflabel,x\n1,0\n")
    (folder / "fake.parquet").write_text("a,b\n1,2\n")
    (folder / "sales.PARQUET").write_bytes(b"PAR1" + bytes(16) + b"PAR1")
    (folder / "series.csv").write_text(series_csv())
    (folder / "irregular.csv").write_text(
        "day,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03 12:00,3\n2020-01-04,4\n2020-01-05,5\n"
    )
    (folder / "mixed.csv").write_text(
        "day,store,y,price\n2020-01-04,A,1,0\n2020-01-11,A,2,0\n3,A,3,0\n"
    )
    (folder / "years.csv").write_text(
        "spots,year\n" + "".join(f"{n % 11},{y}.0\n" for n, y in enumerate(range(1700, 1800)))
    )
    odd = folder / "with 'quotes' and spaces"
    odd.mkdir()
    (odd / "t.CSV").write_text("label,x\n0,1\n")
    return folder


def series_csv() -> str:
    """Two weekly series (Saturdays) of different lengths, rows unsorted, a few weeks missing."""
    saturdays = [date(2020, 1, 4) + timedelta(weeks=k) for k in range(12)]
    rows = [(day, "A") for k, day in enumerate(saturdays) if k not in (3, 7, 8)]
    rows += [(day, "B") for k, day in enumerate(saturdays[4:]) if k != 2]
    lines = [f"{day},{store},{k},{k % 3}" for k, (day, store) in enumerate(reversed(rows))]
    return "day,store,y,price\n" + "\n".join(lines) + "\n"


def placed(answers: dict[str, Any], data: Path) -> dict[str, Any]:
    """The answers with {data} replaced by the data files' folder."""
    return {
        key: value.replace("{data}", str(data)) if isinstance(value, str) else value
        for key, value in answers.items()
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data_files(tmp_path_factory.mktemp("data"))


def _cli_args(case: str, dest: Path, data: Path) -> list[str | Path]:
    answers = placed(BAD[case][0], data)
    # --trust: the data checks load a Jinja extension (extensions/data_file.py).
    args: list[str | Path] = ["copy", "--trust", "--defaults", "--skip-tasks", "--vcs-ref", "HEAD"]
    if case in DATA_FILE_CASES:
        capsule = dest.parent / f"{case}.yml"
        capsule.write_text(yaml.safe_dump(answers))
        args += ["--data-file", capsule]
    else:
        for key, value in answers.items():
            text = value if isinstance(value, str) else yaml.safe_dump(value).strip()
            args += ["--data", f"{key}={text.removesuffix(chr(10) + '...')}"]
    return [*args, ROOT, dest]


@pytest.fixture(scope="module")
def refused(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> dict[str, tuple[int, str, Path]]:
    """Run every bad case through Copier's CLI once, two at a time (one per core)."""
    base = tmp_path_factory.mktemp("refused")

    def attempt(case: str) -> tuple[int, str, Path]:
        dest = base / case / "project"
        dest.parent.mkdir()
        result = copier_cli(*_cli_args(case, dest, data_dir))
        return result.returncode, result.stdout + result.stderr, dest

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(BAD, pool.map(attempt, BAD), strict=True))


@pytest.mark.parametrize("case", list(BAD))
def test_bad_answer_is_refused_with_a_clear_last_line(
    refused: dict[str, tuple[int, str, Path]], case: str
) -> None:
    code, output, dest = refused[case]
    _, question, expected = BAD[case]
    last_line = output.strip().splitlines()[-1]
    assert code != 0
    assert f"'{question}'" in last_line, last_line
    assert expected in last_line, last_line
    assert not dest.exists(), "a refused answer must leave nothing behind"


def test_refusal_keeps_an_existing_destination_as_it_was(tmp_path: Path) -> None:
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    result = copier_cli("copy", "--defaults", "--data", "package_name=json", ROOT, dest)
    assert result.returncode != 0
    assert [path.name for path in dest.iterdir()] == ["notes.txt"]
    assert (dest / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("answers", GOOD, ids=lambda answers: ",".join(answers))
def test_good_answers_render(tmp_path: Path, data_dir: Path, answers: dict[str, Any]) -> None:
    answers = placed(answers, data_dir)
    project = render(tmp_path / "project", **answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for key, value in answers.items():
        assert recorded[key] == value


@pytest.mark.parametrize(
    ("source", "target", "refusal"),
    [
        ("data/train.csv", "label", None),
        ("data/train.csv", "nope", "its columns are 'a', 'label'"),
        # Beside the destination, which does not exist yet: '..' is read as the project will.
        ("../beside.csv", "label", None),
        ("../beside.csv", "nope", "its columns are 'a', 'label'"),
    ],
)
def test_a_relative_data_path_is_read_from_the_destination(
    tmp_path: Path, source: str, target: str, refusal: str | None
) -> None:
    dest = tmp_path / "project"
    if source.startswith("data/"):
        (dest / "data").mkdir(parents=True)
    (dest / source).parent.resolve().mkdir(parents=True, exist_ok=True)
    (dest / source).resolve().write_text("a,label\n1,0\n")
    before = sorted(path.name for path in tmp_path.rglob("*"))
    answers = ["--data", f"data_source={source}", "--data", f"target={target}"]
    result = copier_cli("copy", "--trust", "--defaults", "--skip-tasks", *answers, ROOT, dest)
    if refusal is None:
        assert result.returncode == 0, result.stderr
        assert "wait" not in result.stdout + result.stderr
    else:
        assert result.returncode != 0
        assert refusal in result.stderr.strip().splitlines()[-1]
        assert sorted(path.name for path in tmp_path.rglob("*")) == before


def test_a_relative_data_path_not_there_yet_is_accepted_and_waited_for(tmp_path: Path) -> None:
    dest = tmp_path / "project"
    answers = ["--data", "data_source=data/later.csv", "--data", "target=y"]
    result = copier_cli("copy", "--trust", "--defaults", "--skip-tasks", *answers, ROOT, dest)
    assert result.returncode == 0, result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert f"data/later.csv is not in {dest} yet: the design phases wait for it" in said


def test_capsule_questions_reach_the_answers_file(default_project: Path) -> None:
    """Copier ignores a missing `!include` silently: this is what notices."""
    recorded = yaml.safe_load((default_project / ".copier-answers.yml").read_text())
    assert set(recorded) >= CAPSULE_KEYS


def test_a_capsule_data_file_fills_the_answers(tmp_path: Path) -> None:
    capsule = {
        "goal": "Flag malignant tumours for a second read",
        "constraints": ["false negatives cost ten times false positives"],
        "key_files": ["src/my_model/data.py"],
        "risks": ["scanner drift"],
        "deployment_target": "realtime",
        "interpretability": "required",
        "primary_metric": "pr_auc",
    }
    (path := tmp_path / "capsule.yml").write_text(yaml.safe_dump(capsule))
    dest = tmp_path / "project"
    result = copier_cli(
        "copy",
        "--trust",
        "--defaults",
        "--skip-tasks",
        "--data",
        "setup_env=false",
        "--data-file",
        path,
        ROOT,
        dest,
    )
    assert result.returncode == 0, result.stderr
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert {key: recorded[key] for key in capsule} == capsule
    assert recorded["max_latency_ms"] == 50  # derived from deployment_target


@pytest.mark.parametrize(
    ("answers", "derived"),
    [
        ({"project_name": "Fraud Detector 2.0"}, {"package_name": "fraud_detector_2_0"}),
        ({"task_type": "regression"}, {"data_source": "sample:diabetes", "primary_metric": "rmse"}),
        ({"deployment_target": "edge"}, {"max_latency_ms": 20, "max_model_mb": 10}),
        (
            {"task_type": "forecasting"},
            {
                "data_source": "sample:co2",
                "primary_metric": "mase",
                "time_column": "time",
                "series_column": "",
                "frequency": "1w",
                "horizon": 52,
                "covariates": [],
            },
        ),
        (
            {"task_type": "forecasting", "data_source": "sample:sunspots"},
            {"frequency": "1y", "horizon": 2},
        ),
        (
            {"task_type": "forecasting", "data_source": "sample:macrodata"},
            {"frequency": "1q", "horizon": 4},
        ),
    ],
)
def test_defaults_follow_earlier_answers(
    tmp_path: Path, answers: dict[str, Any], derived: dict[str, Any]
) -> None:
    project = render(tmp_path / "project", **answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: recorded[key] for key in derived} == derived


def _validator_words(question: str, variable: str) -> set[str]:
    """The words of a `{% set variable = "…".split() %}` list in a question's validator."""
    validator = yaml.safe_load((ROOT / "copier.yml").read_text().split("\n---")[0])[question][
        "validator"
    ]
    match = re.search(rf'set {variable} = "([^"]*)"\.split\(\)', validator)
    assert match, f"no {variable} list in the {question} validator"
    return set(match.group(1).split())


def test_package_name_lists_are_complete() -> None:
    """The validator's lists cover this interpreter's stdlib and keywords."""
    stdlib = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    assert stdlib <= _validator_words("package_name", "stdlib")
    soft = set(getattr(keyword, "softkwlist", [])) - {"_"}
    expected = {word for word in keyword.kwlist + sorted(soft) if word.islower()}
    assert expected <= _validator_words("package_name", "keywords")


def test_tasks_are_argv_lists_that_run_on_copy_only() -> None:
    settings = next(yaml.safe_load_all((ROOT / "copier.yml").read_text().replace("!include", "")))
    assert settings["_subdirectory"] == "template"
    for task in settings["_tasks"]:
        assert isinstance(task["command"], list), "a string task would go through a shell"
        assert "_copier_operation == 'copy'" in task["when"]


def test_a_csv_s_frequency_is_inferred_as_the_default(tmp_path: Path, data_dir: Path) -> None:
    project = render(tmp_path / "project", **placed(SERIES, data_dir))
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (recorded["frequency"], recorded["horizon"]) == ("1w", 12)


def test_a_tabular_project_records_no_forecasting_answer(default_project: Path) -> None:
    recorded = yaml.safe_load((default_project / ".copier-answers.yml").read_text())
    assert not FORECASTING_KEYS & set(recorded)
    assert recorded["tuning_trials"] == 0  # asked, and no tuning by default


def test_a_forecasting_project_is_not_asked_for_tuning_trials(tmp_path: Path) -> None:
    """The forecasting project has no tune command: the question is hidden, never recorded."""
    project = render(tmp_path / "project", task_type="forecasting", tuning_trials=5)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert "tuning_trials" not in recorded


def test_the_extension_infers_a_csv_s_frequency_and_gaps(data_dir: Path) -> None:
    seen = time_series(str(data_dir / "series.csv"), "/", "day", "store")
    assert seen["frequency"] == "1w"
    assert seen["gaps"] == {
        "count": 3,
        "missing_steps": 4,
        "first": [
            "A: 2020-01-25 (1 step)",
            "A: 2020-02-22 .. 2020-02-29 (2 steps)",
            "B: 2020-02-15 (1 step)",
        ],
    }
    assert (seen["problem"], seen["note"], seen["rows"]) == ("", "", 16)
    assert frequency_problem("1w", str(data_dir / "series.csv"), "/", "day", "store") == ""


def test_the_extension_reads_no_parquet_and_no_missing_file(data_dir: Path) -> None:
    for source in (str(data_dir / "sales.PARQUET"), "data/later.csv", "sample:co2"):
        seen = time_series(source, str(data_dir), "time")
        assert (seen["frequency"], seen["problem"]) == (None, "")
        assert frequency_problem("1d", source, str(data_dir), "time") == ""


def test_the_extension_reads_a_huge_csv_only_in_part(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row limit is scaled down: the first rows decide, and the answer says so."""
    monkeypatch.setattr(time_series_module, "ROW_LIMIT", 8)
    monkeypatch.setattr(time_series_module, "CHECK_EVERY", 4)
    time_series_module._read.cache_clear()
    time_series_module._infer.cache_clear()
    try:
        seen = time_series(str(data_dir / "series.csv"), "/", "day", "store")
    finally:
        time_series_module._read.cache_clear()
        time_series_module._infer.cache_clear()
    assert seen["rows"] == 8
    assert seen["note"] == "read the first 8 rows; the project checks the rest"


@pytest.mark.parametrize(
    ("answers", "shown"),
    [
        ({"data_source": "sample:co2"}, "sample:co2 steps by 1w"),
        (SERIES, "inferred from the data, 1w (3 gaps (4 missing steps): A: 2020-01-25 (1 step)"),
        ({**SERIES, "data_source": "{data}/irregular.csv", "series_column": ""}, "(36 hours)"),
        ({**SERIES, "data_source": "{data}/sales.PARQUET"}, "cannot be read now, so give it"),
    ],
)
def test_the_frequency_help_shows_what_the_data_says(
    data_dir: Path, answers: dict[str, Any], shown: str
) -> None:
    """The help Copier prints above the question (rendered with the template's extensions)."""
    environment = Environment(
        extensions=[CatalogueExtension, DataFileExtension, TimeSeriesExtension]
    )
    context = {"task_type": "forecasting", "target": "y", "time_column": "day", "series_column": ""}
    context |= placed(answers, data_dir) | {"_copier_conf": {"dst_path": str(data_dir)}}
    help_text = environment.from_string(QUESTIONS["frequency"]["help"]).render(context)
    assert shown in help_text
