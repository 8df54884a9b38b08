"""GCS: the head pod and the GCS it runs (diagnostics.md §1B)."""

from __future__ import annotations

import re

from kubectl_ray.debug.finding import CONFIG_DOC, ERROR, GCS_FT_DOC, TROUBLESHOOTING_DOC, UPGRADE_DOC, WARNING, event_ev, \
    field_ev, note
from kubectl_ray.debug.model import (
    OVERWRITE_CMD_ANNOTATION, age_seconds, annotations_of, clusters, command_text, dig, events_matching, group_of,
    is_true, last_termination, latest, name_of, pod_condition, pod_deleting, pod_phase, pod_ready, pod_ref,
    ray_container, ray_container_status, short_age, vtext,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import STALE_AFTER_SECONDS, cluster_finding
from kubectl_ray.debug.severity import AT_RISK, CONFIG_CANNOT_WORK, HEAD_DOWN, PODS_NOT_CREATED, WORKLOAD_FAILED

HEAD_START_GRACE = 120  # seconds a new head pod may take to become Ready (readiness: 10 s delay, 10 x 5 s)
BAD_RAY = ((2, 11, 0), (2, 38, 0))


@rule("GCS-01", "the head pod exists", policy={ERROR: PODS_NOT_CREATED})
def check_head_pod_exists(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None or cluster.suspended or cluster.deleting:
            continue
        snap.need("pods", cluster.namespace)
        if cluster.head_pod is not None:
            continue
        evidence = []
        head_ready = cluster.condition("HeadPodReady")
        if head_ready and head_ready.get("reason") == "HeadPodNotFound":
            evidence.append(field_ev("status.conditions[HeadPodReady].reason", "HeadPodNotFound"))
        failure = cluster.condition("ReplicaFailure")
        if failure and failure.get("status") == "True" and "Head" in str(failure.get("reason", "")):
            evidence.append(field_ev("status.conditions[ReplicaFailure].message", failure.get("message", "")))
        ev = latest(events_matching(cluster.events(), ("FailedToCreateHeadPod",)))
        if ev is not None:
            evidence.append(event_ev(ev))
        # the operator creates the head Service before the pods: when that fails, it never gets to the pods
        service = latest(events_matching(cluster.events(), ("FailedToCreateService", "FailedToCreateHeadService")))
        if service is not None:
            evidence.append(event_ev(service))
        age = age_seconds(snap, dig(cluster.obj, "metadata", "creationTimestamp"))
        if not evidence and (age is None or age < STALE_AFTER_SECONDS):
            continue
        evidence.append(note(f"no pod labelled ray.io/cluster={cluster.name},ray.io/node-type=head "
                             f"({short_age(age)} after the RayCluster was created)"))
        out.append(cluster_finding(cluster, "GCS-01", ERROR, "the head pod does not exist", subject="head",
                                   evidence=evidence, doc=TROUBLESHOOTING_DOC,
                                   fix="the message above carries the API server's reason (quota, PodSecurity, webhook); "
                                       "fix it and the operator creates the head pod on its next reconcile"))
    return out


@rule("GCS-02", "the head pod is Running and Ready", policy={ERROR: HEAD_DOWN})
def check_head_ready(snap) -> list:
    out = []
    for cluster in clusters(snap):
        head = cluster.head_pod
        if head is None or pod_deleting(head) or pod_ready(head):
            continue
        age = age_seconds(snap, dig(head, "metadata", "creationTimestamp"))
        unhealthy = [e for e in cluster.pod_events(head) if e.get("reason") == "Unhealthy"]
        if (age is None or age < HEAD_START_GRACE) and not unhealthy:
            continue
        ready = pod_condition(head, "Ready") or {}
        evidence = [field_ev("status.phase", pod_phase(head)),
                    field_ev("status.conditions[Ready]", f"{ready.get('status', 'Unknown')} {ready.get('reason', '')}".strip())]
        cond = cluster.condition("HeadPodReady")
        if cond and cond.get("status") != "True":
            evidence.append(field_ev(f"{cluster.ref} status.conditions[HeadPodReady]",
                                     f"{cond.get('reason', '')}: {cond.get('message', '')}".strip(": ")))
        probe = latest(unhealthy)
        where = ""
        ray_name = ray_container(head).get("name", "")
        statuses = dig(head, "status", "containerStatuses", default=[])
        others = [st.get("name", "") for st in statuses if not st.get("ready") and st.get("name") != ray_name]
        if others and all(st.get("ready") for st in statuses if st.get("name") == ray_name):
            # a sidecar (autoscaler, istio-proxy ...) keeps the pod from Ready, not Ray
            where = f" (container {', '.join(others)} is not ready; {ray_name} is)"
            evidence.append(field_ev("status.containerStatuses[ready=false]", ", ".join(others)))
        if probe is not None:
            evidence.append(event_ev(probe))
            message = str(probe.get("message", ""))
            if where:
                pass
            elif "gcs_healthz" in message:
                where = " (the GCS health check fails)"
            elif "raylet_healthz" in message or "52365" in message:
                where = " (the raylet / dashboard agent health check fails)"
        evidence.append(note(f"not Ready {short_age(age)} after the pod was created"))
        out.append(cluster_finding(cluster, "GCS-02", ERROR, f"the head pod is not Ready{where}", obj=pod_ref(head),
                                   subject="head", evidence=evidence, doc=TROUBLESHOOTING_DOC,
                                   fix=f"read the head's log: kubectl logs {name_of(head)} -c {ray_container(head).get('name', '')}"
                                       " (look for GCS start-up errors); /api/gcs_healthz failures mean the GCS, "
                                       "local_raylet_healthz the raylet or dashboard agent"))
    return out


_WGET = re.compile(r"wget.*(not found|No such file)|(not found|No such file).*wget", re.I)


@rule("GCS-03", "the Ray image has wget for the exec health checks", uses=("events",), policy={ERROR: HEAD_DOWN})
def check_wget(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for pod in cluster.pods:
            ev = latest([e for e in cluster.pod_events(pod) if e.get("reason") == "Unhealthy"
                         and _WGET.search(str(e.get("message", "")))])
            if ev is None:
                continue
            subject = "head" if pod is cluster.head_pod else f"group:{group_of(pod)}"
            out.append(cluster_finding(cluster, "GCS-03", ERROR, "the Ray image has no wget, so the health checks always fail",
                                       obj=pod_ref(pod), subject=subject, evidence=[event_ev(ev),
                                       field_ev("spec.containers[0].image", ray_container(pod).get("image", ""))],
                                       doc=CONFIG_DOC,
                                       fix="use an official rayproject/ray image or install wget in yours (KubeRay >= 1.1 "
                                           "needs it; with KubeRay >= 1.6 and Ray >= 2.53 the HTTP health check needs none)"))
            break
    return out


@rule("GCS-04", "the Ray version is not one of the known-bad 2.11.0-2.37.x", aliases=("VER-04",), policy={ERROR: HEAD_DOWN})
def check_bad_ray_versions(snap) -> list:
    out = []
    for cluster in clusters(snap):
        versions = []
        if cluster.ray_version:
            versions.append((cluster.path("rayVersion"), cluster.ray_version))
        for label, path, image in cluster.ray_images():
            if image.version:
                versions.append((path, image.version))
        bad = [(p, v) for p, v in versions if BAD_RAY[0] <= v < BAD_RAY[1]]
        if bad:
            out.append(cluster_finding(cluster, "GCS-04", ERROR, f"Ray {vtext(bad[0][1])} is in the known-bad range 2.11.0-2.37.x",
                                       evidence=[field_ev(p, vtext(v)) for p, v in bad[:3]], aliases=("VER-04",),
                                       doc=UPGRADE_DOC,
                                       fix="upgrade Ray to 2.38 or newer: in these versions the dashboard agent on the head "
                                           "gets stuck and the readiness and liveness checks fail"))
    return out


@rule("GCS-05", "the head has not restarted or been recreated (cluster state is lost without GCS FT)", uses=("events",), policy={ERROR: WORKLOAD_FAILED, WARNING: AT_RISK})
def check_head_restarts(snap) -> list:
    out = []
    for cluster in clusters(snap):
        head = cluster.head_pod
        if head is None:
            continue
        evidence = []
        status = ray_container_status(head) or {}
        restarts = status.get("restartCount") or 0
        if restarts:
            evidence.append(field_ev(f"status.containerStatuses[{status.get('name')}].restartCount", restarts))
            last = last_termination(status)
            if last:
                evidence.append(field_ev(f"status.containerStatuses[{status.get('name')}].lastState.terminated",
                                         f"{last.get('reason', '')} (exit {last.get('exitCode', '?')}) at {last.get('finishedAt', '?')}"))
        recreated = events_matching(cluster.events(), ("DeletedHeadPod",))
        if recreated:
            evidence.append(event_ev(latest(recreated)))
        provisioned = cluster.condition("RayClusterProvisioned")
        if provisioned and provisioned.get("status") == "True":
            since = age_seconds(snap, provisioned.get("lastTransitionTime"))
            head_age = age_seconds(snap, dig(head, "metadata", "creationTimestamp"))
            if since is not None and head_age is not None and head_age + 60 < since:
                evidence.append(note(f"the head pod is {short_age(head_age)} old but the cluster was provisioned "
                                     f"{short_age(since)} ago: the head was recreated"))
        if not evidence:
            continue
        severity = WARNING if cluster.ft_enabled else ERROR
        state = ("GCS fault tolerance is on, so the cluster state should have survived"
                 if cluster.ft_enabled else "without GCS fault tolerance the cluster state (actors, jobs, objects) was lost "
                                            "and the worker pods were restarted")
        out.append(cluster_finding(cluster, "GCS-05", severity, "the head restarted or was recreated", obj=pod_ref(head),
                                   subject="head", evidence=[*evidence, note(state)], doc=GCS_FT_DOC,
                                   fix="find the first termination reason (OOMKilled: give the head more memory); for "
                                       "services that must survive it, enable GCS fault tolerance (gcsFaultToleranceOptions)"))
    return out


_BLOCKING = ("--block", "sleep infinity", "tail -f", "wait")


@rule("GCS-06", "a custom Ray container command still starts Ray and blocks", policy={ERROR: CONFIG_CANNOT_WORK})
def check_command_override(snap) -> list:
    out = []
    for cluster in clusters(snap):
        overwrite_cluster = is_true(cluster.annotations.get(OVERWRITE_CMD_ANNOTATION))
        templates = [("head", cluster.path("headGroupSpec.template"), dig(cluster.head_spec, "template", default={}))]
        templates += [(f"group:{g.name}", f"{g.path}.template", dig(g.spec, "template", default={})) for g in cluster.groups]
        for subject, path, template in templates:
            container = ray_container(dig(template, "spec", default={}))
            text = command_text(container)
            if not text:
                continue
            overwrite = overwrite_cluster or is_true(annotations_of(template).get(OVERWRITE_CMD_ANNOTATION))
            starts_ray = "ray start" in text or "KUBERAY_GEN_RAY_START_CMD" in text
            field = f"{path}.spec.containers[0].command/args"
            if overwrite and not starts_ray:
                out.append(cluster_finding(cluster, "GCS-06", ERROR, "the container command never starts Ray", subject=subject,
                                           evidence=[field_ev(field, text),
                                                     field_ev(f"annotation {OVERWRITE_CMD_ANNOTATION}", "true")],
                                           fix="with ray.io/overwrite-container-cmd the operator does not add `ray start`: "
                                               "end your command with $KUBERAY_GEN_RAY_START_CMD", doc=CONFIG_DOC))
            elif "ray start" in text and not any(b in text for b in _BLOCKING):
                out.append(cluster_finding(cluster, "GCS-06", ERROR, "the container runs `ray start` without --block, so it exits",
                                           subject=subject, evidence=[field_ev(field, text)],
                                           fix="the operator does not inject its command when yours contains `ray start`: "
                                               "add --block (or run $KUBERAY_GEN_RAY_START_CMD)", doc=CONFIG_DOC))
    return out


PORT_PARAMS = (("port", ("gcs-server", "gcs"), 6379), ("dashboard-port", ("dashboard",), 8265),
               ("ray-client-server-port", ("client",), 10001))


@rule("GCS-07", "head ports agree with rayStartParams", policy={WARNING: AT_RISK})
def check_ports(snap) -> list:
    out = []
    for cluster in clusters(snap):
        ports = dig(cluster.head_container, "ports", default=[])
        by_name = {p.get("name"): p for p in ports if isinstance(p, dict)}
        for param, names, default in PORT_PARAMS:
            declared = next((by_name[n] for n in names if n in by_name), None)
            if declared is None:
                continue
            raw = cluster.head_params.get(param, default)
            try:
                wanted = int(str(raw))
            except ValueError:
                continue
            if declared.get("containerPort") != wanted:
                out.append(cluster_finding(cluster, "GCS-07", WARNING,
                                           f"head port {declared.get('name')} is {declared.get('containerPort')} but Ray listens on {wanted}",
                                           subject="head", evidence=[
                                               field_ev(cluster.path(f"headGroupSpec.template.spec.containers[0].ports[name={declared.get('name')}].containerPort"),
                                                        declared.get("containerPort")),
                                               field_ev(cluster.path(f"headGroupSpec.rayStartParams.{param}"),
                                                        cluster.head_params.get(param, f"<unset: {default}>"))],
                                           fix="the head Service exposes the container ports: make them match rayStartParams",
                                           doc=CONFIG_DOC))
    return out

