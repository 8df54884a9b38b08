"""Finding the KubeRay operator and its version (Deployments, or the head pods' env as a fallback)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_ray.kube.client import KubeClient
from kubectl_ray.kube.errors import ApiError
from kubectl_ray.kube.resources import DEPLOYMENTS, PODS
from kubectl_ray.shapes import integer, name_of, namespace_of, objects, strings, text
from kubectl_ray.versions import image_tag

OPERATOR_SELECTOR = "app.kubernetes.io/name in (kuberay-operator,kuberay)"
USAGE_TAGS_ENV = "RAY_USAGE_STATS_EXTRA_TAGS"


@dataclass
class OperatorInstall:
    version: str
    source: str  # "deployment" | "head-pod-env"
    namespace: str | None = None
    name: str | None = None
    image: str | None = None
    args: list[str] = field(default_factory=list)
    available_replicas: int | None = None


@dataclass
class OperatorLookup:
    installs: list[OperatorInstall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why a source could not be read (RBAC, ...)
    # for `kubectl ray debug`: the Deployment objects found, and each refused read as (verb, resource, namespace|None)
    deployments: list[dict] = field(default_factory=list)
    forbidden: list[tuple[str, str, str | None]] = field(default_factory=list)

    @property
    def primary(self) -> OperatorInstall | None:
        return self.installs[0] if self.installs else None


def find_operator(kube: KubeClient, namespace: str) -> OperatorLookup:
    """All operator Deployments (cluster-wide, else this namespace), else the head-pod env fallback."""
    lookup = OperatorLookup()
    deployments = _list_deployments(kube, namespace, lookup)
    lookup.deployments = list(deployments)
    for dep in sorted(deployments, key=lambda d: (namespace_of(d), name_of(d))):
        install = _from_deployment(dep)
        if install:
            lookup.installs.append(install)
    if not lookup.installs:
        install = _from_head_pods(kube, namespace, lookup)
        if install:
            lookup.installs.append(install)
    return lookup


def _list_deployments(kube: KubeClient, namespace: str, lookup: OperatorLookup) -> list[dict]:
    try:
        return kube.list(DEPLOYMENTS, all_namespaces=True, label_selector=OPERATOR_SELECTOR)
    except ApiError as exc:
        if exc.status != 403:
            raise
        lookup.problems.append("cannot list deployments in all namespaces (forbidden)")
        lookup.forbidden.append(("list", "deployments", None))
    try:
        return kube.list(DEPLOYMENTS, namespace, label_selector=OPERATOR_SELECTOR)
    except ApiError as exc:
        if exc.status != 403:
            raise
        lookup.problems.append(f'cannot list deployments in namespace "{namespace}" (forbidden)')
        lookup.forbidden.append(("list", "deployments", namespace))
    return []


def _from_deployment(dep: dict) -> OperatorInstall | None:
    containers = objects(dep, "spec", "template", "spec", "containers")
    if not containers:
        return None
    # Prefer the operator container by name; the upstream plugin took containers[0] blindly.
    container = next((c for c in containers if c.get("name") == "kuberay-operator"), containers[0])
    image = text(container, "image")
    available = integer(dep, "status", "availableReplicas", default=-1)
    return OperatorInstall(
        version=image_tag(image), source="deployment", namespace=namespace_of(dep) or None, name=name_of(dep) or None,
        image=image, args=strings(container, "args") + strings(container, "command"),
        available_replicas=available if available >= 0 else None,
    )


def _from_head_pods(kube: KubeClient, namespace: str, lookup: OperatorLookup) -> OperatorInstall | None:
    """`RAY_USAGE_STATS_EXTRA_TAGS=kuberay_version=v1.7.0;...` on a head pod names the operator that made it."""
    try:
        pods = next(kube.list_pages(PODS, namespace, label_selector="ray.io/node-type=head", page_size=20), [])
    except ApiError as exc:
        if exc.status != 403:
            raise
        lookup.problems.append(f'cannot list pods in namespace "{namespace}" (forbidden)')
        lookup.forbidden.append(("list", "pods", namespace))
        return None
    for pod in pods:
        for container in objects(pod, "spec", "containers"):
            for env in objects(container, "env"):
                if env.get("name") == USAGE_TAGS_ENV:
                    version = usage_tag_version(text(env, "value"))
                    if version:
                        return OperatorInstall(version=version, source="head-pod-env",
                                               namespace=namespace_of(pod) or None, name=name_of(pod) or None)
    return None


def usage_tag_version(value: str) -> str | None:
    for part in value.split(";"):
        key, _, val = part.partition("=")
        if key.strip() == "kuberay_version" and val.strip():
            return val.strip()
    return None
