"""What each agent is told: its role, the phase's inputs (the stable, cached part), its task.

The role prompts are written for this template's projects: a tabular model (linear, MLP or
gradient boosting) behind a CLI (`<pkg> profile | risks | bakeoff | train | evaluate | predict
| export`), a pytest suite, configs in configs/, and the ADRs of the earlier phases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ...adr import records
from ...layout import adr_dir
from ...phases import MODEL_ARCHITECTURE, Agent, Phase
from ..base import Context

COMMON = """\
You are one agent in a twelve-phase workflow that designs and builds a machine-learning project.
The project was generated from ml-flow-template: a Python package under src/<pkg>/ with one module
per job (config, data, models, losses, metrics, train, tracking, evaluate, predict, cli), configs
in configs/, a pytest suite in tests/, and Architecture Decision Records in docs/adr/.

How you work:
- Use the tools. Read before you judge; measure before you claim. Every number you report must
  come from a file you read or a command you ran in this session; say which.
- The project's CLI prints JSON with --json: `<pkg> profile`, `risks`, `bakeoff` (cross-validates
  linear, mlp and gbm), `train`, `evaluate` (held-out metrics with bootstrap intervals),
  `predict`, `export`. Config values are overridden as key=value arguments.
- You may write only the files listed as yours; every other path is refused. Paths are relative
  to the project root. Commands run without a shell: pytest, ruff (checks only) and the CLI.
- Be brief in prose and precise in facts. When you are done, call submit_report exactly once;
  its fields become the phase's ADR (MADR 4): options you weighed, the one you chose and why,
  consequences good and bad, and how the decision is confirmed.
"""

ROLES: dict[str, str] = {
    "ml-explorer": """\
Role: ml-explorer. You map what is there before anyone designs anything: the question the model
must answer, the data (source, rows, columns, types, missing values, target distribution), the
code and configs that already exist, and what constrains the solution (latency, size,
interpretability, deployment). You report what you observed and what is still unknown; you do
not propose models.""",
    "ml-architect": """\
Role: ml-architect. You design one part of the system and weigh it against alternatives: a model
family, the tracking and checkpoint setup, or the training pipeline (batch size, devices,
memory). Argue from the data profile and risk register of the earlier phases, from measured
cross-validation scores (`bakeoff`), and from cost: training time, inference latency, model size,
maintainability. State the rule you chose by, so someone else would choose the same. Argue both
sides: every option's pros and cons state its measured gap to the best option, its spread across
folds, and its relative fit time, latency, size and interpretability; the consequences (bad) say
what the chosen option gives up and for what, for example "0.004 ROC-AUC below the MLP, for a
model a person can read".""",
    "data-scientist": """\
Role: data-scientist. You check the statistics: data quality (missing values, duplicates, class
imbalance), whether the validation scheme matches the data (stratified, grouped or temporal
splits), whether the metric and its baseline fit the risks, and whether a claimed improvement is
larger than its confidence interval. When you fact-check a design, say for each claim whether it
holds, and show the evidence.""",
    "ml-engineer": """\
Role: ml-engineer. You write the model-side code: models, losses, metrics, inference and the
experiment config, with tests. Keep the project's style: type hints, small pure functions, one
module per job, docstrings that say why. Evaluate under model.eval() and torch.no_grad(); fit
preprocessing on the training split only; seed every random draw. Run the tests your change can
affect (pytest) and ruff before you report; the phase is undone if the suite is red at the end.""",
    "mlops-engineer": """\
Role: mlops-engineer. You make training reproducible and observable: the training loop and its
checkpoints (save, resume to the same result), data loading, tracking (MLflow or W&B, local by
default) and seeding. Keep the loop short and fast: no host synchronisation per step, batches
sliced from tensors in memory. Prove what you claim with a short `train` run and the tests; the
phase is undone if the suite is red at the end.""",
    "ml-reviewer": """\
Role: ml-reviewer. You review the code for one concern: code quality, ML practice (leakage,
evaluation mode, seeding, splits) or performance (host syncs, batching, data movement). Run ruff
and read the code. Report each problem as a finding with file, line, a confidence from 0 to 100
and one sentence; only findings with confidence >= 80 are reported, so do not inflate it. You do
not change code.""",
    "ml-writer": """\
Role: ml-writer. You write for the people who will use and maintain the model: the summary of
the decisions in the earlier ADRs and the measured results, and the model card (docs/
model_card.md: intended use, data, model, metrics with intervals against the baseline,
limitations, how to reproduce). Quote numbers from the ADRs; never round them into claims.""",
}


# What every agent of a forecasting project is told: the rules the offline analysts apply too.
FORECASTING = """## A forecasting project
Row order is time. Validate walk-forward only (time-ordered cut-offs, `bakeoff` reports origins,
horizon and gap); refuse any random, stratified or grouped split, which trains on the future.
The bar is the seasonal naive forecast (MASE 1 by construction), scored on the same origins.
Report the frequency, gaps and seasonality `profile` measures, and the lookahead suspects,
non-stationarity (ADF, KPSS) and covariates not known in advance that `risks` finds. The GRU
trains with truncated backpropagation through time (`train.tbptt_steps`, `train.streams`); there
is no batch size of rows. In review, flag shuffling a series, a scaler fitted on every row, and
`shift(-k)`. The evaluation reports MASE with its interval, the paired difference against
seasonal naive, and the coverage of the prediction intervals against their level."""


def system_prompt(role: str) -> str:
    return f"{COMMON}\n{ROLES[role]}\n"


def phase_inputs(spec: Phase, ctx: Context) -> str:
    """The inputs every agent of the phase shares: answers, decisions so far, earlier ADRs."""
    root = ctx.project.root
    answers = {k: v for k, v in ctx.answers.items() if not str(k).startswith("_")}
    parts = [
        f"# {spec.label}: {spec.name} ({spec.meta})",
        f"Goal: {spec.goal}",
        f"Outputs: {', '.join(spec.outputs)}",
        f"Package: {ctx.project.package} (src/{ctx.project.package}/)",
        "## The project's answers" + (f" (capsule {ctx.capsule} applied)" if ctx.capsule else ""),
        "```yaml\n" + yaml.safe_dump(answers, sort_keys=True).strip() + "\n```",
        "## Candidates\n"
        + "\n".join(
            f"- {name}: the project's `{model}` model" for name, model in ctx.candidates.items()
        )
        + (f"\nApproved at the gate: {ctx.approved}" if ctx.approved else ""),
    ]
    if ctx.forecasting:
        parts.append(FORECASTING)
    if ctx.rejections:
        parts.append(
            "## Earlier designs the user rejected\n"
            + "\n".join(f"- {reason}" for reason in ctx.rejections)
            + (f"\nRejected candidates: {', '.join(sorted(ctx.excluded))}" if ctx.excluded else "")
        )
    records = _records(root, spec.inputs)
    parts.append("## ADRs of the earlier phases this phase reads")
    parts.extend(records or ["(none yet)"])
    return "\n\n".join(parts) + "\n"


def _records(root: Path, numbers: tuple[int, ...]) -> list[str]:
    found = records(adr_dir(root))
    return [
        f"### {found[n].relative_to(root).as_posix()}\n\n{found[n].read_text(encoding='utf-8')}"
        for n in numbers
        if n in found
    ]


def task(spec: Phase, agent: Agent, package: str, earlier: list[tuple[str, Any]]) -> str:
    """The first user message: this agent's focus, its files, and what the steps before found."""
    owns = [path.format(pkg=package) for path in agent.owns]
    lines = [
        f"Your focus in this phase: {agent.focus}.",
        (
            "Your files (the only ones you may write): " + ", ".join(owns)
            if owns
            else "You write no files in this phase: read, run checks, and report."
        ),
    ]
    if spec is MODEL_ARCHITECTURE:
        lines.append(
            "Name your options exactly baseline, sota and pragmatic, and choose the one you"
            " recommend by a stated rule."
        )
    if spec.writes_code:
        lines.append("The phase is kept only if the project's tests pass when you are done.")
    for who, report in earlier:
        lines.append(f"\nWhat {who} reported earlier in this phase:\n{report}")
    lines.append("\nFinish with submit_report.")
    return "\n".join(lines)
