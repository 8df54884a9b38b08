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
                   "CRASH-02", "CRASH-03", "CRASH-04", "RES-10", "RES-12", "FT-06", "FT-07", "FT-11", "GCS-03", "GCS-06",
                   "AS-03"}
HEAD_DOWN = HEAD_POD_CAUSES | {"GCS-01", "GCS-02", "GCS-05"}
# What follows from a head that is down.
HEAD_CONSEQUENCES = {"WKR-01", "NET-02", "JOB-02", "JOB-09", "SVC-01", "SVC-03", "SVC-05", "SVC-07", "DEEP-01", "DEEP-05"}
OPERATOR_DOWN = {"OP-01", "OP-02", "OP-03", "OP-04"}
OPERATOR_CONSEQUENCES = {"GCS-01", "NET-01", "JOB-02", "SVC-01", "STAT-04", "OP-05"}
# A target that waits (a RayJob initializing, a RayService not ready, an upgrade not finishing) waits for
# whatever error its clusters have: those warnings are never the root cause when an error is there.
WAITING = {"JOB-02", "SVC-01", "SVC-05", "SVC-07"}
# Containers that run next to Ray: when one of them is what keeps the pod from Ready, its finding explains it.
SIDECAR_CAUSES = {"AS-04": ("autoscaler",), "NET-08": ("istio-proxy", "linkerd-proxy")}


@dataclass(frozen=True)
class Fold:
    roots: frozenset[str]  # empty: any finding the match accepts
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


def _milder(root: Finding, cons: Finding) -> bool:
    return cons.severity != "error"


def _error_root(root: Finding, cons: Finding) -> bool:
    return root.severity == "error" and root.id not in WAITING


def _sidecar_not_ready(root: Finding, cons: Finding) -> bool:
    """The consequence (the head not Ready) names the root's sidecar as the container that is not ready."""
    names = SIDECAR_CAUSES.get(root.id, ())
    not_ready = next((e.value for e in cons.evidence if e.where == "status.containerStatuses[ready=false]"), "")
    return root.scope == cons.scope and any(n in not_ready.split(", ") for n in names)


def _operator_down(root: Finding, cons: Finding) -> bool:
    return root.severity == "error"  # OP-02 as a warning (runs, has not reconciled) explains nothing


def _rejected(root: Finding, cons: Finding) -> bool:
    """An object the operator rejects is one it has not reconciled: the rejection is the cause."""
    return root.severity == "error" and root.policy == "not-reconciled" and cons.severity != "error"


FOLDS = [
    Fold(frozenset(OPERATOR_DOWN), frozenset(OPERATOR_CONSEQUENCES | HEAD_CONSEQUENCES), _operator_down),
    Fold(frozenset(), frozenset({"OP-02"}), _rejected),
    Fold(frozenset(HEAD_POD_CAUSES), frozenset({"GCS-01", "GCS-02", "GCS-05"}), _same_subject),
    # a sidecar that crashes (the autoscaler, a mesh proxy) keeps the head from Ready, not Ray
    Fold(frozenset(SIDECAR_CAUSES), frozenset({"GCS-02"}), _sidecar_not_ready),
    Fold(frozenset(HEAD_DOWN), frozenset(HEAD_CONSEQUENCES), _head_root),
    # a group whose pods cannot start: the Ray version mismatch seen at runtime belongs to VER-03
    Fold(frozenset({"VER-03"}), frozenset({"WKR-04"}), _same_scope),
    # a pod-level cause explains the generic "crash" of the same pods; a setting explains the crash it causes
    Fold(frozenset({"CRASH-01", "WKR-04", "CRASH-03", "FT-06", "FT-07", "RES-10"}), frozenset({"CRASH-02"}), _same_subject),
    Fold(frozenset({"GPU-05"}), frozenset({"SCH-02"}), _same_subject),
    Fold(frozenset({"FT-11"}), frozenset({"SCH-04"}), _same_subject),
    Fold(frozenset({"AS-01"}), frozenset({"AS-03"}), _same_scope),
    Fold(frozenset({"AS-05", "WKR-06"}), frozenset({"AS-04"}), _same_scope),
    # refused pods: the workers that are missing; a queue that holds the whole workload
    Fold(frozenset({"SCH-06"}), frozenset({"WKR-05"}), _same_subject),
    Fold(frozenset({"SCH-07"}), frozenset({"GCS-01", "WKR-05"}), _anywhere),
    Fold(frozenset({"SCH-07"}), frozenset({"SCH-05", "JOB-11"}), _milder),  # "suspended", not JOB-11's spec error
    # the network: a mesh or a NetworkPolicy between the pods
    Fold(frozenset({"NET-08"}), frozenset({"WKR-01", "WKR-02", "CRASH-02", "GCS-05", "NET-02", "JOB-09"}), _same_scope),
    Fold(frozenset({"NET-04"}), frozenset({"WKR-02", "SVC-03", "JOB-09"}), _same_scope),
    Fold(frozenset({"FT-13"}), frozenset({"FT-07", "CRASH-02", "GCS-02", "GCS-05"}), _same_scope),
    Fold(frozenset({"JOB-01"}), frozenset({"JOB-02"}), _anywhere),
    Fold(frozenset({"JOB-06"}), frozenset({"JOB-04"}), _anywhere),
    Fold(frozenset({"SVC-02"}), frozenset({"SVC-01"}), _anywhere),
    Fold(frozenset({"SVC-04"}), frozenset({"SVC-01", "SVC-03"}), _anywhere),
    # a head Service name shared by the old and new cluster: the new one never gets its Service, so no pods
    Fold(frozenset({"SVC-08"}), frozenset({"GCS-01", "NET-01", "NET-02"}), _anywhere),
    Fold(frozenset(), frozenset(WAITING), _error_root),  # any error explains a target that waits
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
            if not item.policy:  # a rule with several clauses for one severity names its own
                item.policy = next(iter(r.clauses(item.severity)), "")
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
            root = next((r for r in ordered if r is not cons and (r.id in fold.roots or not fold.roots)
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
