"""The API emulator playing the KubeRay operator for InteractiveMode RayJobs.

On RayJob create it does what KubeRay does before the job is submitted: it creates the RayCluster
from spec.rayClusterSpec (owned by the RayJob), its head Service with the `dashboard` port, and
sets RayJob status.rayClusterName; with `ready=True` the cluster's status says it is up
(state ready, HeadPodReady and RayClusterProvisioned True, status.head.serviceName). Deleting the
RayJob deletes its cluster, as Kubernetes' garbage collector would.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.emulator import Emulator

CLUSTER_SUFFIX = "x7k2p"
READY_CONDITIONS = [
    {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady", "message": ""},
    {"type": "RayClusterProvisioned", "status": "True", "reason": "AllPodRunningAndReadyFirstTime", "message": ""},
]
PENDING_CONDITIONS = [
    {"type": "HeadPodReady", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [ray-head]"},
    {"type": "RayClusterProvisioned", "status": "False", "reason": "RayClusterPodsProvisioning", "message": ""},
]


def cluster_name_for(job_name: str) -> str:
    return f"{job_name}-{CLUSTER_SUFFIX}"


def play_kuberay(emu: Emulator, *, ready: bool = True, auth_token: str | None = None) -> None:
    def on_create(job: dict[str, Any], emu: Emulator) -> None:
        meta = job["metadata"]
        ns, name = meta["namespace"], meta["name"]
        cluster = cluster_name_for(name)
        owner = [{"apiVersion": "ray.io/v1", "kind": "RayJob", "name": name, "uid": meta["uid"], "controller": True}]
        spec = dict(job["spec"].get("rayClusterSpec") or {})
        if auth_token is not None:
            spec["authOptions"] = {"mode": "token"}
            emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": cluster, "namespace": ns},
                     "data": {"auth_token": base64.b64encode(auth_token.encode()).decode()}})
        emu.add({"apiVersion": "ray.io/v1", "kind": "RayCluster",
                 "metadata": {"name": cluster, "namespace": ns, "ownerReferences": owner}, "spec": spec})
        service = f"{cluster}-head-svc"
        emu.add({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": service, "namespace": ns, "labels": {"ray.io/cluster": cluster}},
                 "spec": {"clusterIP": "None", "ports": [{"name": "gcs-server", "port": 6379},
                                                         {"name": "dashboard", "port": 8265},
                                                         {"name": "client", "port": 10001}]}})
        status: dict[str, Any] = {"state": "ready", "conditions": READY_CONDITIONS, "head": {"serviceName": service}} \
            if ready else {"conditions": PENDING_CONDITIONS}
        emu.update_status("rayclusters", ns, cluster, status)
        job_status: dict[str, Any] = {"rayClusterName": cluster, "jobDeploymentStatus": "Initializing"}
        if ready:
            job_status.update({"jobDeploymentStatus": "Waiting", "rayClusterStatus": status})
        emu.update_status("rayjobs", ns, name, job_status)

    def on_delete(job: dict[str, Any], emu: Emulator) -> None:
        meta = job["metadata"]
        emu.remove("rayclusters", meta["namespace"], cluster_name_for(meta["name"]))

    emu.on("create", "rayjobs", on_create)
    emu.on("delete", "rayjobs", on_delete)
