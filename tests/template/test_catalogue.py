"""copier.yml asks for what the project's catalogue offers: the two cannot drift apart."""

from __future__ import annotations

import re

import yaml
from conftest import ROOT, render

from extensions.catalogue import SOURCES, catalogue, load

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text().split("\n---")[0])
CATALOGUE = catalogue()
FAMILIES = {family: load(path) for family, path in SOURCES.items()}


def choices(question: str) -> dict[str, str]:
    """A question's choices: label -> value."""
    return QUESTIONS[question]["choices"]


def test_task_choices_are_the_catalogues_tasks() -> None:
    assert tuple(choices("task_type").values()) == CATALOGUE.TASKS


def test_metric_choices_are_the_catalogues_metrics_each_labelled_with_its_tasks() -> None:
    metrics = {metric for task in CATALOGUE.TASKS for metric in CATALOGUE.task_metrics(task)}
    assert set(choices("primary_metric").values()) == metrics
    for label, metric in choices("primary_metric").items():
        for task in CATALOGUE.TASKS:
            if metric in CATALOGUE.task_metrics(task):
                assert re.search(rf"\b{task}\b", label), f"{label!r} does not name {task}"


def test_every_task_has_metrics_samples_and_a_default_of_its_own(tmp_path) -> None:
    """The defaults copier.yml derives from task_type come from that task's catalogue entries."""
    for task in CATALOGUE.TASKS:
        project = render(tmp_path / task, task_type=task)
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
        sample = answers["data_source"].removeprefix(CATALOGUE.SAMPLE_PREFIX)
        assert CATALOGUE.SAMPLES[sample][0] == task
        assert answers["primary_metric"] in CATALOGUE.task_metrics(task)


def test_the_validators_read_the_catalogue_instead_of_spelling_it_out() -> None:
    """No question lists a sample or the metrics of a task by hand."""
    validators = " ".join(
        str(q.get("validator", "")) for q in QUESTIONS.values() if isinstance(q, dict)
    )
    for sample in CATALOGUE.SAMPLES:
        assert sample not in validators
    assert "catalogue.SAMPLES" in validators
    assert "catalogue.task_metrics(task_type)" in validators


def test_each_family_s_models_play_the_three_design_candidates() -> None:
    for module in FAMILIES.values():
        assert sorted(module.MODELS.values()) == ["baseline", "pragmatic", "sota"]


def test_the_families_share_no_task_and_no_sample() -> None:
    tabular, forecasting = FAMILIES["tabular"], FAMILIES["forecasting"]
    assert not set(tabular.TASKS) & set(forecasting.TASKS)
    assert not set(tabular.SAMPLES) & set(forecasting.SAMPLES)
    assert set(forecasting.SERIES_SAMPLES) == set(forecasting.SAMPLES)
