"""GPU: accelerators requested the way Kubernetes and KubeRay need (diagnostics.md §1H)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import ERROR, GPU_DOC, INFO, K8S_GPU_DOC, WARNING, field_ev, note
from kubectl_ray.debug.model import (
    clusters, dig, env_value, gpu_limits, gpu_requests, name_of, parse_ray_image, ray_container,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding, pods_summary, roles
from kubectl_ray.debug.rules.scheduling import blocked, scheduling_evidence
from kubectl_ray.debug.severity import AT_RISK, BY_DESIGN, CONFIG_CANNOT_WORK, PODS_NOT_CREATED, PODS_NOT_SCHEDULED

GPU_HINTS = ("nvidia", "gpu", "accelerator")


def _templates(cluster) -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    """(subject, label, path, template spec, rayStartParams) for the head and every group."""
    out = [("head", "the head", cluster.path("headGroupSpec"), cluster.head_template_spec, cluster.head_params)]
    out += [(f"group:{g.name}", f"group {g.name}", g.path, g.template_spec, g.params) for g in cluster.groups]
    return out


def _group_resources(cluster, subject: str) -> dict[str, Any]:
    group = next((g for g in cluster.groups if f"group:{g.name}" == subject), None)
    return dig(group.spec, "resources", default={}) if group is not None else {}


def _gpu_intent(template: dict[str, Any], params: dict[str, Any], group_resources: dict[str, Any]) -> tuple[list, bool]:
    """Evidence that a template means to use GPUs (other than GPU limits), and whether it is explicit.

    Explicit: an nvidia.com/gpu toleration (the pod is meant for tainted GPU nodes). num-gpus or a GPU
    count in the group's `resources` map may be deliberate fakes (KubeRay's ray-job.resources sample
    declares 2 logical GPUs on a CPU head), and a GPU nodeSelector or image tag only suggest it.
    """
    out = []
    explicit = False
    num = str(params.get("num-gpus", "")).strip()
    if num and num not in ("0", "0.0"):
        out.append(field_ev("rayStartParams.num-gpus", num))
    logical = str((group_resources or {}).get("GPU", "")).strip()
    if logical and logical not in ("0", "0.0"):
        out.append(field_ev("resources.GPU", logical))
    selector = dig(template, "nodeSelector", default={})
    for k, v in selector.items():
        if any(h in f"{k}={v}".lower() for h in GPU_HINTS) and "tpu" not in f"{k}={v}".lower():
            out.append(field_ev("template.spec.nodeSelector", f"{k}={v}"))
    for tol in dig(template, "tolerations", default=[]):
        if "nvidia.com/gpu" in str(tol.get("key", "")):
            out.append(field_ev("template.spec.tolerations[].key", tol.get("key")))
            explicit = True
    return out, explicit


@rule("GPU-01", "groups meant for GPUs request them as limits", policy={ERROR: CONFIG_CANNOT_WORK, WARNING: AT_RISK})
def check_gpu_limits(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, path, template, params in _templates(cluster):
            container = ray_container(template)
            if not container or gpu_limits(container):
                continue
            intent, explicit = _gpu_intent(template, params, _group_resources(cluster, subject))
            if not intent:
                continue
            image = parse_ray_image(container.get("image"))
            extra = [field_ev(f"{path}.template.spec.containers[0].image", image.image)] if "gpu" in image.tag or "-cu" in image.tag else []
            out.append(cluster_finding(cluster, "GPU-01", ERROR if explicit else WARNING,
                                       f"{label} is set up for GPUs but requests no GPU limit",
                                       subject=subject, evidence=[*intent, *extra,
                                       field_ev(f"{path}.template.spec.containers[0].resources.limits", "no GPU key")],
                                       fix="add resources.limits nvidia.com/gpu (limits, not only requests); with num-gpus "
                                           "alone Ray advertises GPUs the pod does not own", doc=GPU_DOC))
    return out


@rule("GPU-02", "GPU requests equal GPU limits", policy={ERROR: PODS_NOT_CREATED})
def check_gpu_requests(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, path, template, _ in _templates(cluster):
            for i, container in enumerate(dig(template, "containers", default=[])):
                requests, limits = gpu_requests(container), gpu_limits(container)
                bad = {k: v for k, v in requests.items() if str(limits.get(k)) != str(v)}
                if bad:
                    key = next(iter(bad))
                    out.append(cluster_finding(cluster, "GPU-02", ERROR, f"{label} requests {key} without an equal limit",
                                               subject=subject,
                                               evidence=[field_ev(f"{path}.template.spec.containers[{i}].resources.requests.{key}", bad[key]),
                                                         field_ev(f"{path}.template.spec.containers[{i}].resources.limits.{key}", limits.get(key))],
                                               fix="set GPUs in limits only (or requests = limits): the API server rejects the "
                                                   "pod otherwise", doc=K8S_GPU_DOC))
                    break
    return out


@rule("GPU-03", "pods without GPUs on GPU nodes hide the GPUs (NVIDIA_VISIBLE_DEVICES)", policy={WARNING: AT_RISK})
def check_visible_devices(snap) -> list:
    out = []
    for cluster in clusters(snap):
        # only where GPUs are in play: a cluster with a GPU group (its CPU head often lands on GPU nodes)
        if not any(gpu_limits(ray_container(t)) or _gpu_intent(t, p, {})[0] for _, _, _, t, p in _templates(cluster)):
            continue
        for subject, label, pods in roles(cluster):
            on_gpu = []
            for pod in pods:
                container = ray_container(pod)
                node_name = dig(pod, "spec", "nodeName")
                if not node_name or gpu_limits(container) or env_value(container, "NVIDIA_VISIBLE_DEVICES") is not None:
                    continue
                node = snap.get("nodes", None, node_name)
                if node is None:
                    snap.need("nodes")
                    continue
                if any(gpu_key for gpu_key, v in dig(node, "status", "allocatable", default={}).items()
                       if gpu_key.endswith("gpu") and str(v) not in ("0", "")):
                    on_gpu.append(pod)
            if on_gpu:
                out.append(cluster_finding(cluster, "GPU-03", WARNING, f"{label} runs on GPU nodes without asking for GPUs, and can see them all",
                                           obj=f"Pod/{name_of(on_gpu[0])}", subject=subject,
                                           evidence=[field_ev("spec.nodeName", dig(on_gpu[0], "spec", "nodeName")),
                                                     field_ev("spec.containers[0].env[NVIDIA_VISIBLE_DEVICES]", None),
                                                     note(f"{len(on_gpu)} pod(s): {pods_summary(on_gpu)}")],
                                           fix="set env NVIDIA_VISIBLE_DEVICES=void on its Ray container (the default is `all`), "
                                               "or keep it off GPU nodes", doc=GPU_DOC))
    return out


@rule("GPU-04", "GPU pods set runtimeClassName where the cluster uses RuntimeClasses", policy={WARNING: AT_RISK})
def check_runtime_class(snap) -> list:
    out = []
    for cluster in clusters(snap):
        gpu = [(s, label, path, t) for s, label, path, t, _ in _templates(cluster) if gpu_limits(ray_container(t))]
        if not gpu:
            continue
        classes = snap.need("runtimeclasses")
        nvidia = [name_of(rc) for rc in classes if "nvidia" in name_of(rc).lower() or "nvidia" in str(rc.get("handler", "")).lower()]
        if not nvidia:
            continue
        missing = [(s, label, path) for s, label, path, t in gpu if not t.get("runtimeClassName")]
        if missing:
            out.append(cluster_finding(cluster, "GPU-04", WARNING, f"GPU pods set no runtimeClassName although RuntimeClass {nvidia[0]} exists",
                                       subject=missing[0][0],
                                       evidence=[field_ev(f"{p}.template.spec.runtimeClassName", None) for _, _, p in missing[:3]]
                                       + [note(f"RuntimeClasses: {', '.join(nvidia)}")],
                                       fix=f"set runtimeClassName: {nvidia[0]} in the GPU templates if the NVIDIA runtime is not "
                                           "the node default (symptom: CUDA finds no driver, Ray sees 0 GPUs)", doc=GPU_DOC))
    return out


@rule("GPU-05", "GPU pods tolerate the GPU nodes' taint", policy={ERROR: PODS_NOT_SCHEDULED})
def check_gpu_taint(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = [b for b in blocked(snap, cluster, pods) if b.gpu_taint]
            if not hits:
                continue
            taint = next((t for t in hits[0].verdict.taints if "gpu" in t.lower() or "nvidia" in t.lower()), None)
            key = taint.split(":")[0].split("=")[0] if taint else "nvidia.com/gpu"
            effect = taint.rsplit(":", 1)[1] if taint and ":" in taint else "NoSchedule"
            out.append(cluster_finding(cluster, "GPU-05", ERROR, f"{label} cannot use the GPU nodes: untolerated {key} taint",
                                       obj=f"Pod/{name_of(hits[0].pod)}", subject=subject,
                                       evidence=scheduling_evidence(hits, pods, subject, label),
                                       fix=f"add the toleration {{key: {key}, operator: Exists, effect: {effect}}} to the "
                                           "pod template: the GPU nodes are tainted, so adding nodes would not help",
                                       doc=GPU_DOC))
    return out


@rule("GPU-06", "TPU groups select both the TPU accelerator and topology", policy={INFO: BY_DESIGN})
def check_tpu(snap) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, path, template, _ in _templates(cluster):
            limits = dig(ray_container(template), "resources", "limits", default={})
            if "google.com/tpu" not in limits:
                continue
            selector = dig(template, "nodeSelector", default={})
            missing = [k for k in ("cloud.google.com/gke-tpu-accelerator", "cloud.google.com/gke-tpu-topology") if k not in selector]
            if missing:
                out.append(cluster_finding(cluster, "GPU-06", INFO, f"{label} requests TPUs but its nodeSelector lacks {', '.join(missing)}",
                                           subject=subject, evidence=[field_ev(f"{path}.template.spec.nodeSelector", ", ".join(selector) or None)],
                                           fix="set both nodeSelectors: the autoscaler needs them to size TPU groups"))
    return out

