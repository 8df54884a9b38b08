"""From `NAME` / `TYPE/NAME` to the RayCluster and head Service behind it, read from status as KubeRay sets it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.kube.client import KubeClient
from kubectl_ray.kube.errors import ApiError
from kubectl_ray.kube.resources import RAY_RESOURCES
from kubectl_ray.parsing import ResourceRef

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
        return self.obj["metadata"].get("namespace", "")


def read_target(kube: KubeClient, ref: ResourceRef, namespace: str | None = None) -> RayTarget:
    """Get the resource and work out its cluster and head service; NotFound is one clear line."""
    res = RAY_RESOURCES[ref.type]
    ns = namespace or kube.namespace
    try:
        obj = kube.get(res, ref.name, ns)
    except ApiError as exc:
        if exc.status == 404 and exc.names_an_object:
            raise KubectlRayError(f'{KIND_NAMES[ref.type]} "{ref.name}" not found in namespace "{ns}"') from None
        raise
    return target_from_object(ref, obj)


def target_from_object(ref: ResourceRef, obj: dict[str, Any]) -> RayTarget:
    status = obj.get("status") or {}
    if ref.type == "raycluster":
        cluster, head = ref.name, (status.get("head") or {}).get("serviceName")
    elif ref.type == "rayjob":
        cluster = status.get("rayClusterName")
        head = ((status.get("rayClusterStatus") or {}).get("head") or {}).get("serviceName")
    else:
        active = status.get("activeServiceStatus") or {}
        cluster = active.get("rayClusterName")
        head = ((active.get("rayClusterStatus") or {}).get("head") or {}).get("serviceName")
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
