"""The one resolver every command uses for `NAME` / `TYPE/NAME`: the object, or kubectl's NotFound line
(`Error from server (NotFound): rayclusters.ray.io "x" not found`) with a hint when another Ray kind has
that name; and from the object to the RayCluster and head Service behind it, read from status as
KubeRay sets it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.kube.client import KubeClient
from kubectl_ray.kube.errors import ApiError
from kubectl_ray.kube.resources import RAY_RESOURCES, Resource
from kubectl_ray.parsing import ResourceRef
from kubectl_ray.shapes import mapping, namespace_of, text

KIND_NAMES = {"raycluster": "RayCluster", "rayjob": "RayJob", "rayservice": "RayService"}


class TargetNotReady(KubectlRayError):
    """The resource exists but KubeRay has not (yet) recorded its cluster or head service."""


@dataclass(frozen=True)
class RayTarget:
    ref: ResourceRef
    obj: dict[str, Any]
    cluster_name: str | None  # the RayCluster behind the resource
    head_service: str | None  # the head Service's name, from status

    @property
    def namespace(self) -> str:
        return namespace_of(self.obj)


class NotFound(KubectlRayError):
    """kubectl's line for a missing object; exit code 1 (debug turns it into 3)."""

    prefix = ""

    def __init__(self, res: Resource, name: str, hint: str = "") -> None:
        super().__init__(f'Error from server (NotFound): {res.display} "{name}" not found' + (f"; {hint}" if hint else ""))
        self.resource = res
        self.name = name


def not_found(kube: KubeClient, ref: ResourceRef, namespace: str) -> NotFound:
    """NotFound for `ref`, saying which other Ray kind has that name, if one does."""
    return NotFound(RAY_RESOURCES[ref.type], ref.name, same_name_hint(kube, ref, namespace))


def same_name_hint(kube: KubeClient, ref: ResourceRef, namespace: str) -> str:
    """`a RayJob named "x" exists: use rayjob/x` (best effort: a failed lookup just gives no hint)."""
    found = []
    for type_, res in RAY_RESOURCES.items():
        if type_ == ref.type:
            continue
        try:
            if kube.get_or_none(res, ref.name, namespace) is not None:
                found.append(type_)
        except KubectlRayError:
            continue
    if not found:
        return ""
    kinds = " and ".join(f"a {KIND_NAMES[t]}" for t in found)
    uses = " or ".join(f"{t}/{ref.name}" for t in found)
    return f'{kinds} named "{ref.name}" exist{"s" if len(found) == 1 else ""}: use {uses}'


def get_object(kube: KubeClient, ref: ResourceRef, namespace: str | None = None) -> dict[str, Any]:
    """The Ray object `ref` names in the namespace; NotFound (with the hint) when it does not exist."""
    ns = namespace or kube.namespace
    try:
        return kube.get(RAY_RESOURCES[ref.type], ref.name, ns)
    except ApiError as exc:
        if exc.status == 404 and exc.names_an_object:
            raise not_found(kube, ref, ns) from None
        raise


def read_target(kube: KubeClient, ref: ResourceRef, namespace: str | None = None) -> RayTarget:
    """Get the resource and work out its cluster and head service; NotFound is kubectl's line."""
    return target_from_object(ref, get_object(kube, ref, namespace))


def target_from_object(ref: ResourceRef, obj: dict[str, Any]) -> RayTarget:
    status = mapping(obj, "status")
    if ref.type == "raycluster":
        cluster, head = ref.name, text(status, "head", "serviceName")
    elif ref.type == "rayjob":
        cluster = text(status, "rayClusterName")
        head = text(status, "rayClusterStatus", "head", "serviceName")
    else:
        cluster = text(status, "activeServiceStatus", "rayClusterName")
        head = text(status, "activeServiceStatus", "rayClusterStatus", "head", "serviceName")
    return RayTarget(ref, obj, cluster or None, head or None)


def require_cluster(target: RayTarget) -> str:
    if not target.cluster_name:
        kind = KIND_NAMES[target.ref.type]
        where = "status.rayClusterName" if target.ref.type == "rayjob" else "status.activeServiceStatus.rayClusterName"
        raise TargetNotReady(f'{kind} "{target.ref.name}" has no RayCluster yet ({where} is empty); '
                             f"is the KubeRay operator running? Try: kubectl ray debug {target.ref}")
    return target.cluster_name


def require_head_service(target: RayTarget) -> str:
    if not target.head_service:
        kind = KIND_NAMES[target.ref.type]
        raise TargetNotReady(f'{kind} "{target.ref.name}" has no head service in its status yet; '
                             f"wait for the cluster to come up or run: kubectl ray debug {target.ref}")
    return target.head_service
