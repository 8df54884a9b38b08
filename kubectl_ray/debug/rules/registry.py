"""The rule registry: `@rule(...)` records a check with its id, title, phase and severity policy.

Kept apart from rules/__init__.py (which imports every rule module) so that rule modules import the
decorator without importing their own package's index: no import circle.
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
