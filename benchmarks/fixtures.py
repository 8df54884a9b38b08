"""Generated objects for benchmarks: realistic RayClusters with status, and their Ray pods."""

from __future__ import annotations

from typing import Any, Iterator


def raycluster(name: str, namespace: str, groups: int = 1, replicas: int = 2) -> dict[str, Any]:
    worker_groups = [{
        "groupName": f"group-{g}", "replicas": replicas, "minReplicas": 0, "maxReplicas": 10, "rayStartParams": {},
        "template": {"spec": {"containers": [{"name": "ray-worker", "image": "rayproject/ray:2.52.0",
                                               "resources": {"requests": {"cpu": "2", "memory": "4Gi"},
                                                             "limits": {"memory": "4Gi"}}}]}},
    } for g in range(groups)]
    return {
        "apiVersion": "ray.io/v1", "kind": "RayCluster",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-11-20T10:00:00Z",
                     "labels": {"team": "ml", "env": "bench"}},
        "spec": {"rayVersion": "2.52.0",
                 "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [
                     {"name": "ray-head", "image": "rayproject/ray:2.52.0",
                      "ports": [{"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
                                {"containerPort": 10001, "name": "client"}],
                      "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}}]}}},
                 "workerGroupSpecs": worker_groups},
        "status": {"state": "ready", "desiredWorkerReplicas": groups * replicas, "availableWorkerReplicas": groups * replicas,
                   "readyWorkerReplicas": groups * replicas, "desiredCPU": str(2 + 2 * groups * replicas),
                   "desiredMemory": f"{4 + 4 * groups * replicas}Gi", "desiredGPU": "0", "desiredTPU": "0",
                   "head": {"podIP": "10.0.0.10", "serviceIP": "10.0.0.11", "podName": f"{name}-head",
                            "serviceName": f"{name}-head-svc"},
                   "conditions": [{"type": "RayClusterProvisioned", "status": "True", "reason": "AllPodRunningAndReadyFirstTime",
                                   "lastTransitionTime": "2026-11-20T10:02:00Z", "message": ""},
                                  {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady",
                                   "lastTransitionTime": "2026-11-20T10:02:00Z", "message": ""}]},
    }


def worker_pod(cluster: str, namespace: str, group: str, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{cluster}-{group}-worker-{index:05d}", "namespace": namespace,
                     "creationTimestamp": "2026-11-20T10:01:00Z",
                     "labels": {"ray.io/cluster": cluster, "ray.io/node-type": "worker", "ray.io/group": group,
                                "ray.io/is-ray-node": "yes"}},
        "spec": {"containers": [{"name": "ray-worker", "image": "rayproject/ray:2.52.0",
                                 "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "ray-worker", "ready": True, "restartCount": 0,
                                          "state": {"running": {"startedAt": "2026-11-20T10:01:30Z"}}}]},
    }


def head_pod(cluster: str, namespace: str) -> dict[str, Any]:
    pod = worker_pod(cluster, namespace, "headgroup", 0)
    pod["metadata"]["name"] = f"{cluster}-head"
    pod["metadata"]["labels"].update({"ray.io/node-type": "head", "ray.io/group": "headgroup"})
    pod["spec"]["containers"][0]["name"] = "ray-head"
    return pod


def clusters_across(count: int, namespaces: int, groups: int = 1, replicas: int = 2) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield raycluster(f"cluster-{i:05d}", f"team-{i % namespaces}", groups, replicas)
