"""A forecasting project through the twelve phases offline: its records hold the measured
series (frequency, gaps, season, ADF), the walk-forward bake-off (origins, horizon, reference),
the held-out verdict against seasonal naive (MASE, coverage) and the model card; a random
split is refused, and nothing tabular leaks into its design."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import (
    COVARIATE_RISKS,
    assert_written_tests_lint_clean,
    canned_project,
    forecast_evaluation,
    metric,
)
from ml_phases import adr, engine
from ml_phases import state as run_state
from ml_phases.backends.base import Context
from ml_phases.backends.claude.prompts import phase_inputs
from ml_phases.layout import facts_file
from ml_phases.phases import INFRASTRUCTURE_DESIGN
from ml_phases.project import Project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return canned_project(tmp_path / "co2cast", monkeypatch, task="forecasting")


def text(root: Path, number: int) -> str:
    return adr.records(root / "docs/adr")[number].read_text()


def record(root: Path, number: int) -> adr.Record:
    return adr.parse(text(root, number))


def run_through(root: Path, option: str | None = None) -> str:
    """Every phase with the design approved at the gate, as auto_approve does."""
    assert engine.run(root) == "gate"
    engine.approve(root, option)
    return engine.run(root)


def answer(root: Path, **changes: Any) -> None:
    path = root / ".copier-answers.yml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **changes}))


def test_a_forecasting_project_runs_all_twelve_phases_offline(project: dict) -> None:
    root = project["root"]
    assert run_through(root) == "done"
    assert sorted(adr.records(root / "docs/adr")) == list(range(1, 13))
    assert {p.status for p in run_state.load(root).phases.values()} == {"done"}
    assert record(root, 11).chosen == "accept the model"
    assert record(root, 12).chosen == "hand over"


def test_the_records_hold_the_measured_series_risks_and_bake_off(project: dict) -> None:
    root = project["root"]
    run_through(root)
    data = text(root, 2)
    for measured in (
        "frequency 1w",
        "3 gaps in the time grid, 7 missing steps",
        "1959-01-03 .. 1959-01-17 (3 steps)",
        "the target is missing at 59 steps",
        "season 52 steps: autocorrelation at lag 52 0.8731 (of the one-step changes",
        "seasonal strength 0.9612",
    ):
        assert measured in data
    risks = text(root, 3)
    assert "ADF statistic 0.8414 (p 0.9922), KPSS statistic 7.3541 (p 0.0100)" in risks
    assert "after one difference, ADF p 0.0001" in risks
    assert "Lookahead suspects: none" in risks
    bakeoff = text(root, 4)
    assert "at 5 origins (cut-offs 1991-01-05 to 1994-12-31)" in bakeoff
    assert "horizon 52 steps, gap 0" in bakeoff
    assert "| reference | seasonal_naive | 1.0412 ± 0.0831 |" in bakeoff
    assert "fold" not in bakeoff  # a walk-forward bake-off has origins
    ets = next(o for o in record(root, 4).options if o.name == "baseline")
    assert "mean mase 0.6125 beats seasonal naive (1.0412) over the same origins" in ets.pros


def test_the_held_out_record_and_the_model_card_hold_mase_coverage_and_horizon(
    project: dict,
) -> None:
    root = project["root"]
    run_through(root)
    verdict = text(root, 11)
    assert "Held-out evaluation on 405 origins (405 forecasts of 52 steps)" in verdict
    assert "| mase | 0.5731 | [0.5214, 0.6248] | 1.0412 | -0.4681 [-0.5198, -0.4164] |" in verdict
    assert "MASE 0.5731 [0.5214, 0.6248]; paired difference against seasonal naive -0.4681" in (
        verdict
    )
    assert "Interval coverage 87.2% [84.2%, 90.2%] of the 90% prediction intervals" in verdict
    assert "-0.028 from the nominal level, within 0.1" in verdict
    card = (root / "docs/model_card.md").read_text()
    assert "- Horizon: 52 steps of 1w (season 52 steps)" in card
    assert "- Interval coverage: 87.2% [84.2%, 90.2%] of the 90% prediction intervals" in card
    assert "- MASE: 0.5731 [0.5214, 0.6248] on held-out origins" in card
    assert "| metric | value | interval | seasonal naive |" in card
    assert "Split: walk-forward; 1828 train, 456 calibration, 456 test time steps" in card
    assert "dummy" not in card


def test_the_bar_is_seasonal_naive_not_a_dummy_baseline(project: dict) -> None:
    root = project["root"]
    engine.run(root)
    problem = record(root, 1)
    assert problem.options[0].pros == [
        "seasonal naive baseline: MASE 1 by construction (MASE divides by the in-sample error"
        " of the seasonal naive forecast)"
    ]
    assert "dummy" not in text(root, 1)
    assert "against seasonal naive, MASE 1 by construction" in record(root, 6).context
    facts = json.loads(facts_file(root).read_text())
    assert facts["problem-analysis"]["baseline"] == 1.0


def test_another_metric_s_seasonal_naive_bar_is_left_to_the_bake_off(project: dict) -> None:
    root = project["root"]
    answer(root, primary_metric="smape")
    engine.run(root)
    assert "smape measured at each walk-forward origin by the bake-off (phase 4)" in text(root, 1)
    assert json.loads(facts_file(root).read_text())["problem-analysis"]["baseline"] is None


def test_the_split_is_walk_forward_and_the_others_say_why_not(project: dict) -> None:
    root = project["root"]
    engine.run(root)
    risks = record(root, 3)
    assert risks.chosen == "walk-forward"
    refused = {o.name: o.cons for o in risks.options if o.name != "walk-forward"}
    assert set(refused) == {"random split", "stratified split", "grouped split"}
    assert all("refused for a forecasting project" in cons[0] for cons in refused.values())
    assert "| validation scheme is walk-forward | pass |" in text(root, 5)


def test_lookahead_and_unknown_covariates_are_found_and_fail_their_fact_checks(
    project: dict,
) -> None:
    root = project["root"]
    project["outputs"]["risks"] = COVARIATE_RISKS
    assert engine.run(root) == "gate"
    risks = text(root, 3)
    assert "Lookahead suspects: `realinv`" in risks
    assert "known in advance that look observed: `cpi`" in risks
    assert "Strongest covariate: `realinv`, |correlation| 0.9910" in risks
    design = text(root, 5)
    assert "| no lookahead suspect left in the covariates | FAIL | realinv tracks" in design
    assert "| every known covariate is known in advance | FAIL | cpi looks observed" in design
    assert "Failed fact-checks: no lookahead suspect left in the covariates, every known" in (
        record(root, 6).context
    )


def test_a_random_split_is_refused_in_phase_five(project: dict, capsys) -> None:
    root = project["root"]
    assert engine.run(root, stop=4) == "done"
    facts = json.loads(facts_file(root).read_text())
    facts["risk-assessment"]["split"] = "random split"  # as if someone chose it
    facts_file(root).write_text(json.dumps(facts))
    assert engine.run(root) == "failed"
    state = run_state.load(root).phases[5]
    assert state.status == "failed"
    assert "refuse the split 'random split'" in state.note
    assert "validated walk-forward only" in state.note
    assert 5 not in adr.records(root / "docs/adr")
    assert "Phase 5 failed: the fact-checks refuse the split 'random split'" in (
        capsys.readouterr().out
    )


def test_the_experiment_sets_no_key_a_forecasting_config_lacks(project: dict) -> None:
    root = project["root"]
    run_through(root, "sota")  # the gru: still no batch size, class weights or split column
    experiment = yaml.safe_load((root / "configs/experiment.yaml").read_text())
    assert experiment["model"]["name"] == "gru"
    assert "batch_size" not in experiment["train"]
    assert "loss" not in experiment
    assert experiment["data"]["time_column"] == "time"
    assert json.loads(facts_file(root).read_text())["model-implementation"]["changes"] == {
        "model.name": "gru"
    }
    written = (root / "tests/test_experiment.py").read_text()
    assert '"model.name": "gru",' in written
    assert "group_column" not in written


def test_the_gru_is_exported_and_the_other_forecasters_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gru = canned_project(tmp_path / "gru", monkeypatch, task="forecasting")
    run_through(gru["root"], "sota")
    assert "export" in gru["calls"]
    assert "`export`: torch.export program matches the model" in text(gru["root"], 9)
    gbm = canned_project(tmp_path / "gbm", monkeypatch, task="forecasting")
    run_through(gbm["root"])
    assert "export" not in gbm["calls"]
    assert "`export`: not applicable, only the gru exports" in text(gbm["root"], 9)
    assert "* `predict`: 52 steps past 2001-12-29 for each series" in text(gbm["root"], 9)


def test_the_written_tests_are_the_forecasting_ones_and_pass_the_projects_lint(
    project: dict,
) -> None:
    root = project["root"]
    run_through(root)
    integration = (root / "tests/test_integration.py").read_text()
    assert "from co2cast.predict import export_model, predict_file" in integration
    assert "match=f\"only the {' and '.join(EXPORTABLE)} export\"" in integration
    assert "coverage" in integration
    assert "export_mlp" not in integration
    assert_written_tests_lint_clean(root)


def test_coverage_far_from_its_level_is_a_bad_line_and_a_next_step(project: dict) -> None:
    root = project["root"]
    project["outputs"]["evaluate"] = forecast_evaluation(
        metric(0.5731, 1.0412, 0.5214, 0.6248), 0.7, True
    )
    run_through(root)
    verdict = record(root, 11)
    assert any("-0.200 from the nominal level, more than 0.1" in line for line in verdict.bad)
    assert "recalibrate the prediction intervals" in text(root, 12)
    assert "(more than 0.1 of the nominal level)" in (root / "docs/model_card.md").read_text()


def test_the_series_answers_reach_every_command_as_well_formed_overrides(
    project: dict,
) -> None:
    root = project["root"]
    answer(root, covariates=["realgovt", "tbilrate"], series_column="", horizon=8)
    engine.run(root, stop=1)
    assert project["overrides"][0] == [
        "data.source=sample:co2",
        "data.target=target",
        "task=forecasting",
        "primary_metric=mase",
        "data.time_column=time",
        "data.series_column=null",
        "data.frequency=1w",
        "data.season=52",
        "data.known_covariates=[realgovt, tbilrate]",
        "forecast.horizon=8",
    ]
    assert "forecast 8 steps ahead" in text(root, 1)


def test_a_text_answer_of_covariates_is_a_list_of_names(project: dict) -> None:
    root = project["root"]
    answer(root, covariates="realgovt, tbilrate ,")
    engine.run(root, stop=1)
    assert "data.known_covariates=[realgovt, tbilrate]" in project["overrides"][0]


def test_a_tabular_project_gets_no_series_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    churn = canned_project(tmp_path / "churn", monkeypatch)
    answer(churn["root"], horizon=4, time_column="signup")  # answers a tabular config lacks
    engine.run(churn["root"], stop=1)
    assert churn["overrides"][0] == [
        "data.source=data/churn.csv",
        "data.target=churned",
        "task=classification",
        "primary_metric=roc_auc",
    ]


def test_claude_s_agents_are_told_the_forecasting_rules_and_a_tabular_project_s_are_not(
    project: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    churn = canned_project(tmp_path / "churn", monkeypatch)
    told = {}
    for name, root in (("co2", project["root"]), ("churn", churn["root"])):
        opened = Project.open(root)
        told[name] = phase_inputs(INFRASTRUCTURE_DESIGN, Context(opened, dict(opened.answers)))
    assert "## A forecasting project" in told["co2"]
    assert "refuse any random, stratified or grouped split" in told["co2"]
    assert "forecasting" not in told["churn"]
