"""STAT: status fields that mislead (diagnostics.md §1N). The diagnosis itself never reads status.state."""

from __future__ import annotations

from kubectl_ray.debug.finding import INFO, field_ev, note
from kubectl_ray.debug.model import clusters, operator_for_namespace, pod_ready
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding
from kubectl_ray.debug.severity import BY_DESIGN


@rule("STAT-01", "status.state agrees with the pods", policy={INFO: BY_DESIGN})
def check_sticky_state(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.status.get("state") != "ready" or not cluster.pods:
            continue
        not_ready = [p for p in cluster.pods if not pod_ready(p)]
        if cluster.head_pod is None or not_ready:
            out.append(cluster_finding(cluster, "STAT-01", INFO, "status.state says ready, but it is not a health signal",
                                       evidence=[field_ev("status.state", "ready"),
                                                 note(f"{len(not_ready)} of {len(cluster.pods)} Ray pod(s) are not Ready")],
                                       fix="status.state is deprecated and sticky: KubeRay sets `ready` once and never moves "
                                           "it back; trust the pods and conditions (this diagnosis does)"))
    return out


@rule("STAT-04", "the RayCluster has status conditions", policy={INFO: BY_DESIGN})
def check_conditions(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None or not cluster.status or cluster.status.get("conditions"):
            continue
        op = operator_for_namespace(snap, cluster.namespace)
        gate = op.gate("RayClusterStatusConditions") if op is not None else None
        why = ("the operator predates v1.2" if op is not None and gate is None
               else "the RayClusterStatusConditions feature gate is off" if gate is False
               else "the operator is older than v1.2 or runs with RayClusterStatusConditions off")
        out.append(cluster_finding(cluster, "STAT-04", INFO, "the RayCluster has no status conditions",
                                   evidence=[field_ev("status.conditions", None), note(why)],
                                   fix="conditions (HeadPodReady, ReplicaFailure, ...) make failures visible: use KubeRay "
                                       ">= 1.3 or enable the gate"))
    return out
