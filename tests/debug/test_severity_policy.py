"""The severity policy (kubectl_ray/debug/severity.py): every rule says which clause each of its severities rests
on; `undeclared` is what the rule tests, the healthy-sample guard and the incident corpus check every finding with."""

from __future__ import annotations

import pytest

from kubectl_ray.debug.finding import ERROR, INFO, WARNING, Finding
from kubectl_ray.debug.rules import all_rules
from kubectl_ray.debug.severity import CLAUSES, check_policy, severity_of

RULES = {r.id: r for r in all_rules()}


def test_the_policy_has_clauses_for_each_severity_and_no_clause_twice() -> None:
    assert set(CLAUSES) == {ERROR, WARNING, INFO}
    every = [c for clauses in CLAUSES.values() for c in clauses]
    assert len(every) == len(set(every))
    assert severity_of("head-down") == ERROR and severity_of("at-risk") == WARNING and severity_of("by-design") == INFO


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_declares_clauses_that_belong_to_their_severity(rule) -> None:
    assert not check_policy(rule.id, rule.policy)


def test_a_clause_of_the_wrong_severity_is_refused() -> None:
    assert check_policy("X-01", {ERROR: "at-risk"}) == ["X-01: clause 'at-risk' is not a error clause"]
    assert check_policy("X-01", {}) == ["X-01 declares no severity policy"]
    assert check_policy("X-01", {ERROR: ("head-down", "by-design")}) == ["X-01: clause 'by-design' is not a error clause"]


def undeclared(findings: list[Finding]) -> list[str]:
    """Findings whose clause is not one their rule declared for their severity (the rule tests, the healthy samples
    and the incident corpus call this on every finding they produce)."""
    problems = []
    for f in findings:
        declared = RULES[f.id].clauses(f.severity)
        if f.policy not in declared:
            problems.append(f"{f.id} {f.severity} ({f.title}): clause {f.policy!r}, declared {declared}")
    return problems
