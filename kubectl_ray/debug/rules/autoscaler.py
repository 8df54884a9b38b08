"""AS: the in-tree autoscaler, its sidecar and the replica bounds it works within (diagnostics.md §1E)."""

from __future__ import annotations

import re
from typing import Any

from kubectl_ray.debug.finding import AUTOSCALING_DOC, ERROR, INFO, TROUBLESHOOTING_DOC, WARNING, event_ev, field_ev, \
    log_ev, note
from kubectl_ray.debug.model import (
    AUTOSCALER_CONTAINER, clusters, container_named, container_status, dig, env_value, events_matching, has_env,
    last_termination, latest, name_of, operator_for_namespace, parse_ray_image, target_object, vtext, waiting_reason,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding
from kubectl_ray.debug.severity import (
    AT_RISK, BY_DESIGN, CONFIG_CANNOT_WORK, DEGRADED, IGNORED_CONFIG, NOT_RECONCILED, PODS_NOT_CREATED, PODS_NOT_STARTING,
)
from kubectl_ray.debug.snapshot import Snapshot

V2_ENV = "RAY_enable_autoscaler_v2"
MANUAL_MANAGERS = ("kubectl-edit", "kubectl-patch", "kubectl-scale", "kubectl-ray", "kubectl-replace")


def autoscaler_v2(cluster) -> bool | None:
    """True/False when the cluster says which autoscaler it runs; None when it is left to Ray's default."""
    version = dig(cluster.spec, "autoscalerOptions", "version")
    if version:
        return version == "v2"
    env = env_value(cluster.head_container, V2_ENV)
    if env is not None:
        return env.strip().lower() in ("1", "true")
    return None


def _v2_effective(cluster) -> bool:
    explicit = autoscaler_v2(cluster)
    if explicit is not None:
        return explicit
    return bool(cluster.ray_version and cluster.ray_version >= (2, 47, 0))


@rule("AS-01", "with in-tree autoscaling on, the head runs the autoscaler sidecar", policy={ERROR: CONFIG_CANNOT_WORK})
def check_sidecar_present(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        head = cluster.head_pod
        if not cluster.autoscaling or head is None or container_named(head, AUTOSCALER_CONTAINER):
            continue
        out.append(cluster_finding(cluster, "AS-01", ERROR, "autoscaling is enabled but the head pod has no autoscaler container",
                                   obj=f"Pod/{name_of(head)}", subject="head",
                                   evidence=[field_ev(cluster.path("enableInTreeAutoscaling"), True),
                                             field_ev("spec.containers[].name", ", ".join(c.get("name", "") for c in dig(head, "spec", "containers", default=[])))],
                                   fix="the head was created before autoscaling was turned on and is not rebuilt: recreate "
                                       "the RayCluster (or, KubeRay >= 1.6, set spec.upgradeStrategy.type: Recreate)",
                                   doc=TROUBLESHOOTING_DOC))
    return out


@rule("AS-02", "no autoscaler sidecar without enableInTreeAutoscaling", policy={WARNING: IGNORED_CONFIG})
def check_sidecar_without_flag(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.autoscaling:
            continue
        in_template = container_named(cluster.head_template_spec, AUTOSCALER_CONTAINER)
        in_pod = cluster.head_pod is not None and container_named(cluster.head_pod, AUTOSCALER_CONTAINER)
        if in_template or in_pod:
            out.append(cluster_finding(cluster, "AS-02", WARNING, "an autoscaler container runs but enableInTreeAutoscaling is off",
                                       subject="head", evidence=[field_ev(cluster.path("enableInTreeAutoscaling"),
                                                                          cluster.spec.get("enableInTreeAutoscaling", False))],
                                       fix="set enableInTreeAutoscaling: true and remove the hand-made sidecar: without the "
                                           "flag the operator creates no RBAC for it", doc=AUTOSCALING_DOC))
    return out


@rule("AS-03", "the autoscaler's ServiceAccount exists", uses=("events",), policy={ERROR: PODS_NOT_CREATED})
def check_service_account(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.autoscaling:
            continue
        ev = latest(events_matching(cluster.events(), ("AutoscalerServiceAccountNotFound",)))
        sa = cluster.head_template_spec.get("serviceAccountName")
        evidence = [event_ev(ev)] if ev is not None else []
        if sa:
            from kubectl_ray.debug.rules.scheduling import refusals

            evidence += [r.evidence for r in refusals(snap, cluster)
                         if r.refusal.kind == "serviceaccount" and r.refusal.service_account == sa][:1]
        if not evidence and sa:
            snap.need("serviceaccounts", cluster.namespace)
            if snap.is_absent("serviceaccounts", cluster.namespace, sa):
                evidence.append(note(f'ServiceAccount "{sa}" does not exist in namespace "{cluster.namespace}"'))
        if evidence:
            out.append(cluster_finding(cluster, "AS-03", ERROR, f"the autoscaler's ServiceAccount {sa or cluster.name} is missing",
                                       subject="head",
                                       evidence=[field_ev(cluster.path("headGroupSpec.template.spec.serviceAccountName"), sa), *evidence],
                                       fix="the head pod is not created without it: create the ServiceAccount and bind it to "
                                           "a Role allowing pods get/list/watch/patch, pods/resize patch and rayclusters "
                                           "get/patch (or remove serviceAccountName to let the operator create its own)"))
    return out


@rule("AS-04", "the autoscaler sidecar is not crashing", policy={ERROR: PODS_NOT_STARTING, WARNING: DEGRADED})
def check_sidecar_crash(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        head = cluster.head_pod
        st = container_status(head, AUTOSCALER_CONTAINER) if head is not None else None
        if not st:
            continue
        last = last_termination(st)
        looping = waiting_reason(st) == "CrashLoopBackOff"
        if not (st.get("restartCount") or 0) and not looping:
            continue
        spec = container_named(head, AUTOSCALER_CONTAINER) or {}
        evidence = [field_ev(f"status.containerStatuses[{AUTOSCALER_CONTAINER}]",
                             f"{waiting_reason(st) or 'running'}, restarts {st.get('restartCount', 0)}")]
        if last:
            evidence.append(field_ev(f"status.containerStatuses[{AUTOSCALER_CONTAINER}].lastState.terminated",
                                     f"{last.get('reason', '')} (exit {last.get('exitCode', '?')})"))
        evidence.append(field_ev(f"spec.containers[{AUTOSCALER_CONTAINER}].resources.limits",
                                 ", ".join(f"{k}={v}" for k, v in dig(spec, "resources", "limits", default={}).items()) or "<none>"))
        for tail in snap.logs_for(cluster.namespace, name_of(head), AUTOSCALER_CONTAINER):
            errors = [ln for ln in tail.text.splitlines() if "Error" in ln or "Traceback" in ln or "Exception" in ln]
            if errors:
                evidence.append(log_ev(name_of(head), AUTOSCALER_CONTAINER, errors[-1]))
                break
        oom = last.get("reason") == "OOMKilled"
        fix = ("raise autoscalerOptions.resources (the default is 500m/512Mi)" if oom
               else f"read its log: kubectl logs {name_of(head)} -c {AUTOSCALER_CONTAINER} --previous")
        out.append(cluster_finding(cluster, "AS-04", ERROR if looping or oom else WARNING,
                                   "the autoscaler sidecar " + ("was OOMKilled" if oom else "keeps restarting"),
                                   obj=f"Pod/{name_of(head)}", subject="autoscaler", evidence=evidence, fix=fix,
                                   doc=AUTOSCALING_DOC))
    return out


def _cpu_known(container: dict[str, Any], params: dict[str, Any], group_resources: dict[str, Any], ray) -> bool:
    if "num-cpus" in params or "CPU" in (group_resources or {}):
        return True
    if dig(container, "resources", "limits", "cpu") is not None:
        return True
    return dig(container, "resources", "requests", "cpu") is not None and (ray is None or ray >= (2, 41, 0))


_CPU_UNKNOWN = re.compile(r"failed to detect `?CPU`? resources for group ([\w.-]+)")


def _cpu_failures(snap: Snapshot, cluster) -> dict[str, Any]:
    """group -> evidence, for groups the running autoscaler says it cannot size (its exit message or log)."""
    head = cluster.head_pod
    st = container_status(head, AUTOSCALER_CONTAINER) if head is not None else None
    out: dict[str, Any] = {}
    message = str(last_termination(st).get("message", "")) if st else ""
    for group in _CPU_UNKNOWN.findall(message):
        out.setdefault(group, field_ev(f"status.containerStatuses[{AUTOSCALER_CONTAINER}].lastState.terminated.message",
                                       message.strip()))
    if head is not None:
        for tail in snap.logs_for(cluster.namespace, name_of(head), AUTOSCALER_CONTAINER):
            for line in tail.text.splitlines():
                for group in _CPU_UNKNOWN.findall(line):
                    out.setdefault(group, log_ev(name_of(head), AUTOSCALER_CONTAINER, line))
    return out


@rule("AS-05", "the autoscaler can tell every group's CPU count", policy={ERROR: CONFIG_CANNOT_WORK})
def check_cpu_detectable(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.autoscaling:
            continue
        ray = cluster.ray_version
        seen = _cpu_failures(snap, cluster)
        nodes = [("head", cluster.path("headGroupSpec"), cluster.head_container, cluster.head_params, {})]
        nodes += [(g.name, g.path, g.ray_container, g.params, dig(g.spec, "resources", default={})) for g in cluster.groups]
        for name, path, container, params, res in nodes:
            if _cpu_known(container, params, res, ray) and name not in seen:
                continue
            evidence = [field_ev(f"{path}.rayStartParams.num-cpus", None),
                        field_ev(f"{path}.template.spec.containers[0].resources.limits.cpu", None)]
            if dig(container, "resources", "requests", "cpu") is not None:
                evidence.append(field_ev(f"{path}.template.spec.containers[0].resources.requests.cpu",
                                         f"{dig(container, 'resources', 'requests', 'cpu')} (read by the autoscaler "
                                         "from Ray 2.41 on)"))
            if name in seen:
                evidence.append(seen[name])
            out.append(cluster_finding(cluster, "AS-05", ERROR, f"the autoscaler cannot detect the CPUs of group {name}",
                                       subject="autoscaler", evidence=evidence,
                                       fix="set a CPU limit (or request, Ray >= 2.41) on the Ray container or num-cpus in "
                                           "rayStartParams: the autoscaler stops with `Autoscaler failed to detect CPU resources`",
                                       doc=AUTOSCALING_DOC))
    return out


@rule("AS-06", "num-cpus, num-gpus and memory in rayStartParams are integers", policy={ERROR: CONFIG_CANNOT_WORK})
def check_integer_params(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        nodes = [("headGroupSpec", cluster.head_params)] + [(g.path.rsplit(".", 1)[-1], g.params) for g in cluster.groups]
        for where, params in nodes:
            for key in ("num-cpus", "num-gpus", "memory"):
                value = params.get(key)
                if value is None or str(value).strip().isdigit():
                    continue
                out.append(cluster_finding(cluster, "AS-06", ERROR, f"rayStartParams {key} is not an integer: {value!r}",
                                           evidence=[field_ev(cluster.path(f"{where}.rayStartParams.{key}"), str(value))],
                                           fix=f"use a whole number: ray start and the autoscaler read {key} with int()",
                                           doc=AUTOSCALING_DOC))
    return out


def _bounds(group) -> tuple[Any, Any, Any]:
    return group.spec.get("minReplicas"), group.spec.get("maxReplicas"), group.spec.get("replicas")


@rule("AS-07", "minReplicas <= maxReplicas", policy={ERROR: CONFIG_CANNOT_WORK})
def check_min_max(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        for g in cluster.groups:
            low, high, _ = _bounds(g)
            if isinstance(low, int) and isinstance(high, int) and low > high:
                out.append(cluster_finding(cluster, "AS-07", ERROR, f"group {g.name} has minReplicas {low} > maxReplicas {high}",
                                           subject=f"group:{g.name}",
                                           evidence=[field_ev(f"{g.path}.minReplicas", low), field_ev(f"{g.path}.maxReplicas", high)],
                                           fix="KubeRay >= 1.6 rejects the cluster; older versions scale to minReplicas, above "
                                               "the maximum: fix the bounds"))
    return out


@rule("AS-08", "replicas lies within [minReplicas, maxReplicas]", policy={WARNING: IGNORED_CONFIG})
def check_replicas_in_bounds(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        for g in cluster.groups:
            low, high, replicas = _bounds(g)
            if not isinstance(replicas, int) or not isinstance(low, int) or not isinstance(high, int) or low > high:
                continue
            if low <= replicas <= high:
                continue
            clamped = min(max(replicas, low), high)
            out.append(cluster_finding(cluster, "AS-08", WARNING, f"group {g.name} asks for {replicas} replicas, outside [{low}, {high}]",
                                       subject=f"group:{g.name}",
                                       evidence=[field_ev(f"{g.path}.replicas", replicas), field_ev(f"{g.path}.minReplicas", low),
                                                 field_ev(f"{g.path}.maxReplicas", high)],
                                       fix=f"the operator runs {clamped}; set replicas within the bounds (or change the bounds)"))
    return out


@rule("AS-09", "without autoscaling every group sets minReplicas and maxReplicas", policy={ERROR: NOT_RECONCILED})
def check_bounds_set(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.autoscaling:
            continue
        op = operator_for_namespace(snap, cluster.namespace)
        if op is not None and op.version is not None and op.version < (1, 6, 0):
            continue
        for g in cluster.groups:
            low, high, _ = _bounds(g)
            if low is None or high is None:
                out.append(cluster_finding(cluster, "AS-09", ERROR, f"group {g.name} lacks minReplicas or maxReplicas",
                                           subject=f"group:{g.name}",
                                           evidence=[field_ev(f"{g.path}.minReplicas", low), field_ev(f"{g.path}.maxReplicas", high)],
                                           fix="KubeRay >= 1.6 requires both when autoscaling is disabled"))
    return out


@rule("AS-10", "idleTimeoutSeconds is only set with autoscaler v2", policy={ERROR: NOT_RECONCILED})
def check_idle_timeout(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        for g in cluster.groups:
            idle = g.spec.get("idleTimeoutSeconds")
            if idle is None:
                continue
            if isinstance(idle, int) and idle < 0:
                out.append(cluster_finding(cluster, "AS-10", ERROR, f"group {g.name} has a negative idleTimeoutSeconds",
                                           subject=f"group:{g.name}", evidence=[field_ev(f"{g.path}.idleTimeoutSeconds", idle)],
                                           fix="use 0 or more seconds"))
            elif autoscaler_v2(cluster) is not True:
                out.append(cluster_finding(cluster, "AS-10", ERROR, f"group {g.name} sets idleTimeoutSeconds but autoscaler v2 is not enabled",
                                           subject=f"group:{g.name}",
                                           evidence=[field_ev(f"{g.path}.idleTimeoutSeconds", idle),
                                                     field_ev(cluster.path("autoscalerOptions.version"),
                                                              dig(cluster.spec, "autoscalerOptions", "version"))],
                                           fix="set spec.autoscalerOptions.version: v2 (KubeRay >= 1.6 rejects it otherwise)",
                                           doc=AUTOSCALING_DOC))
    return out


@rule("AS-11", "upscalingMode is what you expect", policy={INFO: BY_DESIGN})
def check_upscaling_mode(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        mode = dig(cluster.spec, "autoscalerOptions", "upscalingMode")
        if not cluster.autoscaling or mode in (None, "Default"):
            continue
        speed = "1 (one node at a time per group)" if mode == "Conservative" else "1000 (as fast as demand)"
        out.append(cluster_finding(cluster, "AS-11", INFO, f"upscalingMode {mode}: upscaling_speed {speed}", subject="autoscaler",
                                   evidence=[field_ev(cluster.path("autoscalerOptions.upscalingMode"), mode)],
                                   fix="Default and Aggressive scale up at once; Conservative adds pods one by one",
                                   doc=AUTOSCALING_DOC))
    return out


@rule("AS-12", "autoscaler v2 is chosen one way only", policy={ERROR: NOT_RECONCILED})
def check_v2_twice(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if dig(cluster.spec, "autoscalerOptions", "version") and has_env(cluster.head_container, V2_ENV):
            out.append(cluster_finding(cluster, "AS-12", ERROR, f"both autoscalerOptions.version and {V2_ENV} are set",
                                       subject="autoscaler",
                                       evidence=[field_ev(cluster.path("autoscalerOptions.version"), dig(cluster.spec, "autoscalerOptions", "version")),
                                                 field_ev(cluster.path(f"headGroupSpec.template.spec.containers[0].env[{V2_ENV}]"),
                                                          env_value(cluster.head_container, V2_ENV))],
                                       fix=f"keep autoscalerOptions.version and remove the {V2_ENV} env var", doc=AUTOSCALING_DOC))
    return out


@rule("AS-13", "autoscaler v2 env is not set with autoscaling off", policy={ERROR: NOT_RECONCILED})
def check_v2_without_autoscaling(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        value = env_value(cluster.head_container, V2_ENV)
        if not cluster.autoscaling and value is not None and value.strip().lower() in ("1", "true"):
            out.append(cluster_finding(cluster, "AS-13", ERROR, f"{V2_ENV}={value} but in-tree autoscaling is off",
                                       subject="autoscaler",
                                       evidence=[field_ev(cluster.path(f"headGroupSpec.template.spec.containers[0].env[{V2_ENV}]"), value),
                                                 field_ev(cluster.path("enableInTreeAutoscaling"), cluster.spec.get("enableInTreeAutoscaling", False))],
                                       fix="enable in-tree autoscaling or remove the env var (KubeRay >= 1.5 rejects it)"))
    return out


@rule("AS-14", "restartPolicy is Never with autoscaler v2", policy={ERROR: NOT_RECONCILED, WARNING: AT_RISK})
def check_restart_policy(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.autoscaling:
            continue
        v2 = autoscaler_v2(cluster)
        templates = [("head", cluster.path("headGroupSpec.template.spec.restartPolicy"), cluster.head_template_spec.get("restartPolicy"))]
        templates += [(g.name, f"{g.path}.template.spec.restartPolicy", g.template_spec.get("restartPolicy")) for g in cluster.groups]
        wrong = [(n, p, v) for n, p, v in templates if v not in (None, "Never")]
        if v2 is True and wrong:
            out.append(cluster_finding(cluster, "AS-14", ERROR, "autoscaler v2 needs restartPolicy Never",
                                       subject="autoscaler", evidence=[field_ev(p, v) for _, p, v in wrong[:3]],
                                       fix="set restartPolicy: Never (or leave it unset) on the head and every group",
                                       doc=AUTOSCALING_DOC))
        elif v2 is False and dig(cluster.spec, "autoscalerOptions", "version") == "v1":
            worker_wrong = [w for w in wrong if w[0] != "head"]
            if worker_wrong:
                out.append(cluster_finding(cluster, "AS-14", WARNING, "worker groups should use restartPolicy Never with autoscaler v1",
                                           subject="autoscaler", evidence=[field_ev(p, v) for _, p, v in worker_wrong[:3]],
                                           fix="set restartPolicy: Never (or leave it unset) on the worker groups"))
    return out


@rule("AS-15", "the autoscaler version is the one you expect", policy={WARNING: AT_RISK, INFO: BY_DESIGN})
def check_autoscaler_version(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.autoscaling:
            continue
        explicit = autoscaler_v2(cluster)
        ray = cluster.ray_version
        if explicit is True and ray is not None and ray < (2, 10, 0):
            out.append(cluster_finding(cluster, "AS-15", WARNING, f"autoscaler v2 needs Ray 2.10 or newer, rayVersion is {vtext(ray)}",
                                       subject="autoscaler", evidence=[field_ev(cluster.path("rayVersion"), vtext(ray))],
                                       fix="upgrade Ray or use autoscaler v1", doc=AUTOSCALING_DOC))
        elif explicit is None:
            chosen = "v2" if _v2_effective(cluster) else "v1"
            out.append(cluster_finding(cluster, "AS-15", INFO, f"autoscaler version not set: Ray {vtext(ray)} picks {chosen}",
                                       subject="autoscaler",
                                       evidence=[field_ev(cluster.path("autoscalerOptions.version"), None),
                                                 note("Ray >= 2.47.0 defaults to v2, earlier releases to v1")],
                                       fix="set autoscalerOptions.version (KubeRay >= 1.4) to make the choice explicit",
                                       doc=AUTOSCALING_DOC))
    return out


@rule("AS-17", "no suspended group or DeleteWorkers rule together with autoscaling", policy={WARNING: IGNORED_CONFIG})
def check_suspend_with_autoscaling(snap: Snapshot) -> list:
    out = []
    obj = target_object(snap)
    for cluster in clusters(snap):
        if not cluster.autoscaling:
            continue
        for g in cluster.groups:
            if g.spec.get("suspend") is True:
                out.append(cluster_finding(cluster, "AS-17", WARNING, f"group {g.name} is suspended while autoscaling is on",
                                           subject=f"group:{g.name}", evidence=[field_ev(f"{g.path}.suspend", True)],
                                           fix="the operator rejects suspended groups with autoscaling: scale with "
                                               "min/maxReplicas instead"))
        if snap.target.kind == "RayJob" and obj is not None:
            rules_ = dig(obj, "spec", "deletionStrategy", "deletionRules", default=[])
            if any(dig(r, "policy") == "DeleteWorkers" for r in rules_):
                out.append(cluster_finding(cluster, "AS-17", WARNING, "a DeleteWorkers deletion rule is used with autoscaling",
                                           subject="autoscaler", evidence=[field_ev("spec.deletionStrategy.deletionRules[].policy", "DeleteWorkers")],
                                           fix="the operator rejects DeleteWorkers with autoscaling: use DeleteCluster"))
    return out


@rule("AS-18", "replicas are not edited by hand while the autoscaler owns them", policy={WARNING: IGNORED_CONFIG})
def check_manual_replicas(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.autoscaling or cluster.obj is None:
            continue
        edits = [m for m in dig(cluster.obj, "metadata", "managedFields", default=[])
                 if m.get("manager") in MANUAL_MANAGERS and any(f.startswith("spec.workerGroupSpecs") for f in dig(m, "fields", default=[]))]
        if edits:
            m = max(edits, key=lambda e: e.get("time") or "")
            out.append(cluster_finding(cluster, "AS-18", WARNING, f"worker groups were edited by {m.get('manager')} while autoscaling is on",
                                       subject="autoscaler",
                                       evidence=[field_ev("metadata.managedFields", f"{m.get('manager')} {m.get('operation', '')} "
                                                                                     f"spec.workerGroupSpecs at {m.get('time', '?')}")],
                                       fix="the autoscaler owns replicas and workersToDelete and overwrites hand edits: change "
                                           "minReplicas/maxReplicas instead", doc=AUTOSCALING_DOC))
    return out


@rule("AS-19", "the autoscaler image carries the head's Ray version", policy={WARNING: AT_RISK})
def check_autoscaler_image(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        image = dig(cluster.spec, "autoscalerOptions", "image")
        if not image:
            continue
        auto, head = parse_ray_image(image), parse_ray_image(cluster.head_container.get("image"))
        if auto.version and head.version and auto.version != head.version:
            out.append(cluster_finding(cluster, "AS-19", WARNING, f"autoscaler image Ray {auto.version_text} differs from the head's {head.version_text}",
                                       subject="autoscaler",
                                       evidence=[field_ev(cluster.path("autoscalerOptions.image"), image),
                                                 field_ev(cluster.path("headGroupSpec.template.spec.containers[0].image"), head.image)],
                                       fix="remove autoscalerOptions.image (it defaults to the head image); overriding it is "
                                           "meant for autoscaler development", doc=AUTOSCALING_DOC))
    return out


@rule("AS-20", "worker group priority has what it needs (Ray >= 2.56, autoscaler v2)", policy={ERROR: NOT_RECONCILED})
def check_priority(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        for g in cluster.groups:
            if g.spec.get("priority") in (None, 0):
                continue
            problems = []
            if cluster.ray_version is None or cluster.ray_version < (2, 56, 0):
                problems.append(field_ev(cluster.path("rayVersion"), cluster.spec.get("rayVersion")))
            if autoscaler_v2(cluster) is not True:
                problems.append(field_ev(cluster.path("autoscalerOptions.version"), dig(cluster.spec, "autoscalerOptions", "version")))
            if problems:
                out.append(cluster_finding(cluster, "AS-20", ERROR, f"group {g.name} sets priority without Ray >= 2.56 and autoscaler v2",
                                           subject=f"group:{g.name}", evidence=[field_ev(f"{g.path}.priority", g.spec.get("priority")), *problems],
                                           fix="KubeRay 1.7 rejects it: upgrade Ray to 2.56+ and set autoscalerOptions.version: v2"))
    return out


@rule("AS-21", "autoscalerOptions.env does not override the generated start command", policy={ERROR: NOT_RECONCILED})
def check_autoscaler_env(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        env = dig(cluster.spec, "autoscalerOptions", "env", default=[])
        if any(e.get("name") == "KUBERAY_GEN_AUTOSCALER_START_CMD" for e in env if isinstance(e, dict)):
            out.append(cluster_finding(cluster, "AS-21", ERROR, "autoscalerOptions.env sets KUBERAY_GEN_AUTOSCALER_START_CMD",
                                       subject="autoscaler",
                                       evidence=[field_ev(cluster.path("autoscalerOptions.env[KUBERAY_GEN_AUTOSCALER_START_CMD]"), "set")],
                                       fix="remove it: the operator owns that variable (KubeRay 1.7 rejects the cluster)"))
    return out
