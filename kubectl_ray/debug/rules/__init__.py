"""The rule registry: every check is a small pure function `check_xxx(snap) -> list[Finding]`.

Register a rule with `@rule("GCS-02", "head pod is Ready", policy={ERROR: HEAD_DOWN})`: the policy
names, for each severity the rule reports, the clause of the severity policy (severity.py) it rests on. The engine (engine.py) imports every
rule module, runs the rules in the catalogue's evaluation order (diagnostics.md §1O), records
"not checked" when a rule lacks data (MissingData) and folds consequences into their root cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from kubectl_ray.debug.finding import Finding, NotChecked
from kubectl_ray.debug.snapshot import Snapshot

RuleResult = list[Union[Finding, NotChecked]]
RuleFunc = Callable[[Snapshot], RuleResult]

# Evaluation order (diagnostics.md §1O): lower runs and is listed first within a severity.
PHASES = {
    "OP": 10, "VER": 30, "GCS": 40, "SCH": 42, "IMG": 43, "CRASH": 44, "NET": 46, "WKR": 50, "AS": 60,
    "FT": 70, "JOB": 80, "SVC": 80, "DEEP": 85, "RES": 90, "GPU": 90, "STAT": 95,
}


@dataclass(frozen=True)
class Rule:
    id: str
    title: str  # what the rule checks, as shown in "not checked" lines
    func: RuleFunc
    phase: int
    aliases: tuple[str, ...] = ()
    deep: bool = False  # needs --deep data
    uses: tuple[str, ...] = ()  # resources read if readable (e.g. events): unreadable -> "partly not checked"
    # severity -> the severity-policy clause(s) it rests on (severity.py); with several, the finding names its own
    policy: dict[str, str | tuple[str, ...]] = field(default_factory=dict)

    def clauses(self, severity: str) -> tuple[str, ...]:
        declared = self.policy.get(severity, ())
        return (declared,) if isinstance(declared, str) else tuple(declared)

    def __call__(self, snap: Snapshot) -> RuleResult:
        return self.func(snap)


REGISTRY: list[Rule] = []


def phase_of(rule_id: str) -> int:
    return PHASES.get(rule_id.split("-", 1)[0], 99)


def rule(rule_id: str, title: str, *, aliases: tuple[str, ...] = (), phase: int | None = None,
         deep: bool = False, uses: tuple[str, ...] = (),
         policy: dict[str, str | tuple[str, ...]] | None = None) -> Callable[[RuleFunc], RuleFunc]:
    def register(func: RuleFunc) -> RuleFunc:
        REGISTRY.append(Rule(rule_id, title, func, phase if phase is not None else phase_of(rule_id), aliases, deep,
                             uses, dict(policy or {})))
        return func

    return register


def all_rules() -> list[Rule]:
    """Every registered rule, in evaluation order (imports the rule modules on first use)."""
    from kubectl_ray.debug.rules import (  # noqa: F401 - importing registers the rules
        autoscaler, deep, fault_tolerance, gpu, head, jobs, network, operator, pods, resources, scheduling,
        services, status, versions, workers,
    )

    return sorted(REGISTRY, key=lambda r: (r.phase, r.id))


def rule_ids() -> list[str]:
    return sorted({r.id for r in all_rules()})
