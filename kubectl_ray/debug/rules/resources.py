"""RES: how pod resources become Ray resources, and the rayStartParams that break (diagnostics.md §1G)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from kubectl_ray.debug.finding import CONFIG_DOC, ERROR, INFO, WARNING, field_ev, note
from kubectl_ray.debug.model import annotations_of, clusters, dig, name_of, ray_container, resource_quantity
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding, pods_summary, roles
from kubectl_ray.debug.severity import AT_RISK, BY_DESIGN, CONFIG_CANNOT_WORK, IGNORED_CONFIG, NOT_RECONCILED

GI = Decimal(1024 ** 3)
BOOL_PARAMS_KEPT_FALSE = ("log-color", "include-dashboard", "include-log-monitor")
RESOURCE_PARAMS = ("num-cpus", "num-gpus", "memory", "resources")


def _nodes(cluster) -> list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(label, spec path, ray container, rayStartParams, group spec) for the head and every group."""
    out = [("head", cluster.path("headGroupSpec"), cluster.head_container, cluster.head_params, cluster.head_spec)]
    out += [(f"group {g.name}", g.path, g.ray_container, g.params, g.spec) for g in cluster.groups]
    return out


@rule("RES-01", "the head has at least 2Gi of memory", policy={WARNING: AT_RISK})
def check_head_memory(snap) -> list:
    out = []
    for cluster in clusters(snap):
        container = cluster.head_container
        memory = resource_quantity(container, "limits", "memory") or resource_quantity(container, "requests", "memory")
        if memory is None or memory.value >= 2 * GI:
            continue
        kind = "limits" if resource_quantity(container, "limits", "memory") is not None else "requests"
        out.append(cluster_finding(cluster, "RES-01", WARNING, f"the head has only {memory} of memory", subject="head",
                                   evidence=[field_ev(cluster.path(f"headGroupSpec.template.spec.containers[0].resources.{kind}.memory"), str(memory))],
                                   fix="give the head at least 2Gi (8Gi in production): the GCS, dashboard and drivers live "
                                       "there and an OOM takes the whole cluster down", doc=CONFIG_DOC))
    return out


@rule("RES-02", "memory requests equal limits and a limit is set", policy={WARNING: AT_RISK, INFO: BY_DESIGN})
def check_memory_request_limit(snap) -> list:
    out = []
    for cluster in clusters(snap):
        missing, differ = [], []
        for label, path, container, params, _ in _nodes(cluster):
            if not container:
                continue
            limit = resource_quantity(container, "limits", "memory")
            request = resource_quantity(container, "requests", "memory")
            if limit is None and "memory" not in params:
                missing.append(field_ev(f"{path}.template.spec.containers[0].resources.limits.memory", None))
            elif limit is not None and request is not None and request != limit:
                differ.append(field_ev(f"{path}.template.spec.containers[0].resources", f"requests.memory {request} != limits.memory {limit}"))
        if missing:
            out.append(cluster_finding(cluster, "RES-02", WARNING, "no memory limit: Ray sizes its memory from what it detects",
                                       evidence=missing[:4],
                                       fix="set a memory limit (= request): KubeRay passes the limit to Ray as --memory; "
                                           "without it Ray may use more than the node gives the pod and be OOM-killed",
                                       doc=CONFIG_DOC))
        elif differ:
            # the KubeRay samples do this everywhere; worth knowing, not worth a warning
            out.append(cluster_finding(cluster, "RES-02", INFO, "memory requests are lower than limits",
                                       evidence=differ[:4],
                                       fix="set memory requests = limits when you can: Ray plans with the limit, the node "
                                           "with the request, so an overcommitted node may evict or OOM-kill Ray pods",
                                       doc=CONFIG_DOC))
    return out


@rule("RES-03", "CPU amounts are whole numbers", policy={WARNING: AT_RISK})
def check_fractional_cpu(snap) -> list:
    out = []
    for cluster in clusters(snap):
        problems = []
        for label, path, container, params, _ in _nodes(cluster):
            if "num-cpus" in params:
                continue
            cpu = resource_quantity(container, "limits", "cpu") or resource_quantity(container, "requests", "cpu")
            if cpu is not None and cpu.value != cpu.value.to_integral_value():
                problems.append(field_ev(f"{path}.template.spec.containers[0].resources cpu", str(cpu)))
        if problems:
            out.append(cluster_finding(cluster, "RES-03", WARNING, "fractional CPUs are rounded up for Ray",
                                       evidence=problems[:4],
                                       fix="use whole CPUs (or set num-cpus): KubeRay rounds 500m up to 1 Ray CPU, so Ray "
                                           "schedules more work than the pod may use", doc=CONFIG_DOC))
    return out


@rule("RES-04", "CPU limits are a deliberate choice", policy={INFO: BY_DESIGN})
def check_cpu_limits(snap) -> list:
    out = []
    for cluster in clusters(snap):
        limited = [label for label, path, container, _, _ in _nodes(cluster) if resource_quantity(container, "limits", "cpu") is not None]
        if limited:
            out.append(cluster_finding(cluster, "RES-04", INFO, f"CPU limits are set ({', '.join(limited[:4])})",
                                       evidence=[note("CPU limits throttle Ray processes; since KubeRay 1.3 num-cpus also "
                                                      "comes from the CPU request")],
                                       fix="consider requests only (KubeRay >= 1.3, Ray >= 2.41 for the autoscaler)", doc=CONFIG_DOC))
    return out


@rule("RES-05", "tasks needing CPU have somewhere to run", policy={WARNING: AT_RISK})
def check_zero_capacity(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if str(cluster.head_params.get("num-cpus", "")).strip() != "0":
            continue
        groups = cluster.groups
        if cluster.autoscaling:
            capacity = sum(int(dig(g.spec, "maxReplicas", default=0)) for g in groups)
        else:
            capacity = sum(int(dig(g.spec, "replicas", default=0)) for g in groups if not g.spec.get("suspend"))
        if capacity == 0:
            out.append(cluster_finding(cluster, "RES-05", WARNING, "the head has num-cpus: 0 and there are no workers",
                                       evidence=[field_ev(cluster.path("headGroupSpec.rayStartParams.num-cpus"), "0"),
                                                 note(f"{len(groups)} worker group(s) with {'maxReplicas' if cluster.autoscaling else 'replicas'} 0")],
                                       fix="add a worker group (or raise maxReplicas): tasks and actors that need CPU stay "
                                           "pending forever", doc=CONFIG_DOC))
    return out


@rule("RES-06", "rayStartParams values are strings", policy={ERROR: NOT_RECONCILED})
def check_param_types(snap) -> list:
    out = []
    for cluster in clusters(snap):
        bad = [(path, k, v) for _, path, _, params, _ in _nodes(cluster) for k, v in params.items() if not isinstance(v, str)]
        if bad:
            out.append(cluster_finding(cluster, "RES-06", ERROR, "rayStartParams values must be strings",
                                       evidence=[field_ev(f"{p}.rayStartParams.{k}", f"{v!r} ({type(v).__name__})") for p, k, v in bad[:4]],
                                       fix='quote them (num-cpus: "1"): the CRD schema rejects numbers and booleans', doc=CONFIG_DOC))
    return out


@rule("RES-07", "no rayStartParams flag is set to \"false\" (it is dropped)", policy={WARNING: IGNORED_CONFIG})
def check_false_params(snap) -> list:
    out = []
    for cluster in clusters(snap):
        dropped = [(path, k) for _, path, _, params, _ in _nodes(cluster) for k, v in params.items()
                   if isinstance(v, str) and v.strip().lower() == "false" and k not in BOOL_PARAMS_KEPT_FALSE]
        if dropped:
            out.append(cluster_finding(cluster, "RES-07", WARNING, "rayStartParams set to \"false\" are dropped",
                                       evidence=[field_ev(f"{p}.rayStartParams.{k}", "false") for p, k in dropped[:4]],
                                       fix="the operator turns \"true\" into a bare --flag and drops \"false\" (except "
                                           "log-color, include-dashboard, include-log-monitor): remove them"))
    return out


@rule("RES-08", "Ray resources are declared one way (rayStartParams or the group resources map)", policy={ERROR: NOT_RECONCILED})
def check_two_mechanisms(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for label, path, _, params, spec in _nodes(cluster):
            both = spec.get("resources") and any(k in params for k in RESOURCE_PARAMS)
            labels = "labels" in params
            if both or labels:
                evidence = []
                if both:
                    evidence += [field_ev(f"{path}.resources", "set"),
                                 field_ev(f"{path}.rayStartParams", ", ".join(k for k in RESOURCE_PARAMS if k in params))]
                if labels:
                    evidence.append(field_ev(f"{path}.rayStartParams.labels", "set"))
                out.append(cluster_finding(cluster, "RES-08", ERROR, f"{label} declares Ray resources or labels the rejected way",
                                           evidence=evidence,
                                           fix="KubeRay >= 1.5 rejects it: use either the group's resources/labels maps or "
                                               "rayStartParams, and labels only as the top-level field"))
    return out


@rule("RES-09", "rayStartParams.resources is valid JSON without CPU/GPU/memory", policy={ERROR: CONFIG_CANNOT_WORK})
def check_custom_resources(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for label, path, _, params, _ in _nodes(cluster):
            raw = params.get("resources")
            if raw is None:
                continue
            text = str(raw).strip()
            if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
                text = text[1:-1]
            try:
                doc = json.loads(text.replace('\\"', '"'))
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                out.append(cluster_finding(cluster, "RES-09", ERROR, f"rayStartParams.resources of {label} is not a JSON object",
                                           evidence=[field_ev(f"{path}.rayStartParams.resources", str(raw))],
                                           fix='write it as \'"{\\"Custom1\\": 1}"\'', doc=CONFIG_DOC))
                continue
            forbidden = sorted(k for k in doc if k in ("CPU", "GPU", "memory"))
            if forbidden:
                out.append(cluster_finding(cluster, "RES-09", ERROR, f"rayStartParams.resources of {label} sets {', '.join(forbidden)}",
                                           evidence=[field_ev(f"{path}.rayStartParams.resources", str(raw))],
                                           fix="use num-cpus / num-gpus / memory (or container resources) for those",
                                           doc=CONFIG_DOC))
    return out


@rule("RES-10", "object-store-memory fits in the container's memory", policy={ERROR: CONFIG_CANNOT_WORK})
def check_object_store(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for (label, path, container, params, _), subject in zip(_nodes(cluster), _subjects(cluster)):
            raw = params.get("object-store-memory")
            if raw is None:
                continue
            try:
                store = Decimal(str(raw).strip())
            except ArithmeticError:
                continue
            memory = resource_quantity(container, "requests", "memory") or resource_quantity(container, "limits", "memory")
            if memory is not None and store > memory.value:
                out.append(cluster_finding(cluster, "RES-10", ERROR, f"object-store-memory of {label} exceeds its memory ({memory})",
                                           subject=subject,
                                           evidence=[field_ev(f"{path}.rayStartParams.object-store-memory", str(raw)),
                                                     field_ev(f"{path}.template.spec.containers[0].resources memory", str(memory))],
                                           fix="lower object-store-memory or raise the memory: /dev/shm is sized to the "
                                               "container memory and Ray raises ValueError", doc=CONFIG_DOC))
    return out


def _subjects(cluster) -> list[str]:
    """The finding subject of each entry of _nodes(cluster), for folding the crashes a setting causes."""
    return ["head"] + [f"group:{g.name}" for g in cluster.groups]


LIMIT_RANGER = "kubernetes.io/limit-ranger"
_SET_BY = re.compile(r"(cpu|memory|ephemeral-storage) (request|limit) for (?:init )?container ([\w.-]+)")


@rule("RES-13", "a LimitRange did not give the Ray container resources its spec does not set",
      policy={WARNING: IGNORED_CONFIG})
def check_limit_range_defaults(snap) -> list:
    out = []
    for cluster in clusters(snap):
        templates = {"head": cluster.head_container}
        templates.update({f"group:{g.name}": g.ray_container for g in cluster.groups})
        for subject, label, pods in roles(cluster):
            hit = None
            for pod in pods:
                text = annotations_of(pod).get(LIMIT_RANGER, "")
                ray_name = ray_container(pod).get("name")
                matches = [(res, kind) for res, kind, c in _SET_BY.findall(text) if c == ray_name and res in ("cpu", "memory")]
                if matches:
                    hit = (pod, text, matches)
                    break
            if hit is None:
                continue
            pod, text, matches = hit
            container = ray_container(pod)
            values = [f"{kind}s.{res} = {dig(container, 'resources', kind + 's', res, default='?')}" for res, kind in matches]
            template = templates.get(subject) or {}
            evidence = [field_ev(f"metadata.annotations[{LIMIT_RANGER}]", text),
                        field_ev(f"Pod/{name_of(pod)} spec.containers[{container.get('name')}].resources", "; ".join(values)),
                        field_ev("template resources", ", ".join(f"{k}: {v}" for k, v in dig(template, "resources", default={}).items())
                                 or "<none>")]
            for lr in snap.items("limitranges", cluster.namespace)[:2]:
                for item in dig(lr, "spec", "limits", default=[]):
                    if item.get("type") == "Container" and (item.get("default") or item.get("defaultRequest")):
                        evidence.append(field_ev(f"LimitRange/{name_of(lr)} spec.limits[type=Container]",
                                                 f"default {item.get('default')}, defaultRequest {item.get('defaultRequest')}"))
            cpu = any(res == "cpu" for res, _ in matches)
            out.append(cluster_finding(cluster, "RES-13", WARNING,
                                       f"a LimitRange set {', '.join(sorted({f'{r} {k}' for r, k in matches}))} on {label}: "
                                       f"Ray sizes itself from {'it' if len(matches) == 1 else 'them'}",
                                       obj=f"Pod/{name_of(pod)}", subject=subject,
                                       evidence=[*evidence, note(f"pods: {pods_summary(pods)}")], doc=CONFIG_DOC,
                                       fix="set the requests and limits you mean on the Ray container (or num-cpus / memory "
                                           "in rayStartParams): KubeRay turns the CPU limit (or, v1.3+, request) into "
                                           "num-cpus and the memory limit into Ray's memory, so a namespace default "
                                           + ("caps the CPUs Ray schedules on" if cpu else "caps Ray's memory")))
    return out
