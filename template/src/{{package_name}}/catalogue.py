"""What this project offers, each named once: tasks, metrics, models and bundled samples.

Everything else imports these names: the config's allowed values, the metric functions, the
models, the sample loader, and the design engine (`ml-phases`), which reads this file to learn
what the project can do. copier.yml asks the same questions; a test keeps its choices equal.
This module imports nothing, so reading it costs nothing.
"""

from __future__ import annotations

TASKS = ("classification", "regression")

# metric -> (the task it scores, whether higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "roc_auc": ("classification", True),
    "pr_auc": ("classification", True),
    "accuracy": ("classification", True),
    "f1": ("classification", True),
    "log_loss": ("classification", False),
    "rmse": ("regression", False),
    "mae": ("regression", False),
    "r2": ("regression", True),
}

# model -> the part it plays when the design compares three candidates
MODELS: dict[str, str] = {
    "linear": "baseline",  # simple, fast, interpretable
    "mlp": "sota",  # the best score for more complexity
    "gbm": "pragmatic",  # score weighed against maintenance and cost
}

# sample name (used as `sample:<name>`) -> (task, scikit-learn loader)
SAMPLES: dict[str, tuple[str, str]] = {
    "breast_cancer": ("classification", "load_breast_cancer"),
    "wine": ("classification", "load_wine"),
    "diabetes": ("regression", "load_diabetes"),
}
SAMPLE_PREFIX = "sample:"


def task_metrics(task: str) -> tuple[str, ...]:
    """The metrics that score a task, in the order reports list them."""
    return tuple(name for name, (scored, _) in METRICS.items() if scored == task)


def higher_is_better(metric: str) -> bool:
    return METRICS[metric][1]
