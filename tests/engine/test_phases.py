"""The twelve phase specs: complete, consistent, and announced as the seeds ask."""

from __future__ import annotations

import ast
import re

import pytest
from conftest import ROOT
from ml_phases.phases import (
    DESIGN_APPROVAL,
    PHASES,
    READ_ONLY_ROLES,
    check_specs,
    gate,
    phase,
    redone_on_reject,
)

# (phase, agents per role) as the workflow prescribes them
EXPECTED_AGENTS = {
    1: {"ml-explorer": 1},
    2: {"ml-explorer": 3},
    3: {"ml-explorer": 1, "data-scientist": 1},
    4: {"ml-architect": 3},
    5: {"ml-architect": 2, "data-scientist": 2},
    6: {},
    7: {"ml-engineer": 3},
    8: {"mlops-engineer": 3},
    9: {"ml-engineer": 1, "mlops-engineer": 1},
    10: {"ml-reviewer": 3},
    11: {"ml-engineer": 1, "mlops-engineer": 1},
    12: {"ml-writer": 1},
}


def test_the_specs_are_sound() -> None:
    assert check_specs() == []


@pytest.mark.parametrize("number", range(1, 13))
def test_each_phase_has_its_agents(number: int) -> None:
    roles = [agent.role for agent in phase(number).agents]
    assert {role: roles.count(role) for role in roles} == EXPECTED_AGENTS[number]


def test_phase_five_checks_facts_only_after_the_architects() -> None:
    steps = phase(5).steps
    assert [agent.role for agent in steps[0].agents] == ["ml-architect"] * 2
    assert [agent.role for agent in steps[1].agents] == ["data-scientist"] * 2


def test_only_the_gate_has_no_agents_and_writers_own_disjoint_files() -> None:
    assert [spec.number for spec in PHASES if not spec.agents] == [6]
    assert phase(6).gate
    for spec in PHASES:
        owned = spec.owned_files("churn")
        writers = [a for a in spec.agents if a.role not in READ_ONLY_ROLES]
        assert sum(len(agent.owns) for agent in writers) <= len(owned)
        assert all("{pkg}" not in path for path in owned)


def test_meta_phases_run_in_order() -> None:
    assert [spec.meta for spec in PHASES] == (
        ["Discovery"] * 3 + ["Design"] * 3 + ["Implementation"] * 3 + ["Validation"] * 3
    )


def test_announcement() -> None:
    assert phase(5).announce() == (
        "Phase 5 of 12: Infrastructure Design\n"
        "Next: Phase 6 - Design Approval\n"
        "Agents: 2 x ml-architect, 2 x data-scientist"
        " (parallel: ml-architect, ml-architect then parallel: data-scientist, data-scientist)"
    )
    assert phase(6).announce().endswith("Agents: none (a gate)")
    assert phase(1).announce().endswith("Agents: ml-explorer")
    assert "Next: done" in phase(12).announce()


@pytest.mark.parametrize(
    ("mutation", "problem"),
    [
        ({"inputs": (7,)}, "an input is not an earlier phase"),
        ({"writes_code": True}, "writes_code does not match"),
        ({"meta": "Hype"}, "unknown meta-phase"),
    ],
)
def test_check_specs_finds_broken_specs(mutation: dict, problem: str) -> None:
    import dataclasses

    broken = tuple(
        dataclasses.replace(spec, **mutation) if spec.number == 3 else spec for spec in PHASES
    )
    assert any(problem in line for line in check_specs(broken))


def test_unknown_phase_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="phases are numbered 1 to 12"):
        phase(13)


def test_the_gate_and_what_a_rejection_redoes_come_from_the_specs() -> None:
    assert gate() is DESIGN_APPROVAL
    assert [spec.slug for spec in redone_on_reject()] == [
        "model-architecture",
        "infrastructure-design",
    ]
    assert phase(5).label == "Phase 5 of 12"


def test_no_code_outside_the_specs_writes_a_phase_number() -> None:
    hooks = ROOT / "hooks"
    literal = re.compile(r"facts\[[0-9]|GATE|of 12")
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(hooks.rglob("*.py"))
        if path.name != "phases.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of a module's, classes' and functions' docstring nodes."""
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def test_no_text_the_engine_writes_names_a_phase_by_a_written_out_number() -> None:
    """'phase 11' in a record comes from the spec's number, so renumbering cannot strand it."""
    numbered = re.compile(r"\b[Pp]hases? \d|\bADR \d{4}")
    found = []
    for path in sorted((ROOT / "hooks").rglob("*.py")):
        if path.name == "phases.py":
            continue
        tree = ast.parse(path.read_text())
        skip = docstrings(tree)
        found += [
            f"{path.name}:{node.lineno}: {node.value[:60]!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and numbered.search(node.value)
        ]
    assert found == []
