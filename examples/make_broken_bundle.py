"""Build examples/broken-cluster.tar.gz: a support bundle of a realistically broken Ray cluster.

    python examples/make_broken_bundle.py            # rewrites examples/broken-cluster.tar.gz
    kubectl-ray debug --from-bundle examples/broken-cluster.tar.gz

The story (namespace `ml`, RayCluster `demo`, KubeRay v1.7.0): the head was given 1Gi of memory and
its Ray container is OOMKilled over and over, so the GCS never comes up; the three workers sit in
`wait-gcs-ready`; and `spec.rayVersion` says 2.52.0 while the images run Ray 2.51.0. The status still
says `state: ready` (it is sticky). The objects are what `kubectl ray debug --bundle` would have
collected from such a cluster; the bundle is written by the plugin's own bundle writer, so it is
deterministic (same input, same bytes) and passes through the same redaction.
"""

from __future__ import annotations

import os
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from kubectl_ray.debug.bundle import write_bundle  # noqa: E402
from kubectl_ray.debug.collector import slim  # noqa: E402
from kubectl_ray.debug.snapshot import LogTail, Snapshot, TargetRef  # noqa: E402

NS = "ml"
CLUSTER = "demo"
COLLECTED_AT = "2026-11-23T12:00:00Z"
IMAGE = "rayproject/ray:2.51.0"
HEAD = f"{CLUSTER}-head-x2k8p"
WORKERS = [f"{CLUSTER}-cpu-workers-worker-{s}" for s in ("b7dqm", "k4nzt", "w9hls")]
OUT = os.path.join(HERE, "broken-cluster.tar.gz")


def at(minutes_ago: int) -> str:
    hour, minute = divmod(12 * 60 - minutes_ago, 60)
    return f"2026-11-23T{hour:02d}:{minute:02d}:00Z"


def ray_labels(node_type: str, group: str) -> dict[str, str]:
    return {"ray.io/cluster": CLUSTER, "ray.io/node-type": node_type, "ray.io/group": group,
            "ray.io/is-ray-node": "yes", "ray.io/identifier": f"{CLUSTER}-{node_type}",
            "app.kubernetes.io/name": "kuberay", "app.kubernetes.io/created-by": "kuberay-operator"}


HEAD_RESOURCES = {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
WORKER_RESOURCES = {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"memory": "8Gi"}}
USAGE_ENV = {"name": "RAY_USAGE_STATS_EXTRA_TAGS", "value": "kuberay_version=v1.7.0;kuberay_crd=RayCluster"}

RAYCLUSTER: dict[str, Any] = {
    "apiVersion": "ray.io/v1", "kind": "RayCluster",
    "metadata": {"name": CLUSTER, "namespace": NS, "uid": "6f1c2a52-1d2e-4b7e-9a51-2c0f3e7d9b10", "generation": 1,
                 "creationTimestamp": at(95)},
    "spec": {
        "rayVersion": "2.52.0",
        "headGroupSpec": {"rayStartParams": {"dashboard-host": "0.0.0.0"}, "template": {"spec": {"containers": [
            {"name": "ray-head", "image": IMAGE, "resources": HEAD_RESOURCES,
             "ports": [{"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
                       {"containerPort": 10001, "name": "client"}]}]}}},
        "workerGroupSpecs": [{"groupName": "cpu-workers", "replicas": 3, "minReplicas": 1, "maxReplicas": 10,
                              "numOfHosts": 1, "rayStartParams": {}, "template": {"spec": {"containers": [
                                  {"name": "ray-worker", "image": IMAGE, "resources": WORKER_RESOURCES}]}}}],
    },
    "status": {
        "state": "ready", "observedGeneration": 1, "desiredWorkerReplicas": 3, "availableWorkerReplicas": 0,
        "readyWorkerReplicas": 0, "minWorkerReplicas": 1, "maxWorkerReplicas": 10,
        "head": {"podName": HEAD, "podIP": "10.42.0.17", "serviceName": f"{CLUSTER}-head-svc", "serviceIP": "10.42.0.17"},
        "conditions": [
            {"type": "RayClusterProvisioned", "status": "True", "reason": "AllPodRunningAndReadyFirstTime", "message": "",
             "lastTransitionTime": at(90)},
            {"type": "HeadPodReady", "status": "False", "reason": "CrashLoopBackOff",
             "message": "ray-head: back-off 5m0s restarting failed container=ray-head pod=" + HEAD,
             "lastTransitionTime": at(40)},
        ],
    },
}


def head_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": HEAD, "namespace": NS, "uid": "0b7e0c43-8f1e-4d0a-b7a2-5d3c1e9f2a01", "creationTimestamp": at(94),
                     "labels": ray_labels("head", "headgroup"), "annotations": {"ray.io/ft-enabled": "false"},
                     "ownerReferences": [{"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": CLUSTER, "controller": True}]},
        "spec": {"nodeName": "pool-a-1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                 "containers": [{"name": "ray-head", "image": IMAGE, "resources": HEAD_RESOURCES,
                                 "env": [USAGE_ENV, {"name": "RAY_CLUSTER_NAME", "value": CLUSTER}],
                                 "ports": [{"containerPort": 6379, "name": "gcs-server"},
                                           {"containerPort": 8265, "name": "dashboard"},
                                           {"containerPort": 10001, "name": "client"}]}]},
        "status": {
            "phase": "Running", "podIP": "10.42.0.17", "hostIP": "192.168.10.11", "startTime": at(94), "qosClass": "Burstable",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
                           {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
                           {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "message": "containers with unready status: [ray-head]"}],
            "containerStatuses": [{
                "name": "ray-head", "image": IMAGE, "ready": False, "started": False, "restartCount": 6,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                                      "message": f"back-off 5m0s restarting failed container=ray-head pod={HEAD}"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": at(9),
                                             "finishedAt": at(6)}}}],
        },
    }


def worker_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "creationTimestamp": at(40),
                     "labels": ray_labels("worker", "cpu-workers"), "annotations": {"ray.io/ft-enabled": "false"},
                     "ownerReferences": [{"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": CLUSTER, "controller": True}]},
        "spec": {"nodeName": "pool-a-2", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                 "initContainers": [{"name": "wait-gcs-ready", "image": IMAGE,
                                     "resources": {"requests": {"cpu": "200m", "memory": "256Mi"},
                                                   "limits": {"cpu": "200m", "memory": "256Mi"}}}],
                 "containers": [{"name": "ray-worker", "image": IMAGE, "resources": WORKER_RESOURCES, "env": [USAGE_ENV]}]},
        "status": {
            "phase": "Pending", "podIP": None, "startTime": at(40), "qosClass": "Burstable",
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized"},
                           {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "initContainerStatuses": [{"name": "wait-gcs-ready", "image": IMAGE, "ready": False, "restartCount": 0,
                                       "state": {"running": {"startedAt": at(40)}}}],
            "containerStatuses": [{"name": "ray-worker", "image": IMAGE, "ready": False, "restartCount": 0,
                                   "state": {"waiting": {"reason": "PodInitializing"}}}],
        },
    }


def service() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"{CLUSTER}-head-svc", "namespace": NS, "creationTimestamp": at(95),
                         "labels": {"ray.io/cluster": CLUSTER, "ray.io/node-type": "head",
                                    "app.kubernetes.io/created-by": "kuberay-operator"}},
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "type": "ClusterIP",
                     "selector": {"ray.io/cluster": CLUSTER, "ray.io/node-type": "head"},
                     "ports": [{"name": "gcs-server", "port": 6379}, {"name": "dashboard", "port": 8265},
                               {"name": "client", "port": 10001}]}}


def endpoint_slice() -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{CLUSTER}-head-svc-8d2fq", "namespace": NS, "creationTimestamp": at(95),
                         "labels": {"kubernetes.io/service-name": f"{CLUSTER}-head-svc"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.42.0.17"], "conditions": {"ready": False, "serving": False},
                           "targetRef": {"kind": "Pod", "name": HEAD, "namespace": NS}}]}


def event(kind: str, name: str, etype: str, reason: str, message: str, minutes_ago: int, count: int = 1) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{reason.lower()}", "namespace": NS, "creationTimestamp": at(minutes_ago)},
            "involvedObject": {"kind": kind, "name": name, "namespace": NS},
            "type": etype, "reason": reason, "message": message, "count": count,
            "firstTimestamp": at(minutes_ago + 30), "lastTimestamp": at(minutes_ago)}


def operator() -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "kuberay-operator", "helm.sh/chart": "kuberay-operator-1.7.0"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "kuberay-operator", "namespace": "kuberay-system", "labels": labels,
                         "creationTimestamp": "2026-10-01T09:00:00Z"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator"}},
                     "template": {"spec": {"containers": [{"name": "kuberay-operator",
                                                           "image": "quay.io/kuberay/operator:v1.7.0",
                                                           "args": ["--feature-gates=RayClusterStatusConditions=true"]}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}}


def crd(plural: str, kind: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.ray.io"},
            "spec": {"group": "ray.io", "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True},
                                  {"name": "v1alpha1", "served": True, "storage": False, "deprecated": True}]}}


def node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "pool": "a"}},
            "spec": {}, "status": {"allocatable": {"cpu": "15800m", "memory": "60Gi", "pods": "110"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def build() -> Snapshot:
    objects = {
        "rayclusters": [RAYCLUSTER],
        "pods": [head_pod(), *(worker_pod(n) for n in WORKERS)],
        "services": [service()],
        "endpointslices": [endpoint_slice()],
        "events": [
            event("Pod", HEAD, "Warning", "Unhealthy", "Readiness probe failed: command timed out", 7, 31),
            event("Pod", HEAD, "Warning", "BackOff", "Back-off restarting failed container ray-head in pod " + HEAD, 5, 44),
            event("Pod", HEAD, "Normal", "Pulled", f'Container image "{IMAGE}" already present on machine', 9, 7),
        ],
        "deployments": [operator()],
        "customresourcedefinitions": [crd("rayclusters", "RayCluster")],
        "nodes": [node("pool-a-1"), node("pool-a-2")],
        "runtimeclasses": [], "networkpolicies": [], "jobs": [], "serviceaccounts": [], "operatorpods": [],
    }
    snap = Snapshot(targets=[TargetRef("RayCluster", NS, CLUSTER)])
    snap.meta = {"collectedAt": COLLECTED_AT, "pluginVersion": "0.1.0", "namespace": NS, "allNamespaces": False,
                 "source": "cluster", "logs": True, "apiCalls": 18}
    for resource, items in objects.items():
        snap.add(resource, [slim(resource, o) for o in items])
    snap.logs = [
        LogTail(NS, HEAD, "ray-head", True,
                "2026-11-23 11:53:51,120\tINFO usage_lib.py:447 -- Usage stats collection is disabled.\n"
                "2026-11-23 11:53:51,121\tINFO scripts.py:865 -- Local node IP: 10.42.0.17\n"
                "2026-11-23 11:53:58,874\tSUCC scripts.py:902 -- Ray runtime started.\n"
                "2026-11-23 11:54:02,002\tINFO dashboard.py:112 -- Dashboard head grpc address: 0.0.0.0:46281\n"),
        *(LogTail(NS, w, "wait-gcs-ready", False,
                  "5 seconds elapsed: Waiting for GCS to be ready.\n"
                  "2395 seconds elapsed: Still waiting for GCS to be ready. For troubleshooting, refer to the FAQ at "
                  "https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting.html.\n") for w in WORKERS),
    ]
    return snap


def main() -> None:
    from kubectl_ray.debug import report
    from kubectl_ray.debug.engine import diagnose

    snap = build()
    diagnosis = diagnose(snap)
    size = write_bundle(OUT, snap, report.to_document(snap, [diagnosis], single=True, bundle=None))
    os.chmod(OUT, 0o644)  # shipped with the sources, not a private bundle
    print(f"wrote {os.path.relpath(OUT)} ({size} bytes): "
          + ", ".join(f"{f.id}" for f in diagnosis.findings))


if __name__ == "__main__":
    main()
