"""What the offline analysts measure of a trained run in service: phase 9 benchmarks the
project's HTTP server against the capsule's latency budget, and phase 12 plans monitoring from
the drift that the run's own validation split shows against training (the noise floor).

Both run the generated project's own tools (`benchmarks/bench_serve.py`, `<pkg> monitor`), so
every figure in the records is one the user can measure again with the same command.
"""

from __future__ import annotations

from typing import Any

from ...adr import table
from ..base import Context
from .common import fmt

BENCH = "benchmarks/bench_serve.py"
BENCH_REQUESTS = 300  # one-row requests per concurrency level: enough for a p99, a few seconds
BENCH_TIMEOUT_S = 600
DRIFT_EXIT = 13  # `monitor` exits 13 when it finds drift: an answer, not a failure


def benchmark(ctx: Context, run: str) -> dict[str, Any]:
    """bench_serve's figures for the run: our server, one row at concurrency 1 and 8, and
    batches of 1,000 rows."""
    return ctx.project.script(
        BENCH, "--run", run, "--requests", str(BENCH_REQUESTS), timeout=BENCH_TIMEOUT_S
    )


def budget_ms(answers: dict[str, Any]) -> float | None:
    """The answers' latency budget per prediction; None when they set none (0 or absent)."""
    value = answers.get("max_latency_ms") or 0
    return float(value) if value > 0 else None


def meets_budget(ctx: Context, bench: dict[str, Any]) -> bool | None:
    """Whether one request's p99 at concurrency 1 is within the budget; None without one."""
    budget = budget_ms(ctx.answers)
    if budget is None:
        return None
    return bench["servers"]["project"]["c1"]["p99_ms"] <= budget


def verdict(ctx: Context, bench: dict[str, Any]) -> str:
    """'p99 2.41 ms for one row at concurrency 1 meets the max_latency_ms budget of 50 ms' (or
    FAILS it, or no budget); a forecaster's request is one series' forecast."""
    p99 = bench["servers"]["project"]["c1"]["p99_ms"]
    request = "one series' forecast" if ctx.forecasting else "one row"
    measured = f"p99 {p99:.2f} ms for {request} at concurrency 1"
    ok, budget = meets_budget(ctx, bench), budget_ms(ctx.answers)
    if ok is None:
        return f"{measured}; the answers set no latency budget (max_latency_ms 0)"
    return f"{measured} {'meets' if ok else 'FAILS'} the max_latency_ms budget of {budget:g} ms"


def latency_table(bench: dict[str, Any]) -> str:
    """Two lines per server: one request at concurrency 1 and 8 (p50, p95, p99 in ms,
    requests/s), and rows/s in batches of 1,000."""
    rows = []
    for name, server in bench["servers"].items():
        for level in ("c1", "c8"):
            figures = server[level]
            rows.append(
                (
                    name,
                    level[1:],
                    f"{figures['p50_ms']:.2f}",
                    f"{figures['p95_ms']:.2f}",
                    f"{figures['p99_ms']:.2f}",
                    f"{figures['rps']:.0f}",
                    f"{server['batch_rows_per_s']:.0f}" if level == "c1" else "-",
                )
            )
    return table(
        ("server", "concurrency", "p50 ms", "p95 ms", "p99 ms", "requests/s", "rows/s (1,000)"),
        rows,
    )


def noise_floor(ctx: Context, run: str) -> dict[str, Any]:
    """`monitor --split val` on the run: the drift the validation split itself shows against
    the training reference, which no alert threshold should sit below."""
    return ctx.project.cli("monitor", "--run", run, "--split", "val", verdicts=(DRIFT_EXIT,))


def floor_psi(report: dict[str, Any]) -> float:
    """The largest PSI of any feature between validation and training."""
    return max((feature["psi"] or 0.0 for feature in report["features"]), default=0.0)


def drift_facts(report: dict[str, Any], features: int = 20) -> dict[str, Any]:
    """What the summary keeps of `monitor --json` for later readers (the report): the rule,
    the verdict and the features that moved most (PSI is None where a side had no values)."""
    kept = ("name", "psi", "p_value", "drift")
    moved = report["features"][:features]  # monitor lists them worst first, drifting ones first
    return {
        "thresholds": report["thresholds"],
        "rows": report["rows"],
        "verdict": report["verdict"],
        "features": [{key: feature[key] for key in kept} for feature in moved],
    }


def monitoring_plan(package: str, report: dict[str, Any]) -> list[str]:
    """The plan phase 12 writes: the command, the thresholds, and the floor they stand on."""
    limits = report["thresholds"]
    floor = floor_psi(report)
    worst = report["features"][:3]
    noisiest = ", ".join(f"`{f['name']}` {fmt(f['psi'], 3)}" for f in worst) or "none"
    plan = [
        f"run `{package} monitor new.csv --run <run> --json` on each batch of new data (a cron"
        f" job or CI step): exit 0 is no drift, {DRIFT_EXIT} is drift, other codes are bad input",
        f"a feature drifts when its PSI is at least {fmt(limits['psi'], 2)} and its KS /"
        f" chi-square p-value is below {limits['p_value']:g}, when its missing rate moves by"
        f" {fmt(limits['missing_rate'], 2)} or more, or when {limits['unseen_share']:.0%} or"
        " more of its values are categories training never saw",
        f"noise floor: the validation split against training shows a largest PSI of"
        f" {fmt(floor, 3)} ({noisiest}) over {report['rows']} rows",
    ]
    if floor >= limits["psi"]:
        plan.append(
            f"the floor reaches the PSI threshold: sampling noise alone would alert; alert on"
            f" PSI above {fmt(2 * floor, 2)} or on more rows per check"
        )
    elif report["verdict"] != "no drift":
        plan.append(
            f"the validation split already drifts by the tests ({', '.join(report['drifted'])}):"
            " the split is not exchangeable with training, look at why before relying on alerts"
        )
    else:
        plan.append(
            f"the threshold is {limits['psi'] / max(floor, 1e-9):.1f}x the floor: an alert is"
            " not sampling noise"
        )
    if report.get("prediction"):
        plan.append(
            f"prediction drift: PSI {fmt(report['prediction']['psi'], 3)} between validation and"
            " training predictions, watched by the same rule"
        )
    return plan
