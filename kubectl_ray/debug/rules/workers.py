"""WKR: worker pods waiting for the GCS in `wait-gcs-ready`, missing, or left from removed groups (§1C)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import ERROR, INFO, TROUBLESHOOTING_DOC, WARNING, field_ev, log_ev, note
from kubectl_ray.debug.model import (
    WAIT_GCS_READY, age_seconds, clusters, container_status, dig, group_of, last_termination, name_of, namespace_of,
    operator_for_namespace, ray_container, short_age,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import STALE_AFTER_SECONDS, STUCK_AFTER_SECONDS, cluster_finding, pods_summary
from kubectl_ray.debug.severity import (
    BY_DESIGN, HEAD_DOWN, IGNORED_CONFIG, NOT_RECONCILED, PODS_NOT_CREATED, PODS_NOT_STARTING, WORKERS_CUT_OFF,
)
from kubectl_ray.debug.snapshot import Snapshot

VERSION_MISMATCH = "Version mismatch"


def waiting_for_gcs(pod: dict[str, Any]) -> bool:
    """The pod is still in its wait-gcs-ready init container."""
    st = container_status(pod, WAIT_GCS_READY, init=True)
    if st is None:
        return False
    state = dig(st, "state", default={})
    if "running" in state or "waiting" in state:
        return True
    term = dig(state, "terminated", default={})
    return bool(term) and term.get("exitCode") not in (0, None)


def _waiting_by_group(cluster) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for pod in cluster.worker_pods:
        if waiting_for_gcs(pod):
            out.setdefault((group_of(pod) or "?"), []).append(pod)
    return out


def _log_evidence(snap: Snapshot, pods: list[dict[str, Any]]) -> list:
    for pod in pods:
        for tail in snap.logs_for(namespace_of(pod), name_of(pod), WAIT_GCS_READY):
            lines = [ln for ln in tail.text.splitlines() if "waiting" in ln.lower()]
            if lines:
                return [log_ev(name_of(pod), WAIT_GCS_READY, lines[-1])]
    return []


def head_fqdn(snap: Snapshot, cluster) -> tuple[str, str]:
    """`<svc>.<ns>.svc.<CLUSTER_DOMAIN>:<gcs port>` as the init container dials it, and where the domain came from."""
    op = operator_for_namespace(snap, cluster.namespace)
    domain = (op.env.get("CLUSTER_DOMAIN") if op else None) or "cluster.local"
    source = f"operator env CLUSTER_DOMAIN={domain}" if op and op.env.get("CLUSTER_DOMAIN") else "default cluster.local"
    port = cluster.head_params.get("port", "6379")
    return f"{cluster.head_service_name}.{cluster.namespace}.svc.{domain}:{port}", source


@rule("WKR-01", "workers are not stuck in wait-gcs-ready because the head is down", policy={ERROR: HEAD_DOWN})
def check_waiting_head_down(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.head_ready:
            continue
        for group, pods in _waiting_by_group(cluster).items():
            evidence = [field_ev(f"status.initContainerStatuses[{WAIT_GCS_READY}]", "running"),
                        note(f"{len(pods)} pod(s) of group {group} wait for the GCS: {pods_summary(pods)}"),
                        note("the head pod is " + ("missing" if cluster.head_pod is None else "not Ready"))]
            evidence += _log_evidence(snap, pods)
            out.append(cluster_finding(cluster, "WKR-01", ERROR, f"workers of group {group} wait for the GCS of a head that is down",
                                       obj=f"Pod/{name_of(pods[0])}", subject=f"group:{group}", evidence=evidence,
                                       fix="fix the head first; the workers start on their own once the GCS answers",
                                       doc=TROUBLESHOOTING_DOC))
    return out


@rule("WKR-02", "workers get past wait-gcs-ready once the head is Ready", policy={ERROR: WORKERS_CUT_OFF})
def check_waiting_head_up(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.head_ready:
            continue
        for group, pods in _waiting_by_group(cluster).items():
            logs = _log_evidence(snap, pods)
            ages = [age_seconds(snap, dig(p, "metadata", "creationTimestamp")) for p in pods]
            stuck = [p for p, a in zip(pods, ages) if a is not None and a > STUCK_AFTER_SECONDS]
            if not stuck and not any("Still waiting" in e.value for e in logs):
                continue
            fqdn, source = head_fqdn(snap, cluster)
            evidence = [note(f"{len(pods)} pod(s) of group {group} still in {WAIT_GCS_READY} although the head is Ready "
                             f"(oldest {short_age(max(a for a in ages if a is not None) if any(a is not None for a in ages) else None)})"),
                        field_ev("GCS address the init container dials", f"{fqdn} ({source})")]
            evidence += logs
            if cluster.spec.get("networkPolicy"):
                evidence.append(field_ev(cluster.path("networkPolicy"), "set: DenyAll/DenyAllEgress also block DNS unless allowed"))
            policies = [p for p in snap.items("networkpolicies", cluster.namespace)]
            if policies:
                evidence.append(note(f"{len(policies)} NetworkPolicy object(s) in the namespace: {', '.join(name_of(p) for p in policies[:3])}"))
            out.append(cluster_finding(cluster, "WKR-02", ERROR, f"workers of group {group} cannot reach the GCS of a Ready head",
                                       obj=f"Pod/{name_of(pods[0])}", subject=f"group:{group}", evidence=evidence,
                                       doc=TROUBLESHOOTING_DOC,
                                       fix=f"from a worker: kubectl exec {name_of(pods[0])} -c {WAIT_GCS_READY} -- ray health-check "
                                           f"--address {fqdn}; usual causes: a wrong CLUSTER_DOMAIN on the operator, a "
                                           "NetworkPolicy blocking port 6379 or DNS, `ray` missing from the image's PATH"))
    return out


@rule("WKR-03", "the operator injects the wait-gcs-ready init container", policy={INFO: BY_DESIGN})
def check_injection(snap: Snapshot) -> list:
    out = []
    clusters_ = clusters(snap)
    if not clusters_:
        return []
    op = operator_for_namespace(snap, snap.target.namespace)
    if op is None or op.source != "deployment":
        snap.need("deployments")
        return []
    if op.env.get("ENABLE_INIT_CONTAINER_INJECTION", "").lower() != "false":
        return []
    for cluster in clusters_:
        custom = [g.name for g in cluster.groups if dig(g.template_spec, "initContainers")]
        detail = (f"groups with their own init containers: {', '.join(custom)}" if custom
                  else "no worker group has an init container of its own")
        out.append(cluster_finding(cluster, "WKR-03", INFO, "init-container injection is disabled on the operator",
                                   evidence=[field_ev(f"{op.ref} env ENABLE_INIT_CONTAINER_INJECTION", "false"), note(detail)],
                                   fix="workers then start before the GCS is up and may crash-loop until it is; add your "
                                       "own wait (ray health-check) or re-enable the injection"))
    return out


@rule("WKR-04", "workers do not crash with a Ray version mismatch", policy={ERROR: PODS_NOT_STARTING})
def check_version_mismatch(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        hits: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        for pod in cluster.worker_pods:
            name = ray_container(pod).get("name", "")
            st = container_status(pod, name) or {}
            message = str(last_termination(st).get("message", "") or dig(st, "state", "terminated", "message", default=""))
            evidence = None
            if VERSION_MISMATCH in message:
                evidence = field_ev(f"status.containerStatuses[{name}].lastState.terminated.message", _mismatch_line(message))
            for tail in snap.logs_for(cluster.namespace, name_of(pod), name):
                if VERSION_MISMATCH in tail.text:
                    evidence = log_ev(name_of(pod), name, _mismatch_line(tail.text))
            if evidence is not None:
                hits.setdefault((group_of(pod) or "?"), []).append((pod, evidence))
        for group, items in hits.items():
            out.append(cluster_finding(cluster, "WKR-04", ERROR, f"workers of group {group} crash: Ray/Python version mismatch with the head",
                                       obj=f"Pod/{name_of(items[0][0])}", subject=f"group:{group}",
                                       evidence=[items[0][1], note(f"{len(items)} pod(s): {pods_summary([i[0] for i in items])}")],
                                       fix="use images with the same Ray and Python version for the head, every worker "
                                           "group, the autoscaler and the job submitter"))
    return out


def _mismatch_line(text: str) -> str:
    """Ray's whole mismatch message (it spans a few lines: the cluster's versions, then this process's)."""
    idx = text.find(VERSION_MISMATCH)
    lines = text[idx:].splitlines()
    return "\n".join(lines[:8]).strip()


def _wanted(group) -> int:
    """How many pods the operator is asked to run for a group (replicas clamped to its bounds, times hosts)."""
    spec = group.spec
    if spec.get("suspend") is True:
        return 0
    replicas = spec.get("replicas")
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if not isinstance(replicas, int):
        replicas = low if isinstance(low, int) else 0
    if isinstance(low, int):
        replicas = max(replicas, low)
    if isinstance(high, int):
        replicas = min(replicas, high)
    hosts = spec.get("numOfHosts") if isinstance(spec.get("numOfHosts"), int) and spec.get("numOfHosts") > 0 else 1
    return max(replicas, 0) * hosts


@rule("WKR-05", "worker groups have the pods they ask for", policy={ERROR: PODS_NOT_CREATED})
def check_missing_workers(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None or cluster.suspended or cluster.deleting or cluster.head_pod is None:
            continue
        snap.need("pods", cluster.namespace)
        age = age_seconds(snap, dig(cluster.obj, "metadata", "creationTimestamp"))
        if age is None or age < STALE_AFTER_SECONDS:
            continue
        for g in cluster.groups:
            wanted = _wanted(g)
            if wanted == 0 or cluster.group_pods(g.name):
                continue
            evidence = [field_ev(f"{g.path}.replicas", g.spec.get("replicas")),
                        note(f"no pod labelled ray.io/group={g.name} ({short_age(age)} after the RayCluster was created)")]
            failure = cluster.condition("ReplicaFailure")
            if failure and failure.get("status") == "True":
                evidence.append(field_ev("status.conditions[ReplicaFailure]", f"{failure.get('reason', '')}: "
                                                                             f"{failure.get('message', '')}".strip(": ")))
            out.append(cluster_finding(cluster, "WKR-05", ERROR, f"worker group {g.name} wants {wanted} pod(s) but has none",
                                       subject=f"group:{g.name}", evidence=evidence, doc=TROUBLESHOOTING_DOC,
                                       fix="the operator creates them unless the API server refuses: kubectl describe "
                                           f"raycluster {cluster.name} (events FailedToCreateWorkerPod) and the operator log "
                                           "say why"))
    return out


@rule("WKR-06", "no pods of a worker group that is no longer in the spec",
      policy={ERROR: NOT_RECONCILED, WARNING: IGNORED_CONFIG})
def check_removed_groups(snap: Snapshot) -> list:
    from kubectl_ray.debug.model import AUTOSCALER_CONTAINER, waiting_reason

    out = []
    for cluster in clusters(snap):
        if cluster.obj is None:
            continue
        known = {g.name for g in cluster.groups}
        strays: dict[str, list[dict[str, Any]]] = {}
        for pod in cluster.worker_pods:
            group = group_of(pod)
            if group not in known:
                strays.setdefault(group or "?", []).append(pod)
        if not strays:
            continue
        pods = [p for group_pods in strays.values() for p in group_pods]
        evidence = [field_ev(cluster.path("workerGroupSpecs[].groupName"), ", ".join(sorted(known)) or "<none>"),
                    note(f"{len(pods)} worker pod(s) of group(s) {', '.join(sorted(strays))} still exist: {pods_summary(pods)}")]
        auto = container_status(cluster.head_pod, AUTOSCALER_CONTAINER) if cluster.head_pod is not None else None
        crashing = bool(auto) and (waiting_reason(auto) == "CrashLoopBackOff" or (auto.get("restartCount") or 0) >= 3)
        if crashing:
            evidence.append(field_ev(f"status.containerStatuses[{AUTOSCALER_CONTAINER}]",
                                     f"{waiting_reason(auto) or 'running'}, restarts {auto.get('restartCount', 0)}"))
        groups = ", ".join(sorted(strays))
        out.append(cluster_finding(cluster, "WKR-06", ERROR if crashing else WARNING,
                                   f"pods of removed worker group(s) {groups} are left behind"
                                   + (" and the autoscaler crashes on them" if crashing else ""),
                                   obj=f"Pod/{name_of(pods[0])}", subject="cluster", evidence=evidence,
                                   fix=f"delete them: kubectl delete pod -n {cluster.namespace} -l ray.io/cluster={cluster.name},"
                                       f"ray.io/group={sorted(strays)[0]} (KubeRay versions without kuberay#5132 only "
                                       "reconcile the groups still in the spec)"))
    return out
