"""The static review's rules on seeded bad code, on their good twins, and on the template."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from ml_phases import review
from ml_phases.backends.base import Context
from ml_phases.backends.offline.validate import ruff_findings
from ml_phases.project import Project, ToolError

BAD = {
    "eval-mode": (
        "def evaluate(model, loader):\n    return [model(x) for x, _ in loader]\n",
        "import torch\n\n\n@torch.no_grad()\ndef evaluate(model, loader):\n"
        "    model.eval()\n    return [model(x) for x, _ in loader]\n",
    ),
    "fit-before-split": (
        "from sklearn.model_selection import train_test_split\n\n\n"
        "def prepare(scaler, x, y):\n    x = scaler.fit_transform(x)\n"
        "    return train_test_split(x, y, random_state=0)\n",
        "from sklearn.model_selection import train_test_split\n\n\n"
        "def prepare(scaler, x, y):\n    parts = train_test_split(x, y, random_state=0)\n"
        "    scaler.fit(parts[0])\n    return parts\n",
    ),
    "host-sync-per-step": (
        "def fit(model, batches, optimizer):\n    for x, y in batches:\n"
        "        loss = model(x).sum()\n        loss.backward()\n        optimizer.step()\n"
        "        print(loss.item())\n",
        "def fit(model, batches, optimizer):\n    total = 0\n    for x, y in batches:\n"
        "        loss = model(x).sum()\n        loss.backward()\n        optimizer.step()\n"
        "        total = total + loss.detach()\n    print(total.item())\n",
    ),
    "gather-to-one-rank": (
        "import torch.distributed as dist\n\n\ndef collect(dataset):\n"
        "    parts = [None] * dist.get_world_size()\n"
        "    dist.all_gather_object(parts, dataset)\n    return parts\n",
        "import torch.distributed as dist\n\n\ndef collect(predictions):\n"
        "    parts = [None] * dist.get_world_size()\n"
        "    dist.all_gather_object(parts, predictions)\n    return parts\n",
    ),
    "unseeded": (
        "import numpy as np\n\nrng = np.random.default_rng()\n",
        "import numpy as np\n\nrng = np.random.default_rng(0)\n",
    ),
}


def findings(tmp_path: Path, source: str) -> list[review.Finding]:
    (tmp_path / "code.py").write_text(source)
    return review.review(tmp_path, ["code.py"])


@pytest.mark.parametrize("rule", sorted(BAD))
def test_each_rule_finds_its_mistake_and_not_the_fix(tmp_path: Path, rule: str) -> None:
    bad, good = BAD[rule]
    found = review.reported(findings(tmp_path, bad))
    assert [f.rule for f in found] == [rule]
    assert found[0].where.startswith("code.py:")
    assert found[0].confidence >= review.THRESHOLD
    assert not review.reported(findings(tmp_path, good))


@pytest.mark.parametrize(
    ("source", "confidence"),
    [
        ("def predict(model, x):\n    model.eval()\n    return model(x)\n", 80),  # no no_grad
        ("def latest_state(model, x):\n    return model(x)\n", None),  # 'test' inside a word
        (
            "import torch\n\n\ndef score(net, x):\n    with torch.no_grad():\n"
            "        return net(x)\n",
            70,
        ),  # no eval(): often the caller's job, so below the threshold
        (
            "from sklearn.model_selection import train_test_split\n\nx = train_test_split([1])\n",
            90,
        ),
        ("import random\n\nrandom.shuffle([1, 2])\n", 80),
        ("from numpy.random import default_rng\n\nrng = default_rng()\n", 90),
        (
            "from sklearn.model_selection import train_test_split\n\n"
            "x = train_test_split([1], shuffle=False)\n",
            None,
        ),
        (
            "def fit(m, b, o):\n    for s, x in enumerate(b):\n        m(x).backward()\n"
            "        o.step()\n        if s % 50 == 0:\n            print(m(x).item())\n",
            None,
        ),
        (
            "scaled = scaler.fit_transform(x)\nparts = train_test_split(scaled, random_state=0)\n",
            85,
        ),
        ("import random\n\nrandom.seed(0)\nrandom.shuffle([1, 2])\n", 60),  # seeded: not reported
        ("import torch\n\nnoise = torch.randn(3)\n", 80),
        (
            "import torch\n\nx = torch.randn(3, generator=torch.Generator())\n",
            None,
        ),
        ("from sklearn.model_selection import KFold\n\nfolds = KFold(5, shuffle=True)\n", 85),
    ],
)
def test_confidence_follows_the_evidence(
    tmp_path: Path, source: str, confidence: int | None
) -> None:
    found = findings(tmp_path, source)
    assert [f.confidence for f in found] == ([confidence] if confidence else [])


def test_syntax_errors_are_findings_not_crashes(tmp_path: Path) -> None:
    (found,) = findings(tmp_path, "def broken(:\n")
    assert (found.rule, found.line, found.confidence) == ("syntax", 1, 100)


def test_a_nested_step_loop_does_not_flag_the_epoch_loop(tmp_path: Path) -> None:
    source = (
        "def fit(model, epochs, batches, optimizer):\n    for epoch in range(epochs):\n"
        "        for x in batches:\n            model(x).sum().backward()\n"
        "            optimizer.step()\n        print(model.weight.sum().item())\n"
    )
    assert findings(tmp_path, source) == []


STEP = (
    "def fit(model, batches, optimizer, loss_fn, lr):\n"
    "    for step, (x, y) in enumerate(batches):\n"
    "        out = model(x)\n"
    "        loss = loss_fn(out, y)\n"
    "        loss.backward()\n"
    "        optimizer.step()\n"
    "        {line}\n"
)
SYNCED_AT = 7  # the line STEP's {line} lands on


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("total = float(loss)", "`float(loss)`"),
        ("print(loss)", "`print(loss)`"),
        ("print(f'step {step}: {loss}')", "`print(loss)`"),
        ("seen = int(out.argmax())", "`int(out.argmax())`"),
        ("print(loss.item())", "`.item()`"),
        ("print(x.shape, step)", None),  # metadata and the enumerate() count: host values
        ("rows = float(len(x))", None),
        ("rate = float(lr)", None),  # not a tensor of the step
        ("print(f'{x.size(0)} rows')", None),
    ],
)
def test_a_host_sync_in_the_step_is_found_at_its_line(
    tmp_path: Path, line: str, flagged: str | None
) -> None:
    found = review.reported(findings(tmp_path, STEP.format(line=line)))
    expected = [("host-sync-per-step", SYNCED_AT)] if flagged else []
    assert [(f.rule, f.line) for f in found] == expected
    if flagged:
        assert found[0].message.startswith(f"{flagged} in the training step waits")


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import torch.distributed as dist\n\ndist.gather(loss, parts, dst=0)\n", "rank 0"),
        ("import torch.distributed as dist\n\ndist.gather(loss, parts)\n", "rank 0"),
        ("import torch\n\ntorch.distributed.gather_object(s, out, dst=1)\n", "rank 1"),
        ("from torch.distributed import gather_object\n\ngather_object(s, out)\n", "rank 0"),
        ("from torch import distributed as d\n\nd.gather(t, out)\n", "rank 0"),
        ("import torch.distributed as dist\n\ndist.all_gather(parts, x)\n", "`x`"),
        ("import torch.distributed as dist\n\ndist.all_gather(parts, batch_x)\n", "`batch_x`"),
        (
            "import torch.distributed as dist\n\n"
            "dist.all_gather_into_tensor(out, self.train_data.to(device))\n",
            "`self.train_data`",
        ),
        (
            "import torch.distributed as dist\n\ndist.all_gather(parts, tensor=frame[0])\n",
            "`frame`",
        ),
        (
            "import torch\nimport torch.distributed as dist\n\n"
            "dist.all_gather_object(parts, torch.cat(rows))\n",
            "`rows`",
        ),
        # Results, not data: how validation metrics are reduced across ranks.
        ("import torch.distributed as dist\n\ndist.all_gather(parts, predictions)\n", None),
        ("import torch.distributed as dist\n\ndist.all_gather_object(out, scores)\n", None),
        (
            "import torch.distributed as dist\n\n"
            "dist.all_gather(parts, predictions.to(x.device))\n",
            None,
        ),
        ("import torch.distributed as dist\n\ndist.all_reduce(x)\n", None),
        # Indexing a tensor, not a collective.
        ("import torch\n\npicked = torch.gather(x, 1, index)\n", None),
        ("picked = data.gather(1, index)\n", None),
    ],
)
def test_gathering_onto_one_rank_is_found_and_gathering_results_is_not(
    tmp_path: Path, source: str, flagged: str | None
) -> None:
    found = review.reported(findings(tmp_path, source))
    assert [f.rule for f in found] == (["gather-to-one-rank"] if flagged else [])
    if flagged:
        assert found[0].area == "performance"
        assert found[0].line == source.count("\n")  # the call is the last line
        assert flagged in found[0].message


def test_the_templates_own_code_has_no_findings() -> None:
    package = ROOT / "template/src/{{package_name}}"
    paths = sorted(path.name for path in package.glob("*.py"))
    assert review.reported(review.review(package, paths)) == []


# A forecasting project's rules: each seeded mistake (the line it must be found on) and its fix.
SERIES_BAD = {
    "shuffle=True": (
        "from sklearn.model_selection import KFold\n\n"
        "folds = KFold(n_splits=5, shuffle=True, random_state=0)\n",
        3,
        "from sklearn.model_selection import TimeSeriesSplit\n\n"
        "folds = TimeSeriesSplit(n_splits=5)\n",
    ),
    "KFold": (
        "from sklearn.model_selection import KFold\n\nfolds = KFold(n_splits=5)\n",
        3,
        "from sklearn.model_selection import TimeSeriesSplit\n\n"
        "folds = TimeSeriesSplit(n_splits=5)\n",
    ),
    "ShuffleSplit": (
        "from sklearn.model_selection import ShuffleSplit\n\n"
        "splits = ShuffleSplit(n_splits=3, random_state=0)\n",
        3,
        "def cutoffs(n, horizon):\n    return list(range(n - 3 * horizon, n, horizon))\n",
    ),
    "train_test_split": (
        "from sklearn.model_selection import train_test_split\n\n\n"
        "def parts(frame):\n    return train_test_split(frame, test_size=0.2, random_state=0)\n",
        5,
        "from sklearn.model_selection import train_test_split\n\n\n"
        "def parts(frame):\n    return train_test_split(frame, test_size=0.2, shuffle=False)\n",
    ),
    "sample(fraction=1)": (
        "def mixed(frame):\n    return frame.sample(fraction=1, seed=0)\n",
        2,
        "def recent(frame, n):\n    return frame.tail(n)\n",
    ),
    "sample(frac=1)": (
        "def mixed(frame):\n    return frame.sample(frac=1, random_state=0)\n",
        2,
        "def some(frame):\n    return frame.sample(frac=0.1, random_state=0)\n",
    ),
    "rng.permutation": (
        "import numpy as np\n\n\ndef order(frame):\n"
        "    rng = np.random.default_rng(0)\n    return frame[rng.permutation(len(frame))]\n",
        6,
        "import numpy as np\n\n\ndef order(frame):\n    return frame[np.argsort(frame['time'])]\n",
    ),
    "np.random.permutation": (
        "import numpy as np\n\nnp.random.seed(0)\nrows = np.random.permutation(100)\n",
        4,
        "import numpy as np\n\nrows = np.arange(100)\n",
    ),
    "scaler on all rows": (
        "from sklearn.preprocessing import StandardScaler\n\n\n"
        "def scaled(frame):\n    return StandardScaler().fit_transform(frame)\n",
        5,
        "from sklearn.preprocessing import StandardScaler\n\n\n"
        "def scaled(frame, cut):\n    scaler = StandardScaler().fit(frame[:cut])\n"
        "    return scaler.transform(frame)\n",
    ),
    "a scaler variable": (
        "def scaled(scaler, values):\n    scaler.fit(values)\n    return scaler\n",
        2,
        "def scaled(scaler, train_values):\n    scaler.fit(train_values)\n    return scaler\n",
    ),
    "shift(-k)": (
        "import polars as pl\n\n\ndef features(frame, k):\n"
        "    return frame.with_columns(pl.col('y').shift(-k).alias('next'))\n",
        5,
        "import polars as pl\n\n\ndef features(frame, k):\n"
        "    return frame.with_columns(pl.col('y').shift(k).alias('lag'))\n",
    ),
    "shift(periods=-1)": (
        "def features(frame):\n    frame['next'] = frame['y'].shift(periods=-1)\n"
        "    return frame\n",
        2,
        "def features(frame):\n    frame['lag'] = frame['y'].shift(periods=1)\n    return frame\n",
    ),
}
SERIES_RULES = {"shuffled-series", "scaled-on-all-rows", "future-shift"}


def series_findings(tmp_path: Path, source: str, forecasting: bool = True) -> list[review.Finding]:
    (tmp_path / "code.py").write_text(source)
    found = review.reported(review.review(tmp_path, ["code.py"], forecasting=forecasting))
    return [f for f in found if f.rule in SERIES_RULES]


@pytest.mark.parametrize("pattern", sorted(SERIES_BAD))
def test_a_forecasting_project_s_time_series_mistakes_are_found_at_their_line(
    tmp_path: Path, pattern: str
) -> None:
    bad, line, good = SERIES_BAD[pattern]
    found = series_findings(tmp_path, bad)
    assert [f.where for f in found] == [f"code.py:{line}"], found
    assert found[0].area == "ML practice"
    assert not series_findings(tmp_path, good)


@pytest.mark.parametrize("pattern", sorted(SERIES_BAD))
def test_a_tabular_project_is_not_held_to_the_time_series_rules(
    tmp_path: Path, pattern: str
) -> None:
    bad, _, _ = SERIES_BAD[pattern]
    assert not series_findings(tmp_path, bad, forecasting=False)


def test_the_templates_forecasting_code_has_no_findings() -> None:
    """The modules only a forecasting project gets (named for the Copier condition), held to
    every rule: the project's own clean code is not flagged."""
    package = ROOT / "template/src/{{package_name}}"
    paths = sorted(
        path.name
        for path in package.iterdir()
        if "task_type == 'forecasting'" in path.name and ".py" in path.name
    )
    assert len(paths) >= 4
    assert review.reported(review.review(package, paths, forecasting=True)) == []


def ruff_project(root: Path, source: str) -> Context:
    """A project whose one module holds `source`, checked by the real ruff of this venv."""
    (root / "src/churn").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "src/churn/model.py").write_text(source)
    (root / ".copier-answers.yml").write_text("package_name: churn\n")
    (root / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F"]\n')
    return Context(Project.open(root), {})


def test_an_unformatted_file_is_a_finding_with_current_ruff(tmp_path: Path) -> None:
    """ruff 0.17 says `unformatted: File would be reformatted`, not `Would reformat:`; the
    review reads ruff's JSON instead of its prose."""
    ctx = ruff_project(tmp_path, 'x = {  "a":1}\n')
    found = ruff_findings(ctx)
    assert [(f.rule, f.path, f.line) for f in found] == [
        ("ruff format (safe fix)", "src/churn/model.py", 1)
    ]


def test_a_lint_finding_comes_with_its_line(tmp_path: Path) -> None:
    ctx = ruff_project(tmp_path, "import os\n\n\nx = 1\n")
    assert [(f.rule, f.line) for f in ruff_findings(ctx)] == [("ruff F401 (safe fix)", 1)]


def test_a_ruff_that_cannot_check_is_an_error_not_zero_findings(tmp_path: Path) -> None:
    ctx = ruff_project(tmp_path, "x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 'wide'\n")  # invalid
    with pytest.raises(ToolError, match="ruff check could not check the project"):
        ruff_findings(ctx)
