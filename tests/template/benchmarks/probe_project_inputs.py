"""Fault probes on a generated project from outside: odd data and config through its real CLI.

    .venv/bin/python tests/template/benchmarks/probe_project_inputs.py <rendered project with .venv>

Each probe runs one command in a fresh process, as a user would, and holds when it exits with
the expected code (0, or the error class's own code) and, for an error, one line on stderr and
no traceback. Prints one verdict per probe and the count that held (issue 11, items 14-19).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

# Odd files, written with the project's own polars (the dev venv has none). A duplicated
# Parquet column is made by renaming bytes: polars refuses to write one.
MAKE_DATA = """
import datetime as dt, sys
from pathlib import Path
import numpy as np, polars as pl
d = Path(sys.argv[1]); rng = np.random.default_rng(0); n = 200
x1, x2 = rng.normal(size=n), rng.normal(size=n)
base = pl.DataFrame({"f1": x1, "f2": x2, "label": (x1 + x2 > 0).astype(int)})
base.write_csv(d / "good.csv")
every = lambda k, value, col: pl.when(pl.int_range(pl.len()) % k == 0).then(value).otherwise(col)
base.drop("label").with_columns(f1=every(50, pl.lit("abc"), pl.col("f1").cast(pl.String))
    ).write_csv(d / "text_in_number.csv")
header = "f1,f2,f1,label\\n"
(d / "dup.csv").write_text(header + "".join(f"{a},{b},{a},{c}\\n" for a, b, c in base.rows()))
base.rename({"f2": "fX"}).write_parquet(d / "dup.parquet")
(d / "dup.parquet").write_bytes((d / "dup.parquet").read_bytes().replace(b"fX", b"f1"))
base.with_columns(f1=every(20, float("inf"), pl.col("f1"))).write_csv(d / "inf.csv")
base.with_columns(label=every(50, float("-inf"), pl.col("f1") * 2)).write_csv(d / "inf_target.csv")
base.with_columns(
    tod=pl.Series([dt.time(i % 24, i % 60) for i in range(n)]),
    dur=pl.Series([dt.timedelta(seconds=i) for i in range(n)]),
).write_parquet(d / "times.parquet")
base.with_columns(tags=pl.Series([[i, i + 1] for i in range(n)])).write_parquet(d / "list.parquet")
pl.DataFrame({"f1": np.arange(12.0), "label": list("aaabbbcccddd")}).write_csv(d / "tiny.csv")
base.rename({"label": "1"}).write_csv(d / "numeric_name.csv")
"""


def probe(project: Path, name: str, want: int, args: list[str], cwd: Path | None = None) -> bool:
    """Run `<pkg> args` and judge it; prints one line."""
    package = next(project.glob("src/*/cli.py")).parent.name
    python = project / ".venv" / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", package, *args],
        cwd=cwd or project,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stderr.strip().splitlines()
    clean = "Traceback" not in result.stderr
    held = result.returncode == want and clean and (want == 0 or len(lines) == 1)
    shown = (lines[-1] if lines else "")[:150]
    verdict = "held" if held else "FAILED"
    print(f"{name:26} exit {result.returncode:<3} {verdict:6} {shown}", flush=True)
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    project = parser.parse_args().project.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        d, out = Path(tmp), Path(tmp) / "out"
        python = project / ".venv" / "bin" / "python"
        subprocess.run([str(python), "-c", MAKE_DATA, str(d)], check=True)
        config = ["-c", str(project / "configs" / "default.yaml")]
        good = [
            *config,
            f"data.source={d / 'good.csv'}",
            "data.target=label",
            "task=classification",
            "primary_metric=roc_auc",
            f"output_dir={out}",
            "tracking.backend=none",
            "train.epochs=2",
            "model.mlp.hidden=[8]",
        ]
        results = [probe(project, "train", 0, ["train", *good])]
        run = (out / "latest_run").read_text().strip()
        on = lambda name: f"data.source={d / name}"  # noqa: E731
        (d / "a_file").write_text("")
        probes: list[tuple[str, int, list[str]]] = [
            (
                "predict text in number",
                12,
                [
                    "predict",
                    str(d / "text_in_number.csv"),
                    "--run",
                    run,
                    "--output",
                    str(d / "p.csv"),
                ],
            ),
            ("profile duplicated csv", 5, ["profile", *good, on("dup.csv")]),
            ("risks duplicated parquet", 5, ["risks", *good, on("dup.parquet")]),
            ("train inf feature", 0, ["train", *good, on("inf.csv")]),
            ("risks inf feature", 0, ["risks", *good, on("inf.csv")]),
            (
                "train inf target",
                6,
                ["train", *good, on("inf_target.csv"), "task=regression", "primary_metric=rmse"],
            ),
            ("train time/duration", 0, ["train", *good, on("times.parquet")]),
            ("train list column", 12, ["train", *good, on("list.parquet")]),
            ("train tiny stratified", 7, ["train", *good, on("tiny.csv")]),
            ("train device=cuda", 3, ["train", *good, "train.device=cuda"]),
            ("train hidden=[-4]", 3, ["train", *good, "model.mlp.hidden=[-4]"]),
            ("train huge seed", 3, ["train", *good, "seed=100000000000000000000"]),
            ("train output_dir a file", 3, ["train", *good, f"output_dir={d / 'a_file'}"]),
            (
                "profile data.target=1",
                0,
                ["profile", *good, on("numeric_name.csv"), "data.target=1"],
            ),
            ("evaluate --bootstrap -5", 3, ["evaluate", "--run", run, "--bootstrap", "-5"]),
            ("evaluate override", 0, ["evaluate", "--run", run, "evaluate.bootstrap=10"]),
            (
                "evaluate latest + override",
                0,
                ["evaluate", *config, f"output_dir={out}", "evaluate.bootstrap=10"],
            ),
            (
                "predict override",
                0,
                [
                    "predict",
                    str(d / "good.csv"),
                    "--run",
                    run,
                    "evaluate.batch_size=7",
                    "--output",
                    str(d / "p.csv"),
                ],
            ),
            ("export override", 0, ["export", "--run", run, "tracking.backend=none"]),
            ("evaluate fixed key", 3, ["evaluate", "--run", run, "model.mlp.hidden=[4]"]),
            ("resume more epochs", 8, ["train", *good, "train.epochs=5", "--resume", run]),
        ]
        results += [probe(project, *item) for item in probes]
        results.append(
            probe(project, "evaluate --run elsewhere", 0, ["evaluate", "--run", run], cwd=d)
        )
        source = d / "good.csv"
        source.write_text(source.read_text().replace("0.", "1.", 5))
        results.append(probe(project, "resume changed data", 8, ["train", *good, "--resume", run]))
    print(f"{sum(results)} of {len(results)} held")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
