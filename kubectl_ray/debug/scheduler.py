"""The kube-scheduler's FailedScheduling message, parsed into per-reason node counts and ranked.

The message lists, for every node, the first filter that rejected the pod, e.g.

    0/5 nodes are available: 2 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint
    {nvidia.com/gpu: present}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for
    scheduling.

Wording differs across Kubernetes versions (`had taint {k: v}, that the pod didn't tolerate` before
1.25, `had untolerated taint(s)` without the taint since 1.32, `had volume node affinity conflict` /
`didn't match PersistentVolume's node affinity`), so reasons are recognised by phrase, not by format.

Ranking answers "what do I fix first". Counts alone mislead: the GPU nodes a pod is meant for are
tainted, so a pod without the toleration reads "2 Insufficient nvidia.com/gpu" (the CPU nodes) next to
"2 untolerated taint" (the GPU nodes); adding nodes would not help, the toleration would. So a taint or
selector that excludes the nodes holding the scarce resource outranks "Insufficient". Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from kubectl_ray.debug.model import dig

INSUFFICIENT = "insufficient"
TAINT = "taint"
SELECTOR = "selector"
VOLUME = "volume"
UNSCHEDULABLE = "unschedulable"
AFFINITY = "affinity"
PORTS = "ports"
OTHER = "other"

STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage", "pods")
# Taints every cluster has on nodes Ray pods are not meant for: never the reason to act on.
IGNORABLE_TAINTS = ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane",
                    "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
                    "node.cloudprovider.kubernetes.io/uninitialized")

NOISE = ("no new claims to deallocate",)  # dynamic resource allocation's note, not a reason
_TOTAL = re.compile(r"^\s*(\d+)/(\d+) nodes are available:\s*")
_COUNTED = re.compile(r"^(\d+)\s+(.*)$")
_SPLIT = re.compile(r",\s+(?=\d+ )")
_TAINT_SET = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Reason:
    count: int | None  # nodes rejected for this reason (None: a pod-level reason such as unbound PVCs)
    text: str
    kind: str
    resource: str | None = None  # for "Insufficient X"
    taint: str | None = None  # "nvidia.com/gpu: present" when the message names it

    @property
    def ignorable(self) -> bool:
        return self.kind == TAINT and bool(self.taint) and self.taint.split(":")[0].strip() in IGNORABLE_TAINTS


@dataclass
class SchedulerMessage:
    raw: str
    total: int | None = None
    reasons: list[Reason] = field(default_factory=list)
    preemption: str = ""

    def of_kind(self, kind: str) -> list[Reason]:
        return [r for r in self.reasons if r.kind == kind]

    def summary(self) -> str:
        """`0/4 nodes: 2 Insufficient nvidia.com/gpu; 2 untolerated taint {nvidia.com/gpu: present}`."""
        parts = [f"{r.count} {r.text}" if r.count is not None else r.text for r in self.reasons]
        head = f"0/{self.total} nodes: " if self.total is not None else ""
        return head + "; ".join(parts)


def parse(message: str) -> SchedulerMessage:
    text = " ".join(str(message or "").split())
    out = SchedulerMessage(raw=str(message or ""))
    main, _, preemption = text.partition("preemption:")
    out.preemption = preemption.strip()
    match = _TOTAL.match(main)
    if match:
        out.total = int(match.group(2))
        main = main[match.end():]
    main = main.strip().rstrip(".").strip()
    if not main:
        return out
    for item in _SPLIT.split(main):
        item = item.strip().rstrip(".").strip()
        if not item:
            continue
        counted = _COUNTED.match(item)
        count, body = (int(counted.group(1)), counted.group(2)) if counted else (None, item)
        for i, piece in enumerate(body.split(". ")):  # "... PersistentVolumeClaims. 3 ..." on one line
            piece = piece.strip().rstrip(".,").strip()
            if piece and piece not in NOISE:
                out.reasons.append(_reason(count if i == 0 else None, piece))
    return out


def _reason(count: int | None, body: str) -> Reason:
    low = body.lower()
    if low.startswith("insufficient "):
        return Reason(count, body, INSUFFICIENT, resource=body.split(None, 1)[1].strip())
    if "taint" in low:
        found = _TAINT_SET.search(body)
        return Reason(count, body, TAINT, taint=found.group(1).strip() if found else None)
    if any(v in low for v in ("persistentvolume", "volume node affinity", "persistent volumes", "binding volumes")):
        return Reason(count, body, VOLUME)
    if "node affinity/selector" in low or "node selector" in low or "match pod's node affinity" in low:
        return Reason(count, body, SELECTOR)
    if "unschedulable" in low:
        return Reason(count, body, UNSCHEDULABLE)
    if "affinity" in low:
        return Reason(count, body, AFFINITY)
    if "port" in low:
        return Reason(count, body, PORTS)
    if low.startswith("too many pods"):
        return Reason(count, body, INSUFFICIENT, resource="pods")
    return Reason(count, body, OTHER)


# --- ranking --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    kind: str  # what to fix first: INSUFFICIENT, TAINT, SELECTOR, VOLUME, ...
    reason: Reason | None
    why: str = ""  # one sentence when the ranking overrode the counts
    taints: tuple[str, ...] = ()  # untolerated taints of the nodes that matter (from the node list)


def rank(msg: SchedulerMessage, pod: dict[str, Any] | None = None,
         nodes: list[dict[str, Any]] | None = None) -> Verdict | None:
    """The reason to fix first (None when the message names no reason)."""
    if not msg.reasons:
        return None
    pod = pod or {}
    volume = msg.of_kind(VOLUME)
    if volume:
        return Verdict(VOLUME, volume[0])
    taints = [r for r in msg.of_kind(TAINT) if not r.ignorable]
    selectors = msg.of_kind(SELECTOR)
    scarce = [r for r in msg.of_kind(INSUFFICIENT) if r.resource and r.resource not in STANDARD_RESOURCES]
    for r in scarce:
        holders = _holders(nodes, r.resource) if nodes else None
        if holders:
            untolerated = _untolerated(pod, holders)
            if untolerated and taints:
                return Verdict(TAINT, taints[0], f"the nodes that have {r.resource} carry a taint the pod does not "
                               "tolerate; adding nodes would not help", tuple(untolerated))
            if not all(_selected(pod, n) for n in holders) and selectors:
                return Verdict(SELECTOR, selectors[0], f"the nodes that have {r.resource} do not match the pod's "
                               "node selector/affinity")
        elif taints and _related(r.resource, taints):
            return Verdict(TAINT, taints[0], f"the nodes with {r.resource} are the tainted ones; adding nodes would "
                           "not help")
    insufficient = msg.of_kind(INSUFFICIENT)
    if insufficient:  # some node passed every filter but lacked room: that is where the pod belongs
        return Verdict(INSUFFICIENT, max(insufficient, key=lambda r: r.count or 0))
    if taints:
        picked = [n for n in nodes or [] if _selected(pod, n)]
        why = "the nodes the pod's selector picks carry a taint it does not tolerate" if selectors else ""
        return Verdict(TAINT, taints[0], why, tuple(_untolerated(pod, picked)))
    if selectors:
        return Verdict(SELECTOR, selectors[0])
    unschedulable = msg.of_kind(UNSCHEDULABLE)
    if unschedulable:
        return Verdict(UNSCHEDULABLE, unschedulable[0])
    ignorable = msg.of_kind(TAINT)
    if ignorable and len(ignorable) == len(msg.reasons):
        return Verdict(TAINT, ignorable[0])
    return Verdict(msg.reasons[0].kind, msg.reasons[0])


def _related(resource: str, taints: list[Reason]) -> bool:
    """A taint named after the scarce resource (nvidia.com/gpu, amd.com/gpu, google.com/tpu ...)."""
    stem = resource.split("/")[-1].lower()
    return any(t.taint and (resource in t.taint or stem in t.taint.lower()) for t in taints) or \
        any(not t.taint for t in taints)  # "untolerated taint(s)" without detail on the nodes that have it


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _holders(nodes: list[dict[str, Any]], resource: str) -> list[dict[str, Any]]:
    return [n for n in nodes if _amount(dig(n, "status", "allocatable", default={}).get(resource, 0)) > 0]


def node_taints(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in dig(node, "spec", "taints", default=[]) if t.get("effect") in ("NoSchedule", "NoExecute")]


def tolerates(pod: dict[str, Any], taint: dict[str, Any]) -> bool:
    for tol in dig(pod, "spec", "tolerations", default=[]):
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and str(tol.get("value", "")) == str(taint.get("value", "")):
            return True
    return False


def taint_text(taint: dict[str, Any]) -> str:
    value = f"={taint['value']}" if taint.get("value") not in (None, "") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


def _untolerated(pod: dict[str, Any], nodes: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        for taint in node_taints(node):
            if taint.get("key") in IGNORABLE_TAINTS or tolerates(pod, taint):
                continue
            text = taint_text(taint)
            if text not in out:
                out.append(text)
    return out


def _selected(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    """Does the node satisfy the pod's nodeSelector (affinity terms are not evaluated)?"""
    selector = dig(pod, "spec", "nodeSelector", default={})
    labels = dig(node, "metadata", "labels", default={})
    return all(labels.get(k) == v for k, v in selector.items())
