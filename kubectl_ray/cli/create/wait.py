"""`create cluster --wait`: watch a RayCluster until it is provisioned, one line per state change."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.parsing import format_duration
from kubectl_ray.resources.cluster import cluster_progress

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient


def wait_for_cluster(kube: "KubeClient", name: str, namespace: str, timeout_seconds: float, *,
                     report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Watch a RayCluster until it is provisioned; one report line per state change.

    Provisioned = condition RayClusterProvisioned True, or status.state "ready". The watch is
    re-opened from the last resourceVersion whenever the server ends it; on 410 Gone the object is
    read again. Raises KubectlRayError at the deadline, naming the last state seen.
    """
    from kubectl_ray.kube.errors import ApiError, ConnectionFailed, WatchExpired
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.printing import info
    from kubectl_ray.shapes import text

    say = report or info
    deadline = time.monotonic() + timeout_seconds
    watcher = _ProgressPrinter(name, say)
    resource_version: str | None = None
    pause = 0.1
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise KubectlRayError(
                f'timed out after {format_duration(timeout_seconds)} waiting for RayCluster "{name}" in namespace '
                f'"{namespace}" to be provisioned (last state: {watcher.last or "unknown"}); the RayCluster exists: '
                f"see 'kubectl ray debug {name}'")
        events = 0
        try:
            for event in kube.watch(RAYCLUSTERS, namespace, name=name, resource_version=resource_version,
                                    timeout_seconds=max(1, math.ceil(remaining))):
                events += 1
                obj = event["object"]  # the client checked it is an object
                resource_version = text(obj, "metadata", "resourceVersion") or resource_version
                if event.get("type") == "BOOKMARK":
                    continue
                if event.get("type") == "DELETED":
                    raise KubectlRayError(f'RayCluster "{name}" in namespace "{namespace}" was deleted while waiting '
                                          "for it to be provisioned")
                if watcher.seen(obj):
                    return obj
                if time.monotonic() >= deadline:
                    break
        except WatchExpired:
            try:
                obj = kube.get(RAYCLUSTERS, name, namespace)
            except ApiError as exc:
                if exc.status == 404:
                    raise KubectlRayError(f'RayCluster "{name}" in namespace "{namespace}" was deleted while waiting '
                                          "for it to be provisioned") from None
                raise
            resource_version = text(obj, "metadata", "resourceVersion") or None
            if watcher.seen(obj):
                return obj
            continue
        except ConnectionFailed:
            events = 0  # transient: retry until the deadline
        except ApiError as exc:
            if exc.status not in (429, 500, 502, 503, 504):
                raise
            events = 0
        if events == 0:  # the server ended the watch at once: do not spin
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 2, 2.0)
        else:
            pause = 0.1


class _ProgressPrinter:
    def __init__(self, name: str, say: Callable[[str], None]) -> None:
        self.name = name
        self.say = say
        self.last: str | None = None

    def seen(self, obj: dict[str, Any]) -> bool:
        done, state = cluster_progress(obj)
        if done:
            self.say(f'RayCluster "{self.name}" is provisioned')
            return True
        if state != self.last:
            self.say(f'Waiting for RayCluster "{self.name}": {state}')
            self.last = state
        return False
