"""The twelve phases as data: who works in each, in what order, on what, owning which files.

Backends (offline analysts, Claude agents) fill these specs in; nothing here runs anything.
Paths may hold `{pkg}`, the generated package's import name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal[
    "ml-explorer",
    "ml-architect",
    "data-scientist",
    "ml-engineer",
    "mlops-engineer",
    "ml-reviewer",
    "ml-writer",
]
# Roles that only read and report; their report becomes the ADR. The writer alone also
# writes the model card. Engineers write code, only in the files their phase gives them.
READ_ONLY_ROLES: frozenset[str] = frozenset(
    {"ml-explorer", "ml-architect", "data-scientist", "ml-reviewer", "ml-writer"}
)
META_PHASES = ("Discovery", "Design", "Implementation", "Validation")


@dataclass(frozen=True)
class Agent:
    role: Role
    focus: str
    owns: tuple[str, ...] = ()  # files this agent may write in its phase


@dataclass(frozen=True)
class Step:
    """Agents that start together: concurrently when parallel, else one after another."""

    agents: tuple[Agent, ...]
    parallel: bool = True


@dataclass(frozen=True)
class Phase:
    number: int
    name: str
    slug: str
    meta: str
    goal: str
    steps: tuple[Step, ...]
    inputs: tuple[int, ...]  # earlier phases whose ADRs are this phase's input
    outputs: tuple[str, ...]  # what the phase leaves besides its ADR
    gate: bool = False  # nothing after it runs until the design is approved
    writes_code: bool = False  # must end with the project's tests green

    @property
    def agents(self) -> tuple[Agent, ...]:
        return tuple(agent for step in self.steps for agent in step.agents)

    def owned_files(self, package: str) -> dict[str, str]:
        """Each writable path (with {pkg} filled in) and the role that owns it."""
        return {
            path.format(pkg=package): agent.role for agent in self.agents for path in agent.owns
        }

    def announce(self) -> str:
        """The three lines every phase starts with."""
        following = next((p for p in PHASES if p.number == self.number + 1), None)
        next_line = f"Phase {following.number} - {following.name}" if following else "done"
        roles = [agent.role for agent in self.agents]
        counted = [
            f"{roles.count(role)} x {role}" if roles.count(role) > 1 else role
            for role in dict.fromkeys(roles)
        ]
        order = " then ".join(
            ("parallel: " if step.parallel and len(step.agents) > 1 else "")
            + ", ".join(agent.role for agent in step.agents)
            for step in self.steps
        )
        if not roles:
            agents = "none (a gate)"
        else:
            agents = ", ".join(counted) + (f" ({order})" if len(roles) > 1 else "")
        return f"Phase {self.number} of 12: {self.name}\nNext: {next_line}\nAgents: {agents}"


def _agent(role: Role, focus: str, *owns: str) -> Agent:
    return Agent(role, focus, owns)


def _one(role: Role, focus: str, *owns: str) -> Step:
    return Step((_agent(role, focus, *owns),))


PHASES: tuple[Phase, ...] = (
    Phase(
        1,
        "Problem Analysis",
        "problem-analysis",
        "Discovery",
        "State the problem, the primary metric, the baseline it must beat and the constraints.",
        (_one("ml-explorer", "requirements: task, data, metric, deployment, constraints"),),
        (),
        ("problem statement", "success criteria"),
    ),
    Phase(
        2,
        "Data Architecture",
        "data-architecture",
        "Discovery",
        "Map the data: sources, schema, feature types, missing values, target distribution.",
        (
            Step(
                (
                    _agent("ml-explorer", "data sources and formats"),
                    _agent("ml-explorer", "feature schema and types"),
                    _agent("ml-explorer", "preprocessing and validation already in the project"),
                )
            ),
        ),
        (1,),
        ("data profile", "feature schema"),
    ),
    Phase(
        3,
        "Risk Assessment",
        "risk-assessment",
        "Discovery",
        "Quantify what could go wrong: leakage, imbalance, duplicates, missing data, time order.",
        (
            Step(
                (
                    _agent("ml-explorer", "leakage, lookahead and split contamination"),
                    _agent("data-scientist", "data quality: missing values, imbalance, duplicates"),
                )
            ),
        ),
        (1, 2),
        ("risk register",),
    ),
    Phase(
        4,
        "Model Architecture",
        "model-architecture",
        "Design",
        "Design three candidates (baseline, state of the art, pragmatic) and pick one by a rule.",
        (
            Step(
                (
                    _agent("ml-architect", "baseline: simple, fast, interpretable"),
                    _agent("ml-architect", "state of the art: best score, more complexity"),
                    _agent("ml-architect", "pragmatic: score against maintainability and cost"),
                )
            ),
        ),
        (1, 2, 3),
        ("candidate comparison", "recommended model"),
    ),
    Phase(
        5,
        "Infrastructure Design",
        "infrastructure-design",
        "Design",
        "Design tracking, checkpointing and the pipeline, then fact-check the design.",
        (
            Step(
                (
                    _agent("ml-architect", "experiment tracking and reproducibility"),
                    _agent("ml-architect", "training pipeline: batch size, checkpoints, devices"),
                )
            ),
            Step(
                (
                    _agent("data-scientist", "fact-check: validation scheme fits the data"),
                    _agent("data-scientist", "fact-check: metric and baseline fit the risks"),
                )
            ),
        ),
        (1, 2, 3, 4),
        ("pipeline design", "fact-check results"),
    ),
    Phase(
        6,
        "Design Approval",
        "design-approval",
        "Design",
        "Put the whole design to the user: approve it, approve another candidate, or reject it.",
        (),
        (1, 2, 3, 4, 5),
        ("approved design",),
        gate=True,
    ),
    Phase(
        7,
        "Model Implementation",
        "model-implementation",
        "Implementation",
        "Implement the chosen model, its loss and metrics, and the experiment config with tests.",
        (
            Step(
                (
                    _agent("ml-engineer", "the model", "src/{pkg}/models.py"),
                    _agent(
                        "ml-engineer",
                        "losses and metrics",
                        "src/{pkg}/losses.py",
                        "src/{pkg}/metrics.py",
                    ),
                    _agent(
                        "ml-engineer",
                        "experiment config and its tests",
                        "configs/experiment.yaml",
                        "tests/test_experiment.py",
                    ),
                )
            ),
        ),
        (4, 5, 6),
        ("experiment config",),
        writes_code=True,
    ),
    Phase(
        8,
        "Training Implementation",
        "training-implementation",
        "Implementation",
        "Make training run: the loop and checkpoints, data loading, tracking and seeds.",
        (
            Step(
                (
                    _agent("mlops-engineer", "training loop and checkpoints", "src/{pkg}/train.py"),
                    _agent("mlops-engineer", "data loading", "src/{pkg}/data.py"),
                    _agent("mlops-engineer", "tracking and seeding", "src/{pkg}/tracking.py"),
                )
            ),
        ),
        (5, 6, 7),
        ("a short training run",),
        writes_code=True,
    ),
    Phase(
        9,
        "Integration",
        "integration",
        "Implementation",
        "Wire inference and check the whole path: train, predict, export.",
        (
            Step(
                (
                    _agent("ml-engineer", "inference API and export", "src/{pkg}/predict.py"),
                    _agent(
                        "mlops-engineer", "integration and smoke tests", "tests/test_integration.py"
                    ),
                )
            ),
        ),
        (6, 7, 8),
        ("prediction and export smoke checks",),
        writes_code=True,
    ),
    Phase(
        10,
        "Quality Review",
        "quality-review",
        "Validation",
        "Review the code: lint, ML practice, performance; only findings with confidence >= 80.",
        (
            Step(
                (
                    _agent("ml-reviewer", "code quality"),
                    _agent("ml-reviewer", "ML practice: leakage, evaluation mode, seeding"),
                    _agent("ml-reviewer", "performance: host syncs, batching, data movement"),
                )
            ),
        ),
        (6, 7, 8, 9),
        ("review findings with file:line",),
    ),
    Phase(
        11,
        "Fixes & Verification",
        "fixes-and-verification",
        "Validation",
        "Fix the findings, run the full suite, train fully and evaluate on held-out data.",
        (
            Step(
                (
                    _agent(
                        "ml-engineer",
                        "fixes in model code",
                        "src/{pkg}/models.py",
                        "src/{pkg}/losses.py",
                        "src/{pkg}/metrics.py",
                        "src/{pkg}/predict.py",
                        "src/{pkg}/evaluate.py",
                    ),
                    _agent(
                        "mlops-engineer",
                        "fixes in pipeline code",
                        "src/{pkg}/train.py",
                        "src/{pkg}/data.py",
                        "src/{pkg}/tracking.py",
                        "configs/experiment.yaml",
                    ),
                )
            ),
        ),
        (10,),
        ("held-out metrics with confidence intervals",),
        writes_code=True,
    ),
    Phase(
        12,
        "Summary",
        "summary",
        "Validation",
        "Summarise the decisions and measured results; write the model card and next steps.",
        (_one("ml-writer", "summary, model card, next steps", "docs/model_card.md"),),
        tuple(range(1, 12)),
        ("docs/model_card.md",),
    ),
)


def phase(number: int) -> Phase:
    for spec in PHASES:
        if spec.number == number:
            return spec
    raise KeyError(f"there is no phase {number}; phases are numbered 1 to {len(PHASES)}")


def check_specs(phases: tuple[Phase, ...] = PHASES) -> list[str]:
    """Problems with the specs (an empty list when they are sound)."""
    problems = []
    for spec in phases:
        if spec.meta not in META_PHASES:
            problems.append(f"phase {spec.number}: unknown meta-phase {spec.meta!r}")
        if any(number >= spec.number for number in spec.inputs):
            problems.append(f"phase {spec.number}: an input is not an earlier phase")
        paths = [path for agent in spec.agents for path in agent.owns]
        if len(paths) != len(set(paths)):
            problems.append(f"phase {spec.number}: two agents own the same file")
        for agent in spec.agents:
            if agent.role in READ_ONLY_ROLES and agent.owns and agent.role != "ml-writer":
                problems.append(f"phase {spec.number}: read-only {agent.role} owns files")
            if agent.role not in READ_ONLY_ROLES and not agent.owns:
                problems.append(f"phase {spec.number}: {agent.role} owns no files")
        if spec.writes_code != any(a.role not in READ_ONLY_ROLES for a in spec.agents):
            problems.append(f"phase {spec.number}: writes_code does not match its roles")
        if spec.gate and spec.agents:
            problems.append(f"phase {spec.number}: a gate has no agents")
    if [spec.number for spec in phases] != list(range(1, len(phases) + 1)):
        problems.append("phases are not numbered 1..N in order")
    return problems
