"""The twelve phases as data: who works in each, in what order, on what, owning which files,
and what each leaves for the phases after it.

Backends (offline analysts, Claude agents) fill these specs in; nothing here runs anything.
Each spec is named after its slug (`RISK_ASSESSMENT`), and beside it stands the dataclass of the
facts it leaves (`RiskAssessmentFacts`), read later as `facts.risk_assessment.split`. Code
refers to a phase by name; its number is for people reading messages and ADRs.
Paths may hold `{pkg}`, the generated package's import name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

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
# The parts of the three candidates a design weighs; the project's catalogue says which of its
# models plays each.
CANDIDATE_ROLES = ("baseline", "sota", "pragmatic")


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


@dataclass(frozen=True, kw_only=True)
class Phase:
    number: int
    name: str
    slug: str
    meta: str
    goal: str
    steps: tuple[Step, ...]
    inputs: tuple[int, ...]  # earlier phases whose ADRs are this phase's input
    outputs: tuple[str, ...]  # what the phase leaves besides its ADR
    facts: type  # the dataclass of what the offline analysts leave for later phases
    gate: bool = False  # nothing after it runs until the design is approved
    writes_code: bool = False  # must end with the project's tests green

    @property
    def agents(self) -> tuple[Agent, ...]:
        return tuple(agent for step in self.steps for agent in step.agents)

    @property
    def attribute(self) -> str:
        """Its name in `Facts`: the slug in snake case."""
        return self.slug.replace("-", "_")

    @property
    def label(self) -> str:
        """'Phase 5 of 12', as messages and commits name it."""
        return f"Phase {self.number} of {len(PHASES)}"

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
        return f"{self.label}: {self.name}\nNext: {next_line}\nAgents: {agents}"


def _agent(role: Role, focus: str, *owns: str) -> Agent:
    return Agent(role, focus, owns)


def _one(role: Role, focus: str, *owns: str) -> Step:
    return Step((_agent(role, focus, *owns),))


@dataclass(frozen=True)
class AgentFacts:
    """What Claude's agents leave instead of a phase's facts: the option they chose and their
    confident findings (their measurements are in the ADR). Offline phases cannot build on it."""

    chosen: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    backend: Literal["claude"] = "claude"  # tells it from a phase's facts in facts.json


@dataclass(frozen=True)
class ProblemAnalysisFacts:
    baseline: float | None  # the dummy baseline's primary metric (None: not determined)
    rows: int
    target: dict[str, Any]  # the profile's target: class counts, or mean and spread


PROBLEM_ANALYSIS = Phase(
    number=1,
    name="Problem Analysis",
    slug="problem-analysis",
    meta="Discovery",
    goal="State the problem, the primary metric, the baseline it must beat and the constraints.",
    steps=(_one("ml-explorer", "requirements: task, data, metric, deployment, constraints"),),
    inputs=(),
    outputs=("problem statement", "success criteria"),
    facts=ProblemAnalysisFacts,
)


@dataclass(frozen=True)
class DataArchitectureFacts:
    numeric: int  # numeric features
    categorical: int  # text features
    rows: int
    # A forecasting project's series as `profile` measured it: its time, seasonality and series
    # (None for a tabular project).
    temporal: dict[str, Any] | None = None


DATA_ARCHITECTURE = Phase(
    number=2,
    name="Data Architecture",
    slug="data-architecture",
    meta="Discovery",
    goal="Map the data: sources, schema, feature types, missing values, target distribution.",
    steps=(
        Step(
            (
                _agent("ml-explorer", "data sources and formats"),
                _agent("ml-explorer", "feature schema and types"),
                _agent("ml-explorer", "preprocessing and validation already in the project"),
            )
        ),
    ),
    inputs=(1,),
    outputs=("data profile", "feature schema"),
    facts=DataArchitectureFacts,
)


@dataclass(frozen=True)
class RiskAssessmentFacts:
    risks: list[dict[str, Any]]  # the project's `risks` findings: kind, severity, message
    split: str  # the validation scheme the risks call for
    split_column: str | None  # the time column a temporal split needs set
    kinds: list[str]  # the kinds of risk found, sorted


RISK_ASSESSMENT = Phase(
    number=3,
    name="Risk Assessment",
    slug="risk-assessment",
    meta="Discovery",
    goal="Quantify what could go wrong: leakage, imbalance, duplicates, missing data, time order.",
    steps=(
        Step(
            (
                _agent("ml-explorer", "leakage, lookahead and split contamination"),
                _agent("data-scientist", "data quality: missing values, imbalance, duplicates"),
            )
        ),
    ),
    inputs=(1, 2),
    outputs=("risk register",),
    facts=RiskAssessmentFacts,
)


@dataclass(frozen=True)
class ModelArchitectureFacts:
    chosen: str  # the candidate recommended (baseline, sota or pragmatic)
    model: str  # the project's model that implements it
    bakeoff: dict[str, Any]  # the project's `bakeoff` output the choice rests on


MODEL_ARCHITECTURE = Phase(
    number=4,
    name="Model Architecture",
    slug="model-architecture",
    meta="Design",
    goal="Design three candidates (baseline, state of the art, pragmatic) and pick one by a rule.",
    steps=(
        Step(
            (
                _agent("ml-architect", "baseline: simple, fast, interpretable"),
                _agent("ml-architect", "state of the art: best score, more complexity"),
                _agent("ml-architect", "pragmatic: score against maintainability and cost"),
            )
        ),
    ),
    inputs=(1, 2, 3),
    outputs=("candidate comparison", "recommended model"),
    facts=ModelArchitectureFacts,
)


@dataclass(frozen=True)
class InfrastructureDesignFacts:
    memory_mb: float  # the training data as float32
    failed_checks: list[str]  # the fact-checks that failed
    tracking: str  # the tracker the project's config names
    batch_size: int  # a forecasting project's: the GRU's parallel streams (its batch dimension)
    train_rows: int  # a forecasting project's: the time steps before the test part
    tbptt_steps: int | None = None  # a forecasting project's GRU: time steps per chunk
    storage: str = "memory"  # the project's data.storage the size rule picks: memory | stream
    processes: int = 1  # training processes: the accelerators torch sees when more than one
    devices: int = 0  # the accelerators torch saw in the project's environment
    command: str | None = None  # the training command line the design records


INFRASTRUCTURE_DESIGN = Phase(
    number=5,
    name="Infrastructure Design",
    slug="infrastructure-design",
    meta="Design",
    goal="Design tracking, checkpointing and the pipeline, then fact-check the design.",
    steps=(
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
    inputs=(1, 2, 3, 4),
    outputs=("pipeline design", "fact-check results"),
    facts=InfrastructureDesignFacts,
)


@dataclass(frozen=True)
class DesignApprovalFacts:
    recommended: str  # the candidate put to the user


DESIGN_APPROVAL = Phase(
    number=6,
    name="Design Approval",
    slug="design-approval",
    meta="Design",
    goal="Put the whole design to the user: approve it, approve another candidate, or reject it.",
    steps=(),
    inputs=(1, 2, 3, 4, 5),
    outputs=("approved design",),
    facts=DesignApprovalFacts,
    gate=True,
)


@dataclass(frozen=True)
class ModelImplementationFacts:
    config: str  # the experiment config written
    changes: dict[str, Any]  # the config keys the design changed, with their values
    model: str  # the model the experiment trains


MODEL_IMPLEMENTATION = Phase(
    number=7,
    name="Model Implementation",
    slug="model-implementation",
    meta="Implementation",
    goal="Implement the chosen model, its loss and metrics, and the experiment config with tests.",
    steps=(
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
    inputs=(4, 5, 6),
    outputs=("experiment config",),
    facts=ModelImplementationFacts,
    writes_code=True,
)


@dataclass(frozen=True)
class TrainingImplementationFacts:
    run: str  # the short run's folder, for the integration checks
    repeatable: bool  # two runs with one seed gave the same score
    epochs: int


TRAINING_IMPLEMENTATION = Phase(
    number=8,
    name="Training Implementation",
    slug="training-implementation",
    meta="Implementation",
    goal="Make training run: the loop and checkpoints, data loading, tracking and seeds.",
    steps=(
        Step(
            (
                _agent(
                    "mlops-engineer",
                    "training loop and checkpoints",
                    "src/{pkg}/train.py",
                    "src/{pkg}/runs.py",
                ),
                _agent("mlops-engineer", "data loading", "src/{pkg}/data.py"),
                _agent("mlops-engineer", "tracking and seeding", "src/{pkg}/tracking.py"),
            )
        ),
    ),
    inputs=(5, 6, 7),
    outputs=("a short training run",),
    facts=TrainingImplementationFacts,
    writes_code=True,
)


@dataclass(frozen=True)
class IntegrationFacts:
    checks: list[str]  # the smoke checks run, as the ADR states them
    serving: dict[str, Any] | None = None  # bench_serve's figures for the short run
    meets_budget: bool | None = None  # p99 at concurrency 1 within max_latency_ms (None: no budget)


INTEGRATION = Phase(
    number=9,
    name="Integration",
    slug="integration",
    meta="Implementation",
    goal="Wire inference and serving, and check the whole path: train, predict, serve, export;"
    " measure the server's latency against the answers' budget (max_latency_ms).",
    steps=(
        Step(
            (
                _agent(
                    "ml-engineer",
                    "inference API, HTTP serving and export",
                    "src/{pkg}/predict.py",
                    "src/{pkg}/serve.py",
                ),
                _agent(
                    "mlops-engineer", "integration and smoke tests", "tests/test_integration.py"
                ),
            )
        ),
    ),
    inputs=(6, 7, 8),
    outputs=("prediction, serving and export smoke checks", "serving latency against its budget"),
    facts=IntegrationFacts,
    writes_code=True,
)


@dataclass(frozen=True)
class QualityReviewFacts:
    findings: list[dict[str, Any]]  # the reported findings (review.Finding's fields)
    below_threshold: int  # findings too unsure to report


QUALITY_REVIEW = Phase(
    number=10,
    name="Quality Review",
    slug="quality-review",
    meta="Validation",
    goal="Review the code: lint, ML practice, performance; only findings with confidence >= 80.",
    steps=(
        Step(
            (
                _agent("ml-reviewer", "code quality"),
                _agent("ml-reviewer", "ML practice: leakage, evaluation mode, seeding"),
                _agent("ml-reviewer", "performance: host syncs, batching, data movement"),
            )
        ),
    ),
    inputs=(6, 7, 8, 9),
    outputs=("review findings with file:line",),
    facts=QualityReviewFacts,
)


@dataclass(frozen=True)
class FixesAndVerificationFacts:
    fixed: list[str]  # files the safe fixes changed
    remaining: list[dict[str, Any]]  # findings still reported after the fixes
    tests: str | None  # the full suite's outcome
    train: dict[str, Any]  # the full training run's summary
    evaluation: dict[str, Any]  # the held-out evaluation
    accepted: bool  # the model beats the dummy baseline with the whole interval
    tuning: dict[str, Any] | None = None  # `tune --json` when tuning_trials asked for a study


FIXES_AND_VERIFICATION = Phase(
    number=11,
    name="Fixes & Verification",
    slug="fixes-and-verification",
    meta="Validation",
    goal="Fix the findings, run the full suite, train fully and evaluate on held-out data.",
    steps=(
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
                    "src/{pkg}/runs.py",
                    "src/{pkg}/data.py",
                    "src/{pkg}/tracking.py",
                    "configs/experiment.yaml",
                ),
            )
        ),
    ),
    inputs=(10,),
    outputs=("held-out metrics with confidence intervals",),
    facts=FixesAndVerificationFacts,
    writes_code=True,
)


@dataclass(frozen=True)
class SummaryFacts:
    model_card: str  # where the model card is
    noise_floor_psi: float | None = None  # the largest PSI of validation against training
    drift: dict[str, Any] | None = None  # `monitor --split val`: the rule, verdict, features


SUMMARY = Phase(
    number=12,
    name="Summary",
    slug="summary",
    meta="Validation",
    goal="Summarise the decisions and measured results; write the model card, a monitoring plan"
    " (drift thresholds against the validation split's noise floor) and next steps.",
    steps=(_one("ml-writer", "summary, model card, next steps", "docs/model_card.md"),),
    inputs=tuple(range(1, 12)),
    outputs=("docs/model_card.md",),
    facts=SummaryFacts,
)

PHASES: tuple[Phase, ...] = (
    PROBLEM_ANALYSIS,
    DATA_ARCHITECTURE,
    RISK_ASSESSMENT,
    MODEL_ARCHITECTURE,
    INFRASTRUCTURE_DESIGN,
    DESIGN_APPROVAL,
    MODEL_IMPLEMENTATION,
    TRAINING_IMPLEMENTATION,
    INTEGRATION,
    QUALITY_REVIEW,
    FIXES_AND_VERIFICATION,
    SUMMARY,
)


@dataclass
class Facts:
    """What the finished phases left for later ones, one attribute per phase (None until done).

    A phase the Claude agents did holds their AgentFacts instead of its own facts.
    """

    problem_analysis: ProblemAnalysisFacts | AgentFacts | None = None
    data_architecture: DataArchitectureFacts | AgentFacts | None = None
    risk_assessment: RiskAssessmentFacts | AgentFacts | None = None
    model_architecture: ModelArchitectureFacts | AgentFacts | None = None
    infrastructure_design: InfrastructureDesignFacts | AgentFacts | None = None
    design_approval: DesignApprovalFacts | AgentFacts | None = None
    model_implementation: ModelImplementationFacts | AgentFacts | None = None
    training_implementation: TrainingImplementationFacts | AgentFacts | None = None
    integration: IntegrationFacts | AgentFacts | None = None
    quality_review: QualityReviewFacts | AgentFacts | None = None
    fixes_and_verification: FixesAndVerificationFacts | AgentFacts | None = None
    summary: SummaryFacts | AgentFacts | None = None

    def of(self, spec: Phase) -> Any:
        return getattr(self, spec.attribute)

    def keep(self, spec: Phase, found: object) -> None:
        setattr(self, spec.attribute, found)


def phase(number: int) -> Phase:
    """The phase a user names by its number (`--redo 7`)."""
    for spec in PHASES:
        if spec.number == number:
            return spec
    raise KeyError(f"there is no phase {number}; phases are numbered 1 to {len(PHASES)}")


def gate() -> Phase:
    """The phase that stops the run until the user approves the design."""
    return next(spec for spec in PHASES if spec.gate)


def designed() -> tuple[Phase, ...]:
    """The design the gate puts to the user: every phase before it."""
    return PHASES[: PHASES.index(gate())]


def redone_on_reject() -> tuple[Phase, ...]:
    """The phases a rejection at the gate sends back to, in order (the gate comes after them).

    Rule: the design phases before the gate, that is every phase after the last one that is not
    in the gate's meta-phase. What Discovery found about the problem and the data stands; what
    was designed on it is designed again, with the user's reason as input.
    """
    redone: tuple[Phase, ...] = ()
    for spec in designed():
        redone = (*redone, spec) if spec.meta == gate().meta else ()
    return redone


def span(specs: Sequence[Phase]) -> str:
    """'4-5': a run of phases as messages name it."""
    first, last = specs[0].number, specs[-1].number
    return f"{first}-{last}" if last > first else str(first)


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
    if sum(spec.gate for spec in phases) != 1:
        problems.append("there must be exactly one gate")
    if [item.name for item in fields(Facts)] != [spec.attribute for spec in phases]:
        problems.append("Facts does not have one attribute per phase, in order")
    return problems
