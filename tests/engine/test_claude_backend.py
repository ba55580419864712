"""`ml-phases run --backend claude` against a local fake Messages API (real HTTP, the real
SDK): whole phases of tool-using agents, malicious tool calls, API faults, budgets and resume,
and no API key anywhere it could be written."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_anthropic import (
    FakeAPI,
    Fault,
    focus_key,
    phase_scripts,
    report,
    serve,
    text,
    tool_use,
)
from fakes import RED, canned_project
from ml_phases import adr, cli, engine
from ml_phases import state as run_state
from ml_phases.backends.base import BackendError
from ml_phases.backends.claude.api import RetryPolicy
from ml_phases.backends.claude.pricing import Usage
from ml_phases.backends.claude.settings import Flags
from ml_phases.changes import project_files
from ml_phases.phases import phase
from ml_phases.project import Project

KEY = "sk-ant-api03-FAKE-KEY-for-tests-0123456789"
REAL_RUN = Project.run  # canned_project replaces it; agents' commands run for real here
FAST = RetryPolicy(attempts=3, backoff_s=0.01, cap_s=0.05, request_timeout_s=1.0)


def flags(**changes: Any) -> Flags:
    return Flags(retry=FAST, **changes)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPI]:
    fake = FakeAPI()
    with serve(fake):
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        yield fake


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A canned project in a git repository, whose commands run for real."""
    canned = canned_project(tmp_path / "churn", monkeypatch)
    monkeypatch.setattr(Project, "run", REAL_RUN)
    root = canned["root"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True
        )
    return canned


def script_phases(api: FakeAPI, *numbers: int) -> None:
    for number in numbers:
        api.scripts |= phase_scripts(phase(number), "churn")


def record(root: Path, number: int) -> adr.Record:
    return adr.parse(adr.records(root / "docs/adr")[number].read_text())


def requests_of(api: FakeAPI, focus: str) -> list[dict[str, Any]]:
    key = focus_key(focus)
    return [r for r in api.requests if key in json.dumps(r["messages"][0])]


def leaks(root: Path, *texts: str, planted: tuple[str, ...] = ()) -> list[str]:
    """Files under root (the git store and files a test planted aside) or texts that hold
    the API key."""
    found = [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and str(path.relative_to(root)) not in planted
        and KEY.encode() in path.read_bytes()
    ]
    return found + [f"output {i}" for i, words in enumerate(texts) if KEY in words]


def test_an_agent_works_through_its_tools_and_its_report_becomes_the_record(
    api: FakeAPI, project: dict
) -> None:
    root = project["root"]
    focus = phase(1).agents[0].focus
    api.scripts[focus_key(focus)] = [
        [text("Looking around."), tool_use("list_files", path=".")],
        [tool_use("read_file", path=".copier-answers.yml")],
        [tool_use("run_command", program="ruff", args=["check", "src"])],
        [report("classification", title="Frame churn as classification")],
    ]
    lines: list[str] = []
    assert engine.run(root, stop=1, backend="claude", claude=flags(), say=lines.append) == "done"
    sent = requests_of(api, focus)
    assert len(sent) == 4
    results = [block for block in sent[2]["messages"][-1]["content"]]
    assert results[0]["type"] == "tool_result"
    assert "package_name: churn" in results[0]["content"]
    assert "exit code 0" in sent[3]["messages"][-1]["content"][0]["content"]
    written = record(root, 1)
    assert written.title == "Frame churn as classification"
    assert written.chosen == "classification"
    flow = written.flow
    assert (flow["backend"], flow["model"]) == ("claude", "claude-sonnet-5-5")
    # Four replies of 100 input and 50 output tokens; the first writes the cached prefix.
    assert flow["tokens"] == {"input": 400, "output": 200, "cache_write": 1000, "cache_read": 3000}
    expected = Usage(input=400, output=200, cache_write=1000, cache_read=3000)
    assert flow["cost_usd"] == pytest.approx(expected.cost("claude-sonnet-5-5"))
    assert "4 turns" in written.more
    transcript = root / ".ml-flow/transcripts/phase-01/agent-1-ml-explorer.jsonl"
    events = [json.loads(line)["event"] for line in transcript.read_text().splitlines()]
    assert events[0] == "start"
    assert events.count("reply") == 4
    assert events[-1] == "done"
    usage = [json.loads(line) for line in (root / ".ml-flow/usage.jsonl").read_text().splitlines()]
    assert usage[0]["tokens"] == flow["tokens"]
    assert "commit" in lines[-1]
    assert not leaks(root, *lines)


def test_every_request_carries_the_cache_markers_on_the_stable_prefix(
    api: FakeAPI, project: dict
) -> None:
    script_phases(api, 1)
    focus = phase(1).agents[0].focus
    api.scripts[focus_key(focus)] = [[tool_use("list_files")], [tool_use("list_files")], [report()]]
    engine.run(project["root"], stop=1, backend="claude", claude=flags())
    sent = requests_of(api, focus)
    for request in sent:
        assert request["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert "Phase 1 of 12" in request["system"][-1]["text"]
        assert request["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        assert [tool["name"] for tool in request["tools"]][-1] == "submit_report"
    assert sent[0]["system"] == sent[-1]["system"]
    assert sent[0]["tools"] == sent[-1]["tools"]
    # Only the newest message is marked: earlier markers would exceed the API's four.
    assert "cache_control" not in json.dumps(sent[-1]["messages"][:-1])


def test_a_phases_agents_run_concurrently_and_their_reports_merge(
    api: FakeAPI, project: dict
) -> None:
    root = project["root"]
    script_phases(api, 1, 2)
    focuses = [agent.focus for agent in phase(2).agents]
    api.scripts[focus_key(focuses[0])] = [[report("polars")]]
    api.scripts[focus_key(focuses[1])] = [[report("pandas")]]
    api.scripts[focus_key(focuses[2])] = [[report("polars")]]
    engine.run(root, stop=1, backend="claude", claude=flags())
    api.together = 3  # no reply until all three agents have asked: they must ask at once
    assert engine.run(root, stop=2, backend="claude", claude=flags()) == "done"
    assert api.most_in_flight == 3
    merged = record(root, 2)
    assert merged.chosen == "polars"
    assert [o.name for o in merged.options] == ["polars", "other", "pandas"]
    assert merged.context.count("**ml-explorer (") == 3
    assert merged.flow["agents"] == ["ml-explorer"] * 3


def test_phase_five_fact_checks_only_after_its_architects_report(
    api: FakeAPI, project: dict
) -> None:
    root = project["root"]
    engine.run(root, stop=4)  # the offline analysts may do the earlier phases
    script_phases(api, 5)
    assert engine.run(root, stop=5, backend="claude", claude=flags()) == "done"
    architects, checkers = (step.agents for step in phase(5).steps)
    last_architect = max(
        api.requests.index(r) for a in architects for r in requests_of(api, a.focus)
    )
    first_checker = min(api.requests.index(r) for a in checkers for r in requests_of(api, a.focus))
    assert last_architect < first_checker
    brief = requests_of(api, checkers[0].focus)[0]["messages"][0]["content"][0]["text"]
    assert all(f"What {a.role} ({a.focus}) reported" in brief for a in architects)


def test_the_whole_run_through_the_cli_with_the_gate_and_code_phases(
    api: FakeAPI, project: dict, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    root = project["root"]
    monkeypatch.chdir(root)
    script_phases(api, *range(1, 13))
    run = ["run", "--backend", "claude", "--budget-usd", "2"]
    cli.main(run)
    assert "Design approval needed" in capsys.readouterr().out
    gate = record(root, 6)
    assert (gate.status, gate.chosen) == ("proposed", "pragmatic")
    assert [o.name for o in gate.options] == ["baseline", "sota", "pragmatic"]
    architects = {o.name: o for o in record(root, 4).options}
    for option in gate.options:  # the gate argues both sides as phase 4 did
        assert option.cons == architects[option.name].cons
        assert set(architects[option.name].pros) <= set(option.pros)
    assert (gate.good, gate.bad) == (record(root, 4).good, record(root, 4).bad)
    cli.main(["approve", "--option", "sota"])
    cli.main(run)
    out = capsys.readouterr()
    assert "All phases in range are done" in out.out
    assert sorted(adr.records(root / "docs/adr")) == list(range(1, 13))
    assert (root / "src/churn/models.py").read_text() == '"""By ml-engineer."""\n'
    assert (root / "docs/model_card.md").read_text() == '"""By ml-writer."""\n'
    phase7 = requests_of(api, phase(7).agents[0].focus)[0]
    assert "Approved at the gate: sota" in phase7["system"][-1]["text"]
    total = sum(record(root, n).flow["cost_usd"] for n in range(1, 13))
    assert 0 < total < 2
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert "Phase 7 of 12: Model Implementation" in log
    assert "Phase 12 of 12: Summary" in log
    assert not subprocess.run(
        ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert not leaks(root, out.out, out.err)


def test_a_code_phase_whose_tests_fail_keeps_nothing(api: FakeAPI, project: dict) -> None:
    root = project["root"]
    engine.run(root)
    engine.approve(root)
    script_phases(api, 7)
    project["outputs"]["tests"] = RED
    before = (root / "src/churn/models.py").read_text()
    assert engine.run(root, stop=7, backend="claude", claude=flags()) == "failed"
    assert (root / "src/churn/models.py").read_text() == before
    assert not (root / "tests/test_experiment.py").exists()
    assert run_state.load(root).phases[7].status == "failed"


def test_malicious_tool_calls_change_nothing_outside_the_agents_files(
    api: FakeAPI, project: dict, tmp_path: Path
) -> None:
    root = project["root"]
    engine.run(root)
    engine.approve(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("untouched\n")
    (root / "src/churn/escape").symlink_to(outside, target_is_directory=True)
    (root / "config.txt").write_text(f"api_key: {KEY}\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        cwd=root,
        check=True,
    )
    before = {p: (root / p).read_bytes() for p in project_files(root)}
    script_phases(api, 7)
    engineer, _, config_engineer = phase(7).agents
    attacks = [
        tool_use("read_file", path="../outside/target.py"),
        tool_use("read_file", path=str(outside / "target.py")),
        tool_use("write_file", path=".git/hooks/pre-commit", content="#!/bin/sh\nrm -rf /\n"),
        tool_use("write_file", path="src/churn/escape/target.py", content="owned\n"),
        tool_use("write_file", path="src/churn/data.py", content="stolen\n"),
        tool_use(
            "write_file", path=str(adr.records(root / "docs/adr")[1].relative_to(root)), content="x"
        ),
        tool_use("write_file", path="../../evil.py", content="x"),
        tool_use("run_command", program="bash", args=["-c", "touch /tmp/pwned"]),
        tool_use("run_command", program="python", args=["-c", "print(1)"]),
        tool_use("run_command", program="pytest", args=["--basetemp=src"]),
        tool_use("run_command", program="pytest", args=["-q", "--junitxml=.git/config"]),
        tool_use("run_command", program="ruff", args=["check", ".env"]),
        tool_use("run_command", program="ruff", args=["check", "--fix-only", "src"]),
        tool_use("read_file", path=".env"),
        tool_use("read_file", path=".ml-flow/state.json"),
        tool_use("list_files", path=".."),
        tool_use("read_file", path="config.txt"),
        tool_use("no_such_tool"),
    ]
    api.scripts[focus_key(engineer.focus)] = [[call] for call in attacks] + [[report()]]
    # The engineer who owns a test file makes it read the environment and change another file.
    probe = (
        "import os\nfrom pathlib import Path\n\n\ndef test_probe():\n"
        "    print('ENV', sorted(os.environ))\n"
        "    Path('src/churn/config.py').write_text('changed by a test\\n')\n"
        "    Path('src/churn/models.py').write_text('not by its owner\\n')\n"
    )
    api.scripts[focus_key(config_engineer.focus)] = [
        [tool_use("write_file", path="tests/test_experiment.py", content=probe)],
        [tool_use("run_command", program="pytest", args=["-s", "-q", "tests/test_experiment.py"])],
        [report()],
    ]
    assert engine.run(root, stop=7, backend="claude", claude=flags(max_turns=30)) == "done"
    replies = [
        block
        for request in requests_of(api, engineer.focus)[1:]
        for block in request["messages"][-1]["content"]
        if block["type"] == "tool_result"
    ]
    assert len(replies) == len(attacks)
    assert all(reply.get("is_error") for reply in replies[:-2]), replies
    assert "[REDACTED]" in replies[-2]["content"]
    assert KEY not in json.dumps(api.requests[-1]["messages"])
    probe_run = requests_of(api, config_engineer.focus)[2]["messages"][-1]["content"][0]["content"]
    assert "ENV" in probe_run
    assert "ANTHROPIC_API_KEY" not in probe_run
    assert (outside / "target.py").read_text() == "untouched\n"
    assert not (root / ".git/hooks/pre-commit").exists()
    changed = {p for p in project_files(root) if (root / p).read_bytes() != before.get(p)}
    allowed = {"src/churn/models.py", "src/churn/losses.py", "src/churn/metrics.py"}
    allowed |= {"configs/experiment.yaml", "tests/test_experiment.py"}
    assert changed - allowed - {p for p in changed if p.startswith("docs/adr/")} == set()
    assert (root / "src/churn/config.py").read_bytes() == before["src/churn/config.py"]
    assert (root / "src/churn/models.py").read_bytes() == before["src/churn/models.py"]
    put_back = " ".join(record(root, 7).bad)
    assert "no agent wrote: put back src/churn/config.py, src/churn/models.py" in put_back
    [folder] = (root / ".ml-flow/put-back").glob("*-7")  # <time>-<phase>, as the engine's
    assert f"(as they were changed: .ml-flow/put-back/{folder.name}/)" in put_back
    assert (folder / "src/churn/config.py").read_text() == "changed by a test\n"
    assert not leaks(root, planted=("config.txt",))


@pytest.mark.parametrize(
    "fault",
    [
        Fault(429, headers={"retry-after": "3600"}),
        Fault(529, '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}'),
        Fault(500),
        Fault(200, "{not json"),
        Fault(200, hang=1.5),  # longer than the client's 1 s timeout
    ],
    ids=["429-retry-after", "529", "500", "malformed-json", "timeout"],
)
def test_transient_faults_are_retried_with_capped_waits(
    api: FakeAPI, project: dict, fault: Fault
) -> None:
    script_phases(api, 1)
    api.faults = [fault]
    lines: list[str] = []
    assert (
        engine.run(project["root"], stop=1, backend="claude", claude=flags(), say=lines.append)
        == "done"
    )
    assert len(api.requests) == 2
    retry = next(line for line in lines if "retrying in" in line)
    assert float(retry.rsplit("retrying in ", 1)[1].split()[0]) <= FAST.cap_s


def test_faults_past_the_retries_leave_the_phase_incomplete_to_resume(
    api: FakeAPI, project: dict
) -> None:
    root = project["root"]
    script_phases(api, 1)
    api.faults = [Fault(503)] * FAST.attempts
    lines: list[str] = []
    ended = engine.run(root, stop=1, backend="claude", claude=flags(), say=lines.append)
    assert ended == "incomplete"
    assert any(
        "Phase 1 stopped before it finished: the Anthropic API failed 3 times" in line
        for line in lines
    )
    assert run_state.load(root).phases[1].status == "incomplete"
    assert engine.run(root, stop=1, backend="claude", claude=flags()) == "done"


def _error(kind: str, message: str) -> str:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}})


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, _error("authentication_error", "invalid x-api-key"), "refused the credentials"),
        (403, _error("permission_error", "no access"), "refused the credentials"),
        (
            429,
            '{"type":"error","error":{"type":"rate_limit_error","message":"monthly cap",'
            '"details":{"error_code":"enforced_spend_limit_reached"}}}',
            "spend limit",
        ),
        (
            400,
            '{"type":"error","error":{"type":"invalid_request_error",'
            '"message":"You have reached your specified API usage limits."}}',
            "spend limit",
        ),
    ],
    ids=["401", "403", "spend-limit-429", "spend-limit-400"],
)
def test_refusals_stop_at_once_with_one_line_and_no_retry(
    api: FakeAPI,
    project: dict,
    capsys: pytest.CaptureFixture[str],
    monkeypatch,
    status: int,
    body: str,
    expected: str,
) -> None:
    monkeypatch.chdir(project["root"])
    script_phases(api, 1)
    api.faults = [Fault(status, body)]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "--to", "1", "--backend", "claude"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert expected in err
    assert len(api.requests) == 1
    assert KEY not in err


def test_a_spent_budget_stops_the_phase_and_a_later_run_resumes_it(
    api: FakeAPI, project: dict, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    root = project["root"]
    monkeypatch.chdir(root)
    engine.run(root, stop=4)
    script_phases(api, 5)
    architects, checkers = (step.agents for step in phase(5).steps)
    for agent in checkers:  # each fact-checker looks around three times before reporting
        api.scripts[focus_key(agent.focus)] = [[tool_use("list_files")]] * 3 + [[report()]]
    # The architects' two replies cost $0.0040 (one cache write); the budget ends in step two.
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "--to", "5", "--backend", "claude", "--budget-usd", "0.0045"])
    assert stopped.value.code == 3
    assert "the budget of $0.0045 is spent" in capsys.readouterr().out
    assert run_state.load(root).phases[5].status == "incomplete"
    assert 5 not in adr.records(root / "docs/adr")
    first = len(api.requests)
    cli.main(["run", "--to", "5", "--backend", "claude", "--budget-usd", "1"])
    resumed = api.requests[first:]
    assert not any(
        focus_key(a.focus) in json.dumps(r["messages"][0]) for a in architects for r in resumed
    )
    assert len(resumed) == 2 * 4
    assert run_state.load(root).phases[5].status == "done"
    written = record(root, 5)
    assert written.more.count("report reused from an interrupted attempt") == 2
    usage = [json.loads(line) for line in (root / ".ml-flow/usage.jsonl").read_text().splitlines()]
    stopped = [row for row in usage[:4] if not row["finished"]]
    assert [row["agent"].split(" (")[0] for row in stopped] == ["data-scientist"] * 2
    # What the stopped agents spent is logged: a fact-checker that started after the budget ran
    # out spent nothing, but the first attempt's rows add up to at least the budget it used up.
    assert sum(row["cost_usd"] for row in stopped) > 0
    assert sum(row["cost_usd"] for row in usage[:4]) >= 0.0045
    assert sum(row["cost_usd"] for row in usage if row["phase"] == 5) > written.flow["cost_usd"]


def test_an_agent_that_never_reports_stops_at_the_turn_limit(api: FakeAPI, project: dict) -> None:
    script_phases(api, 1)
    api.scripts[focus_key(phase(1).agents[0].focus)] = [[text("Thinking...")]]
    lines: list[str] = []
    ended = engine.run(
        project["root"], stop=1, backend="claude", claude=flags(max_turns=3), say=lines.append
    )
    assert ended == "incomplete"
    assert len(api.requests) == 3
    assert "used its 3 turns without submitting a report" in lines[-1]
    nudge = api.requests[1]["messages"][-1]["content"][0]["text"]
    assert "submit_report" in nudge


def test_one_agents_refusal_stops_its_siblings_at_once(api: FakeAPI, project: dict) -> None:
    root = project["root"]
    engine.run(root, stop=1)
    script_phases(api, 2)
    first, *others = phase(2).agents
    api.scripts[focus_key(first.focus)] = [Fault(401, _error("authentication_error", "bad key"))]
    for agent in others:  # left alone, each would look around forty times
        api.scripts[focus_key(agent.focus)] = [[tool_use("list_files")]]
    api.latency = 0.1
    with pytest.raises(BackendError, match="refused the credentials"):
        engine.run(root, stop=2, backend="claude", claude=flags())
    assert len(api.requests) <= 1 + 2 * 3
    usage = [json.loads(line) for line in (root / ".ml-flow/usage.jsonl").read_text().splitlines()]
    assert len(usage) == 3


def test_an_empty_reply_is_nudged_not_sent_back_empty(api: FakeAPI, project: dict) -> None:
    script_phases(api, 1)
    focus = phase(1).agents[0].focus
    api.scripts[focus_key(focus)] = [[], [report()]]
    assert engine.run(project["root"], stop=1, backend="claude", claude=flags()) == "done"
    assistant = requests_of(api, focus)[1]["messages"][1]
    assert assistant["content"] == [{"type": "text", "text": "(empty reply)"}]


def test_an_invalid_report_goes_back_to_the_agent_to_fix(api: FakeAPI, project: dict) -> None:
    script_phases(api, 1)
    focus = phase(1).agents[0].focus
    invalid = report("a")
    invalid["input"]["chosen"] = "missing"
    api.scripts[focus_key(focus)] = [[invalid], [report("a")]]
    assert engine.run(project["root"], stop=1, backend="claude", claude=flags()) == "done"
    error = requests_of(api, focus)[1]["messages"][-1]["content"][0]
    assert error["is_error"] is True
    assert "chosen 'missing' is not among the options" in error["content"]


def test_the_phase_clock_stops_a_slow_phase(api: FakeAPI, project: dict) -> None:
    script_phases(api, 1)
    api.latency = 0.4
    api.scripts[focus_key(phase(1).agents[0].focus)] = [[tool_use("list_files")]] * 9 + [[report()]]
    lines: list[str] = []
    ended = engine.run(
        project["root"],
        stop=1,
        backend="claude",
        claude=flags(phase_minutes=1 / 60),
        say=lines.append,
    )
    assert ended == "incomplete"
    assert any("time limit of 1 s" in line for line in lines)


def test_offline_phases_refuse_to_build_on_claudes(api: FakeAPI, project: dict) -> None:
    root = project["root"]
    script_phases(api, 1)
    engine.run(root, stop=1, backend="claude", claude=flags())
    with pytest.raises(engine.EngineError, match="the Claude agents did phase 1"):
        engine.run(root, stop=2, backend="offline")


def test_the_answers_choose_the_backend_and_an_unknown_model_is_refused(
    api: FakeAPI, project: dict
) -> None:
    root = project["root"]
    answers = root / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "agent_backend: claude\nclaude_model: claude-x-1\n")
    with pytest.raises(BackendError, match="'claude-x-1' has no price"):
        engine.run(root, stop=1)
    assert not api.requests


def test_a_bad_budget_answer_is_one_line(project: dict, capsys, monkeypatch) -> None:
    root = project["root"]
    monkeypatch.chdir(root)
    answers = root / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "agent_backend: claude\nbudget_usd: lots\n")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run"])
    assert stopped.value.code == 2
    assert "budget_usd answer 'lots' is not an amount above 0" in capsys.readouterr().err
