"""Run the rules on a snapshot: evaluation order, "not checked", and folding consequences into root causes.

Folding (diagnostics.md §1O: "so one root cause doesn't produce twenty findings"): a finding whose
cause is another finding of the same cluster is attached to it as a consequence instead of being
listed on its own, e.g. workers waiting in `wait-gcs-ready` (WKR-01) under the head that is not Ready
(GCS-02), itself under the OOMKilled head container (CRASH-01).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from kubectl_ray.debug.finding import SEVERITY_RANK, Finding, MissingData, NotChecked
from kubectl_ray.debug.rules import Rule, all_rules
from kubectl_ray.debug.snapshot import Snapshot, TargetRef

# Causes that live in the head pod itself: what keeps the head from becoming Ready.
HEAD_POD_CAUSES = {"SCH-01", "SCH-02", "SCH-03", "SCH-04", "SCH-05", "SCH-06", "GPU-05", "IMG-01", "CRASH-01",
                   "CRASH-02", "CRASH-03", "CRASH-04", "RES-12", "FT-06", "FT-07", "FT-11", "GCS-03", "GCS-06"}
HEAD_DOWN = HEAD_POD_CAUSES | {"GCS-01", "GCS-02", "GCS-05"}
# What follows from a head that is down.
HEAD_CONSEQUENCES = {"WKR-01", "NET-02", "JOB-02", "JOB-09", "SVC-01", "SVC-03", "SVC-05", "SVC-07", "DEEP-01", "DEEP-05"}
OPERATOR_DOWN = {"OP-01", "OP-02", "OP-03", "OP-04"}
OPERATOR_CONSEQUENCES = {"GCS-01", "NET-01", "JOB-02", "SVC-01", "STAT-04", "OP-05"}


@dataclass(frozen=True)
class Fold:
    roots: frozenset[str]
    consequences: frozenset[str]
    match: Callable[[Finding, Finding], bool]  # (root, consequence) -> same thing?


def _same_scope(root: Finding, cons: Finding) -> bool:
    return root.scope == cons.scope


def _head_root(root: Finding, cons: Finding) -> bool:
    return root.scope == cons.scope and root.subject in ("head", "cluster")


def _same_subject(root: Finding, cons: Finding) -> bool:
    return root.scope == cons.scope and root.subject == cons.subject


def _anywhere(root: Finding, cons: Finding) -> bool:
    return True


FOLDS = [
    Fold(frozenset(OPERATOR_DOWN), frozenset(OPERATOR_CONSEQUENCES | HEAD_CONSEQUENCES), _anywhere),
    Fold(frozenset(HEAD_POD_CAUSES), frozenset({"GCS-01", "GCS-02", "GCS-05"}), _same_subject),
    Fold(frozenset(HEAD_DOWN), frozenset(HEAD_CONSEQUENCES), _head_root),
    # a group whose pods cannot start: the Ray version mismatch seen at runtime belongs to VER-03
    Fold(frozenset({"VER-03"}), frozenset({"WKR-04"}), _same_scope),
    # a pod-level cause explains the generic "crash" of the same pods
    Fold(frozenset({"CRASH-01", "WKR-04", "CRASH-03", "FT-06"}), frozenset({"CRASH-02"}), _same_subject),
    Fold(frozenset({"GPU-05"}), frozenset({"SCH-02"}), _same_subject),
    Fold(frozenset({"FT-11"}), frozenset({"SCH-04"}), _same_subject),
    Fold(frozenset({"AS-01"}), frozenset({"AS-03"}), _same_scope),
    Fold(frozenset({"JOB-01"}), frozenset({"JOB-02"}), _anywhere),
    Fold(frozenset({"SVC-02"}), frozenset({"SVC-01"}), _anywhere),
]


@dataclass
class Diagnosis:
    target: TargetRef
    findings: list[Finding] = field(default_factory=list)  # top level, consequences folded in
    not_checked: list[NotChecked] = field(default_factory=list)
    crashed: list[tuple[str, str]] = field(default_factory=list)  # (rule id, error) - a bug in a rule
    found: bool = True  # the target object exists

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def has_errors(self) -> bool:
        return self.count("error") > 0

    def all_findings(self) -> list[Finding]:
        """Top-level findings and, after each, what was folded into it."""
        out: list[Finding] = []
        for f in self.findings:
            out.append(f)
            out.extend(_flatten(f.consequences))
        return out

    def ids(self) -> set[str]:
        ids: set[str] = set()
        for f in self.findings:
            ids |= f.all_ids()
        return ids

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings],
                "notChecked": [n.to_dict() for n in self.not_checked],
                "ruleErrors": [{"id": i, "error": e} for i, e in self.crashed]}


def _flatten(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for f in findings:
        out.append(f)
        out.extend(_flatten(f.consequences))
    return out


def diagnose(snap: Snapshot, *, rules: list[Rule] | None = None, fold: bool = True) -> Diagnosis:
    """All rules on a one-target snapshot."""
    from kubectl_ray.debug.model import target_object

    diagnosis = Diagnosis(snap.target)
    selected = rules if rules is not None else all_rules()
    if target_object(snap) is None:
        diagnosis.found = False
        selected = [r for r in selected if r.id == "OP-01"]  # nothing else to look at
    raw: list[Finding] = []
    for r in selected:
        if r.deep and not snap.deep:
            continue
        try:
            results = r(snap)
        except MissingData as exc:
            diagnosis.not_checked.append(NotChecked(r.id, r.title, exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            diagnosis.crashed.append((r.id, f"{type(exc).__name__}: {exc}"))
            continue
        for resource in r.uses:
            denied = snap.forbidden_for(resource, snap.target.namespace)
            if denied is not None:
                diagnosis.not_checked.append(NotChecked(r.id, r.title, f"partly: forbidden: {denied.describe()}"))
        for item in results:
            if isinstance(item, NotChecked):
                if item not in diagnosis.not_checked:
                    diagnosis.not_checked.append(item)
                continue
            item.order = r.phase
            if not item.namespace:
                item.namespace = snap.target.namespace
            raw.append(item)
    diagnosis.findings = fold_consequences(raw) if fold else sort_findings(raw)
    return diagnosis


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.order, f.id, f.object))


def fold_consequences(findings: list[Finding]) -> list[Finding]:
    """Attach each consequence to its root cause; return the roots (sorted, root causes first)."""
    ordered = sorted(findings, key=lambda f: (f.order, SEVERITY_RANK.get(f.severity, 9), f.id, f.object))
    parent: dict[int, Finding] = {}
    for cons in ordered:
        for fold in FOLDS:
            if cons.id not in fold.consequences:
                continue
            root = next((r for r in ordered if r is not cons and r.id in fold.roots and id(r) not in parent
                         and fold.match(r, cons) and not _would_cycle(parent, r, cons)), None)
            if root is not None:
                parent[id(cons)] = root
                break
    tops: list[Finding] = []
    for f in ordered:
        top = f
        seen = set()
        while id(top) in parent and id(top) not in seen:
            seen.add(id(top))
            top = parent[id(top)]
        if top is f:
            tops.append(f)
        else:
            top.consequences.append(f)
    for f in tops:
        f.consequences = sort_findings(f.consequences)
    return sort_findings(tops)


def _would_cycle(parent: dict[int, Finding], root: Finding, cons: Finding) -> bool:
    cur = root
    while id(cur) in parent:
        cur = parent[id(cur)]
        if cur is cons:
            return True
    return False


def diagnose_all(snap: Snapshot) -> list[Diagnosis]:
    """One diagnosis per target in the snapshot (scan mode)."""
    return [diagnose(snap.for_target(t)) for t in snap.targets]
