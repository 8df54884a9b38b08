"""IMG / CRASH: images that do not pull, containers that crash, pods that fail (diagnostics.md §1J).

Findings are per role (the head, or one worker group), never per pod: 500 crashing workers are one
finding that names a few of them.
"""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import CONFIG_DOC, ERROR, TROUBLESHOOTING_DOC, WARNING, event_ev, field_ev, note
from kubectl_ray.debug.model import (
    AUTOSCALER_CONTAINER, clusters, dig, last_termination, latest, name_of, pod_phase, ray_container, waiting_reason,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding, pods_summary, roles
from kubectl_ray.debug.severity import DEGRADED, HEAD_DOWN, PODS_NOT_STARTING

PULL_ERRORS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
CONFIG_ERRORS = ("CreateContainerConfigError", "CreateContainerError")


def _statuses(pod: dict[str, Any]) -> list[tuple[bool, dict[str, Any]]]:
    """(is_init, status) for every container and init container of a pod."""
    status = dig(pod, "status", default={})
    return ([(True, s) for s in dig(status, "initContainerStatuses", default=[])]
            + [(False, s) for s in dig(status, "containerStatuses", default=[])])


def _spec_container(pod: dict[str, Any], name: str, init: bool) -> dict[str, Any]:
    key = "initContainers" if init else "containers"
    return next((c for c in dig(pod, "spec", key, default=[]) if c.get("name") == name), {})


def _role_label(label: str) -> str:
    return "the head" if label == "head" else label


@rule("IMG-01", "images can be pulled", policy={ERROR: PODS_NOT_STARTING})
def check_image_pull(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = []
            for pod in pods:
                for init, st in _statuses(pod):
                    if waiting_reason(st) in PULL_ERRORS:
                        hits.append((pod, init, st))
                        break
            if not hits:
                continue
            pod, init, st = hits[0]
            image = st.get("image") or _spec_container(pod, st.get("name", ""), init).get("image", "")
            evidence = [field_ev(f"status.{'initC' if init else 'c'}ontainerStatuses[{st.get('name')}].state.waiting",
                                 f"{waiting_reason(st)}: {dig(st, 'state', 'waiting', 'message', default='')}".strip(": "))]
            ev = latest([e for e in cluster.pod_events(pod) if e.get("reason") in ("Failed", "ErrImagePull")])
            if ev is not None:
                evidence.append(event_ev(ev))
            evidence.append(note(f"{len(hits)} of {len(pods)} pod(s) of {label}: {pods_summary([h[0] for h in hits])}"))
            out.append(cluster_finding(cluster, "IMG-01", ERROR, f"{_role_label(label)} cannot pull image {image}",
                                       obj=f"Pod/{name_of(pod)}", subject=subject, evidence=evidence, doc=TROUBLESHOOTING_DOC,
                                       fix="check that the tag exists, the registry is reachable, and imagePullSecrets are set "
                                           "for private registries (on arm64 nodes use the -aarch64 Ray tags)"))
    return out


@rule("CRASH-01", "no container was OOMKilled", policy={ERROR: PODS_NOT_STARTING})
def check_oom(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = []
            for pod in pods:
                for init, st in _statuses(pod):
                    if init or st.get("name") == AUTOSCALER_CONTAINER:
                        continue  # the autoscaler's OOM is AS-04
                    term = last_termination(st) or dig(st, "state", "terminated", default={})
                    if term.get("reason") == "OOMKilled":
                        hits.append((pod, st, term))
            if not hits:
                continue
            pod, st, term = hits[0]
            container = _spec_container(pod, st.get("name", ""), False)
            limit = dig(container, "resources", "limits", "memory", default="<none>")
            is_ray = st.get("name") == ray_container(pod).get("name")
            what = "Ray container" if is_ray else f"container {st.get('name')}"
            evidence = [field_ev(f"status.containerStatuses[{st.get('name')}].lastState.terminated.reason",
                                 f"OOMKilled (exit {term.get('exitCode', 137)}, restarts {st.get('restartCount', 0)})"),
                        field_ev(f"spec.containers[{st.get('name')}].resources.limits.memory", limit)]
            if len(hits) > 1 or subject != "head":
                evidence.append(note(f"{len(hits)} container(s) in {label}: {pods_summary([h[0] for h in hits])}"))
            fix = ("raise the memory limit (requests = limits; at least 2Gi for the head, 8Gi in production) or reduce "
                   "the work placed there (num-cpus: \"0\" keeps tasks off the head)")
            if subject == "head":
                fix += "; without GCS fault tolerance a head OOM restarts the whole cluster"
            out.append(cluster_finding(cluster, "CRASH-01", ERROR, f"the {what} of {_role_label(label)} was OOMKilled (limit {limit})",
                                       obj=f"Pod/{name_of(pod)}", subject=subject, evidence=evidence, fix=fix, doc=CONFIG_DOC))
    return out


@rule("CRASH-02", "containers are not crash-looping", policy={ERROR: PODS_NOT_STARTING, WARNING: DEGRADED})
def check_crashloop(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = []
            for pod in pods:
                for init, st in _statuses(pod):
                    if st.get("name") == AUTOSCALER_CONTAINER:
                        continue
                    term = last_termination(st)
                    if term.get("reason") == "OOMKilled":
                        continue
                    looping = waiting_reason(st) in ("CrashLoopBackOff", "RunContainerError")
                    if looping or (st.get("restartCount") or 0) >= 3:
                        hits.append((pod, init, st, term, looping))
                        break
            if not hits:
                continue
            pod, init, st, term, looping = hits[0]
            severity = ERROR if any(h[4] for h in hits) else WARNING
            evidence = [field_ev(f"status.{'initC' if init else 'c'}ontainerStatuses[{st.get('name')}]",
                                 f"{waiting_reason(st) or 'running'}, restarts {st.get('restartCount', 0)}")]
            if term:
                detail = f"{term.get('reason', '')} exit {term.get('exitCode', '?')}"
                if term.get("message"):
                    detail += f": {str(term['message']).strip()}"
                evidence.append(field_ev(f"status.containerStatuses[{st.get('name')}].lastState.terminated", detail))
            for tail in snap.logs_for(cluster.namespace, name_of(pod), st.get("name", ""), previous=True)[:1]:
                lines = [ln for ln in tail.text.splitlines() if ln.strip()]
                if lines:
                    evidence.append(note(f"last log line before the crash: {lines[-1]}"))
            if len(hits) > 1 or subject != "head":
                evidence.append(note(f"{len(hits)} of {len(pods)} pod(s) of {label}: {pods_summary([h[0] for h in hits])}"))
            out.append(cluster_finding(cluster, "CRASH-02", severity, f"container {st.get('name')} of {_role_label(label)} keeps crashing",
                                       obj=f"Pod/{name_of(pod)}", subject=subject, evidence=evidence, doc=TROUBLESHOOTING_DOC,
                                       fix=f"read the crash: kubectl logs {name_of(pod)} -c {st.get('name')} --previous "
                                           "(`Version mismatch` means the images differ, see VER-03)"))
    return out


@rule("CRASH-03", "containers can be created (Secrets and ConfigMaps exist)", policy={ERROR: PODS_NOT_STARTING})
def check_config_errors(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = [(pod, init, st) for pod in pods for init, st in _statuses(pod) if waiting_reason(st) in CONFIG_ERRORS]
            if not hits:
                continue
            pod, init, st = hits[0]
            message = dig(st, "state", "waiting", "message", default="")
            out.append(cluster_finding(cluster, "CRASH-03", ERROR,
                                       f"container {st.get('name')} of {_role_label(label)} cannot be created: {message or waiting_reason(st)}",
                                       obj=f"Pod/{name_of(pod)}", subject=subject,
                                       evidence=[field_ev(f"status.containerStatuses[{st.get('name')}].state.waiting",
                                                          f"{waiting_reason(st)}: {message}".strip(": ")),
                                                 note(f"{len({name_of(h[0]) for h in hits})} pod(s) of {label}")],
                                       fix="create the Secret/ConfigMap (or key) the message names: the Redis password "
                                           "Secret for GCS FT, or the auth token Secret (default name = the cluster name, "
                                           "key auth_token)"))
    return out


@rule("CRASH-04", "no Ray pod has failed", policy={ERROR: HEAD_DOWN, WARNING: DEGRADED})
def check_failed_pods(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            failed = [p for p in pods if pod_phase(p) == "Failed" and dig(p, "status", "reason") != "Evicted"]
            if not failed:
                continue
            pod = failed[0]
            out.append(cluster_finding(cluster, "CRASH-04", ERROR if subject == "head" else WARNING,
                                       f"{len(failed)} pod(s) of {_role_label(label)} failed", obj=f"Pod/{name_of(pod)}",
                                       subject=subject,
                                       evidence=[field_ev("status.phase", "Failed"),
                                                 field_ev("status.reason", dig(pod, "status", "reason", default="")),
                                                 field_ev("status.message", dig(pod, "status", "message", default=""))],
                                       fix="the operator deletes failed pods and creates new ones; if they keep failing, "
                                           "look at the node (kubectl describe node) and the pod's events"))
    return out


EVICTION_FIXES = {
    "memory": "the node ran out of memory and the kubelet evicted the pods using most above their request: set "
              "memory requests = limits on the Ray containers (the kubelet evicts those last) and size them for the load",
    "ephemeral-storage": "the node ran out of disk: Ray writes logs and spilled objects under /tmp/ray; set "
                         "ephemeral-storage requests/limits, or mount /tmp/ray on a volume sized for it",
}


@rule("RES-12", "no Ray pod was evicted", phase=44, policy={ERROR: HEAD_DOWN, WARNING: DEGRADED})
def check_evicted(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            evicted = [p for p in pods if dig(p, "status", "reason") == "Evicted"]
            if not evicted:
                continue
            pod = evicted[0]
            message = dig(pod, "status", "message", default="")
            resource = next((r for r in EVICTION_FIXES if f"low on resource: {r}" in message), None)
            # the head that is evicted and not replaced stops the whole cluster; an evicted worker is replaced
            current = subject == "head" and pod is cluster.head_pod
            fix = EVICTION_FIXES.get(resource or "", "set memory and ephemeral-storage requests = limits so the kubelet "
                                                      "does not pick Ray pods first")
            if current:
                fix += "; the operator replaces a Failed head pod only in newer KubeRay versions: delete the pod " \
                       f"(kubectl delete pod {name_of(pod)}) to get a new one"
            what = f"evicted ({resource} pressure on the node)" if resource else "evicted"
            out.append(cluster_finding(cluster, "RES-12", ERROR if current else WARNING,
                                       f"the head pod was {what} and not replaced" if current
                                       else f"{len(evicted)} pod(s) of {_role_label(label)} were {what}",
                                       obj=f"Pod/{name_of(pod)}", subject=subject,
                                       evidence=[field_ev("status.phase", pod_phase(pod)), field_ev("status.reason", "Evicted"),
                                                 field_ev("status.message", message)], fix=fix))
    return out
