"""Helpers the rule modules share: building findings, grouping pods, reading CR objects."""

from __future__ import annotations

from typing import Any, Iterable

from kubectl_ray.debug.finding import Evidence, Finding, field_ev
from kubectl_ray.debug.model import ClusterView, dig, name_of, target_object
from kubectl_ray.debug.snapshot import Snapshot

MAX_PODS_SHOWN = 3
STALE_AFTER_SECONDS = 120  # the operator reconciles within seconds; two minutes without status is not normal
STUCK_AFTER_SECONDS = 180  # a pod that has not progressed for three minutes is stuck, not starting


def finding(rule_id: str, severity: str, title: str, obj: str, *, evidence: Iterable[Evidence] = (),
            fix: str = "", doc: str | None = None, scope: str = "", subject: str = "",
            aliases: tuple[str, ...] = (), namespace: str = "", policy: str = "") -> Finding:
    return Finding(rule_id, severity, title, obj, namespace=namespace, evidence=list(evidence), fix=fix, doc=doc,
                   scope=scope, subject=subject, aliases=aliases, policy=policy)


def scope_of(cluster: ClusterView) -> str:
    return f"{cluster.namespace}/{cluster.name}"


def cluster_finding(cluster: ClusterView, rule_id: str, severity: str, title: str, *, subject: str = "cluster",
                    obj: str | None = None, **kwargs: Any) -> Finding:
    return finding(rule_id, severity, title, obj or cluster.ref, scope=scope_of(cluster), subject=subject, **kwargs)


def target_ref(snap: Snapshot) -> str:
    return f"{snap.target.kind}/{snap.target.name}"


def crs(snap: Snapshot) -> list[dict[str, Any]]:
    """The target object and the RayClusters behind it (each once)."""
    from kubectl_ray.debug.model import clusters

    out = []
    obj = target_object(snap)
    if obj is not None:
        out.append(obj)
    for c in clusters(snap):
        if c.obj is not None and all(c.obj is not o for o in out):
            out.append(c.obj)
    return out


def kind_ref(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '')}/{name_of(obj)}"


def pods_summary(pods: list[dict[str, Any]]) -> str:
    names = [name_of(p) for p in pods[:MAX_PODS_SHOWN]]
    more = f" and {len(pods) - MAX_PODS_SHOWN} more" if len(pods) > MAX_PODS_SHOWN else ""
    return ", ".join(names) + more


def roles(cluster: ClusterView) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(subject, label, pods) for the head and each worker group that has pods."""
    out = [("head", "head", [cluster.head_pod] if cluster.head_pod is not None else [])]
    groups = {g.name for g in cluster.groups}
    for g in cluster.groups:
        out.append((f"group:{g.name}", f"worker group {g.name}", cluster.group_pods(g.name)))
    strays = [p for p in cluster.worker_pods if dig(p, "metadata", "labels", "ray.io/group") not in groups]
    if strays:
        out.append(("group:?", "worker pods of no current group", strays))
    return [(s, label, pods) for s, label, pods in out if pods]


def stale_status(snap: Snapshot, obj: dict[str, Any]) -> Evidence | None:
    """Evidence that the operator has not reconciled obj for a while, or None."""
    from kubectl_ray.debug.model import age_seconds, short_age

    meta = dig(obj, "metadata", default={})
    age = age_seconds(snap, meta.get("creationTimestamp"))
    status = dig(obj, "status", default={})
    if not status:
        if age is not None and age > STALE_AFTER_SECONDS:
            return field_ev("status", f"empty {short_age(age)} after creation")
        return None
    observed, generation = status.get("observedGeneration"), meta.get("generation")
    if isinstance(observed, int) and isinstance(generation, int) and observed < generation:
        written = _last_spec_write(obj)
        since = age_seconds(snap, written) if written else None
        if since is None or since > STALE_AFTER_SECONDS:
            return field_ev("status.observedGeneration", f"{observed} < metadata.generation {generation}")
    return None


def _last_spec_write(obj: dict[str, Any]) -> str | None:
    times = [m.get("time") for m in dig(obj, "metadata", "managedFields", default=[])
             if m.get("subresource") != "status" and m.get("manager") != "kuberay-operator" and m.get("time")]
    return max(times) if times else None
