"""The rules: every check is a small pure function `check_xxx(snap) -> list[Finding]`.

Register a rule with `@rule("GCS-02", "head pod is Ready", policy={ERROR: HEAD_DOWN})`: the policy
names, for each severity the rule reports, the clause of the severity policy (severity.py) it rests on. The engine (engine.py) imports every
rule module, runs the rules in the catalogue's evaluation order (diagnostics.md §1O), records
"not checked" when a rule lacks data (MissingData) and folds consequences into their root cause.
"""

from __future__ import annotations

from kubectl_ray.debug.rules.registry import PHASES, REGISTRY, Rule, RuleFunc, RuleResult, phase_of, rule

__all__ = ["PHASES", "REGISTRY", "Rule", "RuleFunc", "RuleResult", "all_rules", "phase_of", "rule"]


def all_rules() -> list[Rule]:
    """Every registered rule, in evaluation order (imports the rule modules on first use)."""
    from kubectl_ray.debug.rules import (  # noqa: F401 - importing registers the rules
        autoscaler, deep, fault_tolerance, gpu, head, jobs, network, operator, pods, resources, scheduling,
        services, status, versions, workers,
    )

    return sorted(REGISTRY, key=lambda r: (r.phase, r.id))


def rule_ids() -> list[str]:
    return sorted({r.id for r in all_rules()})
