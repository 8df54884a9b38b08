"""SCH: pods that stay Pending, and pods the API server refuses to create (diagnostics.md §1I).

The scheduler's reason is read from the pod's own `PodScheduled=False` condition (always there, unlike
events, which expire) and from `FailedScheduling` events. Wording differs across Kubernetes versions,
so matching is by substring.
"""

from __future__ import annotations

import re
from typing import Any

from kubectl_ray.debug.finding import ERROR, INFO, WARNING, event_ev, field_ev, note
from kubectl_ray.debug.model import (
    age_seconds, clusters, dig, events_matching, labels_of, latest, name_of, pod_condition, pod_phase, short_age,
)
from kubectl_ray.debug.rules import rule
from kubectl_ray.debug.rules._common import STUCK_AFTER_SECONDS, cluster_finding, pods_summary, roles

INSUFFICIENT = re.compile(r"Insufficient ([\w./-]*\w)")
TAINT = re.compile(r"untolerated taint[s]?(?:\(s\))? ?(\{[^}]*\})?")
SELECTOR = ("didn't match Pod's node affinity/selector", "didn't match node selector", "node affinity/selector")
PVC = ("unbound immediate PersistentVolumeClaims", "persistentvolumeclaim", "PersistentVolumeClaim")
QUOTA = ("exceeded quota", "violates PodSecurity", "admission webhook", "is forbidden")


def unschedulable(cluster, pods: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, dict[str, Any] | None]]:
    """(pod, scheduler message, latest FailedScheduling event) for Pending pods the scheduler rejected."""
    out = []
    for pod in pods:
        if pod_phase(pod) != "Pending":
            continue
        cond = pod_condition(pod, "PodScheduled") or {}
        ev = latest(events_matching(cluster.pod_events(pod), ("FailedScheduling",)))
        message = ""
        if cond.get("status") == "False":
            message = str(cond.get("message") or "")
        if not message and ev is not None:
            message = str(ev.get("message") or "")
        if message:
            out.append((pod, message, ev))
    return out


def _scheduling_findings(snap, rule_id: str, matches, title, fix, severity=ERROR) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = [(p, m, e) for p, m, e in unschedulable(cluster, pods) if matches(m)]
            if not hits:
                continue
            pod, message, ev = hits[0]
            evidence = [field_ev("status.conditions[PodScheduled].message", message)]
            if ev is not None and ev.get("message") != message:
                evidence.append(event_ev(ev))
            if subject != "head":
                evidence.append(note(f"{len(hits)} of {len(pods)} pod(s) of {label} Pending: {pods_summary([h[0] for h in hits])}"))
            evidence += _request_note(pods[0])
            out.append(cluster_finding(cluster, rule_id, severity, title(label, message), obj=f"Pod/{name_of(pod)}",
                                       subject=subject, evidence=evidence, fix=fix))
    return out


def _request_note(pod: dict[str, Any]) -> list:
    """What one pod asks for in total (all containers, and the largest init container), RES-11."""
    from kubectl_ray.resources.quantity import QuantityError, parse_quantity

    totals: dict[str, Any] = {}
    for c in dig(pod, "spec", "containers", default=[]):
        for key, value in dig(c, "resources", "requests", default={}).items():
            try:
                q = parse_quantity(value)
            except QuantityError:
                continue
            totals[key] = totals[key] + q if key in totals else q
    if not totals:
        return []
    shown = ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
    return [note(f"each pod requests {shown} (containers incl. sidecars; wait-gcs-ready adds 200m/256Mi while it runs)")]


def _role(label: str) -> str:
    return "the head" if label == "head" else label


@rule("SCH-01", "Pending pods fit on a node (cpu, memory, GPU)")
def check_insufficient(snap) -> list:
    def title(label: str, message: str) -> str:
        kinds = sorted(set(INSUFFICIENT.findall(message)))
        return f"{_role(label)} cannot be scheduled: Insufficient {', '.join(kinds)}"

    return _scheduling_findings(snap, "SCH-01", lambda m: bool(INSUFFICIENT.search(m)), title,
                                "compare the pod's requests (incl. the autoscaler sidecar) with node allocatable: shrink "
                                "the pods, add or enlarge nodes, or enable a cluster autoscaler for this node pool")


@rule("SCH-02", "Pending pods tolerate the nodes' taints")
def check_taints(snap) -> list:
    def title(label: str, message: str) -> str:
        match = TAINT.search(message)
        taint = f" {match.group(1)}" if match and match.group(1) else ""
        return f"{_role(label)} cannot be scheduled: untolerated taint{taint}"

    return _scheduling_findings(snap, "SCH-02", lambda m: "untolerated taint" in m or "had taint" in m, title,
                                "add a matching toleration to the pod template (key, operator: Exists, effect), or "
                                "schedule on other nodes")


@rule("SCH-03", "nodeSelector / affinity of Pending pods matches a node")
def check_selectors(snap) -> list:
    out = _scheduling_findings(snap, "SCH-03", lambda m: any(s in m for s in SELECTOR),
                               lambda label, m: f"{_role(label)} cannot be scheduled: no node matches its node selector/affinity",
                               "compare the template's nodeSelector/affinity with the node labels "
                               "(kubectl get nodes --show-labels); a node pool may be missing or scaled to zero")
    if out:
        return out
    return _static_selectors(snap)


def _static_selectors(snap) -> list:
    """Pending pods whose nodeSelector no existing node satisfies (needs `list nodes`)."""
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            pending = [p for p in pods if pod_phase(p) == "Pending" and not dig(p, "spec", "nodeName")]
            if not pending:
                continue
            selector = dig(pending[0], "spec", "nodeSelector", default={})
            if not selector:
                continue
            nodes = snap.need("nodes")
            if any(all(labels_of(n).get(k) == v for k, v in selector.items()) for n in nodes):
                continue
            out.append(cluster_finding(cluster, "SCH-03", ERROR, f"no node matches the nodeSelector of {_role(label)}",
                                       obj=f"Pod/{name_of(pending[0])}", subject=subject,
                                       evidence=[field_ev("spec.nodeSelector", ", ".join(f"{k}={v}" for k, v in selector.items())),
                                                 note(f"none of the {len(nodes)} node(s) has these labels")],
                                       fix="fix the nodeSelector or create the node pool it points at"))
    return out


@rule("SCH-04", "Pending pods' PersistentVolumeClaims are bound")
def check_pvcs(snap) -> list:
    return _scheduling_findings(snap, "SCH-04", lambda m: any(s in m for s in PVC),
                                lambda label, m: f"{_role(label)} waits for a PersistentVolumeClaim to be bound",
                                "kubectl get pvc: a claim stays Pending without a (default) StorageClass or when its "
                                "volume is in another zone")


@rule("SCH-05", "pods are not held back by a gang scheduler or suspension")
def check_gang(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.suspended:
            out.append(cluster_finding(cluster, "SCH-05", INFO, "the cluster is suspended: no pods run until it is resumed",
                                       evidence=[field_ev(cluster.path("suspend"), True)],
                                       fix="a queue (e.g. Kueue) resumes it when admitted; otherwise set spec.suspend: false"))
            continue
        for subject, label, pods in roles(cluster):
            stuck = [p for p in pods if pod_phase(p) == "Pending" and not dig(p, "spec", "nodeName")
                     and (dig(p, "spec", "schedulerName") or "default-scheduler") != "default-scheduler"
                     and (age_seconds(snap, dig(p, "metadata", "creationTimestamp")) or 0) > STUCK_AFTER_SECONDS]
            if not stuck:
                continue
            scheduler = dig(stuck[0], "spec", "schedulerName")
            age = age_seconds(snap, dig(stuck[0], "metadata", "creationTimestamp"))
            out.append(cluster_finding(cluster, "SCH-05", WARNING, f"{_role(label)} waits for scheduler {scheduler}",
                                       obj=f"Pod/{name_of(stuck[0])}", subject=subject,
                                       evidence=[field_ev("spec.schedulerName", scheduler),
                                                 note(f"{len(stuck)} pod(s) Pending for {short_age(age)}")],
                                       fix="gang schedulers start no pod until the whole cluster fits: check the queue/"
                                           "PodGroup status and that the cluster's total requests fit the queue's quota"))
    return out


@rule("SCH-06", "the API server accepts the Ray pods (quota, PodSecurity, webhooks)")
def check_admission(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None:
            continue
        failure = cluster.condition("ReplicaFailure")
        messages = []
        if failure and failure.get("status") == "True":
            messages.append((failure.get("reason", ""), field_ev("status.conditions[ReplicaFailure].message", failure.get("message", "")),
                             str(failure.get("message", ""))))
        for ev in events_matching(cluster.events(), ("FailedToCreateHeadPod", "FailedToCreateWorkerPod", "FailedCreate")):
            messages.append((ev.get("reason", ""), event_ev(ev), str(ev.get("message", ""))))
        hit = next(((reason, ev, msg) for reason, ev, msg in messages if any(q in msg for q in QUOTA)), None)
        if hit is None:
            continue
        reason, evidence, message = hit
        subject = "head" if "Head" in reason else "cluster"
        kind = ("a ResourceQuota" if "quota" in message else "Pod Security Admission" if "PodSecurity" in message
                else "an admission webhook or policy")
        out.append(cluster_finding(cluster, "SCH-06", ERROR, f"{kind} refuses to create Ray pods", subject=subject,
                                   evidence=[evidence],
                                   fix="raise the namespace quota (count the autoscaler sidecar 500m/512Mi and the "
                                       "wait-gcs-ready init container 200m/256Mi too) or make the pod templates comply"))
    return out
