"""The Claude backend's parts that need no server: path confinement, the command allowlist,
secrets, the report schema and its merge, prices, and the retry waits."""

from __future__ import annotations

import os
import random
import re
import sys
from pathlib import Path

import pytest
import yaml
from fakes import CATALOGUE
from ml_phases.backends.base import PhaseIncomplete
from ml_phases.backends.claude import api, report
from ml_phases.backends.claude.limits import Budget, Limits
from ml_phases.backends.claude.pricing import PRICES, UnknownModel, Usage, price
from ml_phases.backends.claude.sandbox import Refused, Sandbox, clip, redact
from ml_phases.backends.claude.settings import Flags, Settings
from ml_phases.backends.claude.tools import Toolbox, definitions
from ml_phases.phases import CANDIDATE_ROLES, MODEL_ARCHITECTURE, PROBLEM_ANALYSIS, Phase
from ml_phases.project import Project, load_catalogue

KEY = "sk-ant-api03-sandbox-0123456789"
# Each role's model, as a generated project's catalogue says.
CANDIDATES = {role: model for model, role in load_catalogue(CATALOGUE).MODELS.items()}


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    root = tmp_path / "proj"
    for path in ("src/churn/models.py", "src/churn/data.py", "docs/adr/0001-a.md", "README.md"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"# {path}\n")
    (root / ".copier-answers.yml").write_text(yaml.safe_dump({"package_name": "churn"}))
    (root / ".git/hooks").mkdir(parents=True)
    (root / ".env").write_text(f"ANTHROPIC_API_KEY={KEY}\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside\n")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "src/churn/link.py").symlink_to(outside / "secret.txt")
    (root / "notes").symlink_to(root / ".env")
    return Sandbox(
        Project.open(root),
        frozenset({"src/churn/models.py", "src/churn/link.py", "docs/adr/0001-a.md"}),
        protected=frozenset({"docs/adr/0001-a.md"}),
    )


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd", "absolute"),
        ("~/x", "absolute"),
        ("../outside/secret.txt", "'..'"),
        ("src/../../outside/secret.txt", "'..'"),
        ("escape/secret.txt", "outside the project"),
        ("src/churn/link.py", "outside the project"),
        (".git/config", "inside .git/"),
        (".ml-flow/state.json", "inside .ml-flow/"),
        (".venv/bin/python", "inside .venv/"),
        (".env", "secrets"),
        ("docs/report.html", "the engine's page of the records"),
        ("", "non-empty"),
        (3, "non-empty"),
    ],
)
def test_paths_outside_the_project_or_into_its_machinery_are_refused(
    sandbox: Sandbox, path: object, why: str
) -> None:
    with pytest.raises(Refused, match=why):
        sandbox.resolve(path)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("src/churn/data.py", "not one of your files"),
        ("docs/adr/0001-a.md", "accepted ADR"),
        (".git/hooks/pre-commit", "inside .git/"),
        ("src/churn/link.py", "outside the project"),
    ],
)
def test_writes_go_only_to_the_agents_own_files(sandbox: Sandbox, path: str, why: str) -> None:
    with pytest.raises(Refused, match=why):
        sandbox.resolve(path, write=True)
    target, relative = sandbox.resolve("./src/churn/models.py", write=True)
    assert relative == "src/churn/models.py"
    assert target == sandbox.root / "src/churn/models.py"


def test_listing_and_search_skip_hidden_folders_secrets_and_links_out(sandbox: Sandbox) -> None:
    tools = Toolbox(sandbox, lambda: 60.0)
    listed, error = tools.call("list_files", {})
    assert not error
    assert "src/churn/models.py" in listed.splitlines()
    assert not any(
        name.startswith((".git", ".env", "escape")) or name == "src/churn/link.py"
        for name in listed.splitlines()
    )
    assert "notes" not in listed.splitlines()  # a link to .env inside the project
    for text in ("outside", "ANTHROPIC"):
        assert tools.call("search_files", {"text": text}) == ("no matches", False)
    found, error = tools.call("search_files", {"text": "MODELS.PY"})
    assert (found, error) == ("src/churn/models.py:1: # src/churn/models.py", False)


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("read_file", {"path": "README.md", "lines": "x"}, "bad arguments"),
        ("read_file", {}, "bad arguments"),
        ("read_file", {"path": "README.md", "colour": 1}, "bad arguments"),
        ("read_file", "README.md", "JSON object"),
        ("launch", {}, "no tool 'launch'"),
        ("search_files", {"text": ""}, "1 to 200 characters"),
        ("search_files", {"pattern": "(" * 1000}, "bad arguments"),
        ("read_file", {"path": "README.md", "start": float("inf")}, "bad arguments"),
        ("_init__", {}, "no tool"),
        ("_dir__", {}, "no tool"),
        ("read_file", {"path": ".GIT/config"}, "inside .GIT/"),
        ("read_file", {"path": "notes"}, "secrets"),
        ("write_file", {"path": "src/churn/models.py", "content": 7}, "string"),
        ("run_command", {"program": "bash", "args": ["-c", "id"]}, "not allowed"),
        ("run_command", {"program": "pytest", "args": "-q"}, "list of strings"),
        ("run_command", {"program": "pytest", "args": ["--basetemp=src"]}, "--basetemp"),
        ("run_command", {"program": "pytest", "args": ["-p", "no:x"]}, "'-p'"),
        ("run_command", {"program": "pytest", "args": ["/etc"]}, "absolute"),
        ("run_command", {"program": "ruff", "args": ["check", "--fix"]}, "--fix"),
        ("run_command", {"program": "ruff", "args": ["check", "--fix-only", "src"]}, "--fix-only"),
        ("run_command", {"program": "ruff", "args": ["check", "--add-noqa"]}, "--add-noqa"),
        ("run_command", {"program": "ruff", "args": ["check", "-o/tmp/x"]}, "-o/tmp/x"),
        ("run_command", {"program": "ruff", "args": ["check", ".env"]}, "secrets"),
        ("run_command", {"program": "ruff", "args": ["clean"]}, "ruff runs as"),
        ("run_command", {"program": "pytest", "args": ["--junitxml=.git/config"]}, "junitxml"),
        ("run_command", {"program": "pytest", "args": ["-cfoo.ini"]}, "-cfoo.ini"),
        ("run_command", {"program": "pytest", "args": ["-pplugin"]}, "-pplugin"),
        ("run_command", {"program": "pytest", "args": ["-k", "../x"]}, "'..'"),
        ("run_command", {"program": "pytest", "args": ["escape/t.py::test"]}, "outside"),
        ("run_command", {"program": "churn", "args": ["train", "--config", ".git/c"]}, ".git/"),
        ("run_command", {"program": "churn", "args": ["predict", "--out", "escape/x"]}, "outside"),
        ("run_command", {"program": "churn", "args": ["train", "data.source=/d.csv"]}, "absolute"),
        ("run_command", {"program": "ruff", "args": ["format", "src"]}, "only check"),
        ("run_command", {"program": "churn", "args": ["--out=../x.csv"]}, "'..'"),
    ],
)
def test_malformed_or_refused_tool_calls_come_back_as_tool_errors(
    sandbox: Sandbox, name: str, arguments: object, expected: str
) -> None:
    text, error = Toolbox(sandbox, lambda: 60.0).call(name, arguments)
    assert error
    assert re.search(expected, text), text


def test_commands_run_without_a_shell_and_without_secrets(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("MY_DB_PASSWORD", "hunter2-long")
    monkeypatch.setenv("HARMLESS", "visible-value")
    monkeypatch.setattr(Project, "python", property(lambda self: sys.executable))
    probe = sandbox.root / "tests/test_probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "import os\n\ndef test_env():\n"
        "    print(sorted(os.environ))\n    print(os.environ.get('HARMLESS'))\n"
    )
    text, error = Toolbox(sandbox, lambda: 60.0).call(
        "run_command", {"program": "pytest", "args": ["-s", "-q", "tests/test_probe.py; id"]}
    )
    assert not error
    assert "no tests ran" in text or "not found" in text  # the argument is a path, not a shell
    text, error = Toolbox(sandbox, lambda: 60.0).call(
        "run_command", {"program": "pytest", "args": ["-s", "-q", "tests/test_probe.py"]}
    )
    assert not error
    assert text.startswith("exit code 0"), text
    assert "visible-value" in text
    assert "ANTHROPIC_API_KEY" not in text
    assert "MY_DB_PASSWORD" not in text


def test_command_time_is_bounded_by_the_phase(sandbox: Sandbox) -> None:
    text, error = Toolbox(sandbox, lambda: 0.5).call(
        "run_command", {"program": "ruff", "args": ["check"]}
    )
    assert error
    assert "time limit" in text


def test_reads_are_paged_clipped_and_redacted(sandbox: Sandbox, monkeypatch) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", "tok-abcdef-123456")
    (sandbox.root / "notes.txt").write_text(
        "\n".join(f"line {i} tok-abcdef-123456 {KEY}" for i in range(1, 1001))
    )
    text, error = Toolbox(sandbox, lambda: 60.0).call(
        "read_file", {"path": "notes.txt", "start": 10, "lines": 5}
    )
    assert not error
    assert text.splitlines()[0] == "notes.txt: lines 10-14 of 1000"
    assert "tok-abcdef-123456" not in text
    assert KEY not in text
    assert text.count("[REDACTED]") == 10
    assert len(clip("x" * 50_000)) < 13_000


def test_haiku_prompts_over_100k_tokens_are_priced_at_the_higher_tier() -> None:
    short = Usage(input=50_000, output=1_000)
    long = Usage(input=50_000, output=1_000, cache_read=60_000)
    assert short.cost("claude-haiku-5-5") == pytest.approx((50_000 * 0.10 + 1_000 * 0.50) / 1e6)
    expected = (50_000 * 0.50 + 1_000 * 2.50 + 60_000 * 0.05) / 1e6
    assert long.cost("claude-haiku-5-5") == pytest.approx(expected)


def test_redact_masks_secret_values_and_anything_shaped_like_a_key() -> None:
    assert redact(f"key={KEY} pw=hunter2-long", ["hunter2-long"]) == "key=[REDACTED] pw=[REDACTED]"
    assert redact("sk-ant-short") == "sk-ant-short"  # too short to be a key


def test_writing_an_owned_file(sandbox: Sandbox) -> None:
    tools = Toolbox(sandbox, lambda: 60.0)
    text, error = tools.call("write_file", {"path": "src/churn/models.py", "content": "x = 1\n"})
    assert (text, error) == ("wrote src/churn/models.py (1 lines)", False)
    assert tools.written == {"src/churn/models.py"}
    assert (sandbox.root / "src/churn/models.py").read_text() == "x = 1\n"


def test_tool_definitions_are_stable_and_name_the_package() -> None:
    first, second = definitions("churn"), definitions("churn")
    assert first == second
    names = [tool["name"] for tool in first]
    assert names == [
        "list_files",
        "read_file",
        "search_files",
        "write_file",
        "run_command",
        "submit_report",
    ]
    assert first[4]["input_schema"]["properties"]["program"]["enum"] == ["pytest", "ruff", "churn"]


def _raw(**fields: object) -> dict:
    base = {
        "title": "Pick a model",
        "context": "measured",
        "drivers": ["speed"],
        "options": [{"name": "baseline"}, {"name": "sota"}],
        "chosen": "baseline",
        "because": "fast",
    }
    return base | fields


@pytest.mark.parametrize(
    ("raw", "spec", "problem"),
    [
        (_raw(chosen="gbm"), PROBLEM_ANALYSIS, "not among the options"),
        (_raw(drivers=[]), PROBLEM_ANALYSIS, "drivers"),
        (_raw(title=None), PROBLEM_ANALYSIS, "title"),
        (_raw(extra=1), PROBLEM_ANALYSIS, "extra"),
        (_raw(options=[{"name": "a"}, {"name": "a"}], chosen="a"), PROBLEM_ANALYSIS, "same name"),
        (
            _raw(options=[{"name": "lasso"}], chosen="lasso"),
            MODEL_ARCHITECTURE,
            "baseline, sota, pragmatic",
        ),
        ("not an object", PROBLEM_ANALYSIS, "report"),
    ],
)
def test_invalid_reports_name_each_problem(raw: object, spec: Phase, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        report.validate(raw, spec, CANDIDATES)


def test_a_rejected_candidate_cannot_be_chosen_again() -> None:
    with pytest.raises(ValueError, match="rejected baseline"):
        report.validate(_raw(), MODEL_ARCHITECTURE, CANDIDATES, frozenset({"baseline"}))
    rejected = frozenset({"baseline"})
    chosen = report.validate(_raw(chosen="sota"), MODEL_ARCHITECTURE, CANDIDATES, rejected)
    assert chosen.chosen == "sota"


def test_merge_takes_the_majority_choice_and_joins_the_rest() -> None:
    found = [_finding(90), _finding(50)]
    a = report.validate(_raw(good=["simple"], findings=found), PROBLEM_ANALYSIS, CANDIDATES)
    b = report.validate(
        _raw(chosen="sota", good=["simple", "accurate"]), PROBLEM_ANALYSIS, CANDIDATES
    )
    c = report.validate(_raw(chosen="sota", because="best score"), PROBLEM_ANALYSIS, CANDIDATES)
    merged = report.merge([("agent a", a), ("agent b", b), ("agent c", c)])
    assert merged.chosen == "sota"
    assert merged.because == "agent b: fast agent c: best score"
    assert merged.good == ["simple", "accurate"]
    assert [option.name for option in merged.options] == ["baseline", "sota"]
    assert "**agent a**: measured" in merged.context
    assert "src/x.py:3 (90)" in merged.more
    assert "1 finding(s) below 80" in merged.more
    assert merged.facts.findings == [_finding(90)]
    tie = report.merge([("a", a), ("b", b)])
    assert tie.chosen == "baseline"  # a tie goes to the earlier agent


def _finding(confidence: int) -> dict:
    return {"file": "src/x.py", "line": 3, "confidence": confidence, "message": "no eval()"}


def test_the_schema_is_self_contained_json_schema() -> None:
    schema = report.schema()
    assert "$ref" not in str(schema)
    assert schema["required"] == ["title", "context", "drivers", "options", "chosen", "because"]


def test_usage_is_priced_from_the_one_table() -> None:
    usage = Usage(input=1_000_000, output=1_000_000, cache_write=1_000_000, cache_read=1_000_000)
    rates = PRICES["claude-sonnet-5-5"]
    expected = rates.input + rates.output + rates.cache_write + rates.cache_read
    assert usage.cost("claude-sonnet-5-5") == pytest.approx(expected)
    assert (usage + usage).cost("claude-haiku-5-5") == pytest.approx(
        2 * usage.cost("claude-haiku-5-5")
    )
    with pytest.raises(UnknownModel, match="no price"):
        price("claude-unknown-1")
    assert set(CANDIDATE_ROLES) == {"baseline", "sota", "pragmatic"}


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"retry-after": "3600"}, 5.0, 5.0),
        ({"retry-after-ms": "250"}, 0.25, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.5, 1.0),
        ({}, 0.5, 1.0),
    ],
)
def test_retry_waits_are_capped_whatever_the_server_says(
    headers: dict, low: float, high: float
) -> None:
    policy = api.RetryPolicy(backoff_s=1.0, cap_s=5.0)
    wait = api.wait_seconds(1, headers, policy, random.Random(0))
    assert low <= wait <= high
    assert api.wait_seconds(10, {}, policy, random.Random(0)) <= 5.0


def test_limits_stop_every_agent_once_the_budget_is_spent() -> None:
    budget = Budget(limit_usd=0.01)
    limits = Limits(budget, seconds=60, max_turns=5)
    limits.check()
    budget.charge(0.02)
    with pytest.raises(PhaseIncomplete, match=r"budget of \$0.01 is spent"):
        limits.check()
    late = Limits(Budget(None), seconds=0, max_turns=5)
    with pytest.raises(PhaseIncomplete, match="time limit"):
        late.check()


def test_a_missing_key_or_sdk_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ml_phases.backends.base import BackendError

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BackendError, match="needs ANTHROPIC_API_KEY"):
        api.client()
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(BackendError, match="needs the anthropic SDK"):
        api.client()
    assert os.environ.get("ANTHROPIC_API_KEY") is None


def test_settings_come_from_the_flags_then_the_answers_then_the_defaults() -> None:
    assert Settings.resolve({}, Flags()) == Settings()
    answers = {"claude_model": "claude-haiku-5-5", "budget_usd": 2}
    answered = Settings.resolve(answers, Flags(max_turns=3))
    assert (answered.model, answered.budget_usd, answered.max_turns) == ("claude-haiku-5-5", 2, 3)
    assert answered.phase_seconds == Settings().phase_seconds
    flagged = Settings.resolve(answers, Flags(model="m", budget_usd=1.0, phase_minutes=2))
    assert (flagged.model, flagged.budget_usd, flagged.phase_seconds) == ("m", 1.0, 120)
