"""Every rule: a snapshot that triggers it and a near miss that must not.

Each case starts from a KubeRay sample made healthy and running by the fake operator (sim.py) and
breaks one thing the way a real cluster breaks (pod statuses, events, spec fields). The near miss
changes the same thing in a harmless way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from kubectl_ray.debug.rules import rule_ids
from tests.debug.sim import ago, sample
from tests.debug.test_severity_policy import undeclared
from tests.debug.world import World

Mutate = Callable[[World], Any]


def istio(pod: dict[str, Any]) -> None:
    """What Istio's injector adds to a pod: istio-init and the istio-proxy sidecar."""
    pod["spec"].setdefault("initContainers", []).insert(0, {"name": "istio-init", "image": "docker.io/istio/proxyv2:1.24.2"})
    pod["spec"]["containers"].append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.2"})
    pod["metadata"].setdefault("annotations", {})["sidecar.istio.io/status"] = '{"containers":["istio-proxy"]}'


def autoscaling_with_workers() -> dict[str, Any]:
    """The autoscaler sample with one worker running (its group starts at 0)."""
    manifest = sample("ray-cluster.autoscaler.yaml")
    manifest["spec"]["workerGroupSpecs"][0].update(replicas=1, minReplicas=1)
    return manifest


def kueue(w: World, *, admitted: bool, message: str = "") -> None:
    """A RayJob queued in Kueue: the queue label, its LocalQueue and the Workload Kueue created for it."""
    w.obj["metadata"].setdefault("labels", {})["kueue.x-k8s.io/queue-name"] = "team-queue"
    w.add({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
           "metadata": {"name": "team-queue", "namespace": "default"}, "spec": {"clusterQueue": "team-cq"}})
    cond = ({"type": "Admitted", "status": "True", "reason": "Admitted", "message": "The workload is admitted"} if admitted
            else {"type": "QuotaReserved", "status": "False", "reason": "Pending", "message": message})
    w.add({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "Workload",
           "metadata": {"name": "rayjob-x-1a2b3", "namespace": "default", "creationTimestamp": ago(minutes=30),
                        "ownerReferences": [{"apiVersion": "ray.io/v1", "kind": "RayJob", "name": w.target.name,
                                             "controller": True}]},
           "spec": {"queueName": "team-queue"}, "status": {"conditions": [cond]}})


def limit_ranger(containers: str, pods: Callable[[World], list[dict[str, Any]]]) -> Mutate:
    """The LimitRanger admission plugin gave the pods a default CPU limit (and said so in an annotation)."""
    def run(w: World) -> None:
        w.add({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "default"},
               "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}, "defaultRequest": {"cpu": "500m"}}]}})
        for pod in pods(w):
            pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1"
            pod["metadata"].setdefault("annotations", {})["kubernetes.io/limit-ranger"] = \
                f"LimitRanger plugin set: cpu limit for container {containers}"
    return run


@dataclass
class Case:
    id: str
    trigger: Mutate
    near: Mutate
    sample: str = "ray-cluster.complete.yaml"
    severity: str | None = None
    kind: str | None = None
    sim: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def world(self) -> World:
        return World(self.sample, self.kind, **self.sim)


def chain(*steps: Mutate) -> Mutate:
    def run(w: World) -> None:
        for step in steps:
            step(w)
    return run


def nothing(w: World) -> None:
    return None


def rename(w: World, name: str) -> None:
    from kubectl_ray.debug.snapshot import TargetRef

    w.obj["metadata"]["name"] = name
    w.target = TargetRef(w.target.kind, w.target.namespace, name)


# --- mutations used by several cases ---------------------------------------------------------------

def invalid_spec_event(observed: int) -> Mutate:
    def run(w: World) -> None:
        w.cluster["metadata"]["generation"] = 2
        w.cluster["status"]["observedGeneration"] = observed
        w.event(w.cluster, "InvalidRayClusterSpec", "worker group small-group has minReplicas 5 greater than maxReplicas 2")
    return run


def head_unready(minutes: float, probe: str | None) -> Mutate:
    def run(w: World) -> None:
        w.head["metadata"]["creationTimestamp"] = ago(minutes=minutes)
        w.not_ready(w.head)
        if probe:
            w.event(w.head, "Unhealthy", probe, count=40)
    return run


def remove_head(age_minutes: float, evidence: bool) -> Mutate:
    def run(w: World) -> None:
        w.remove(w.head)
        w.cluster["metadata"]["creationTimestamp"] = ago(minutes=age_minutes)
        w.cluster["status"]["conditions"] = [c for c in w.cluster["status"]["conditions"] if c["type"] != "HeadPodReady"]
        if evidence:
            w.cluster["status"]["conditions"] += [
                {"type": "HeadPodReady", "status": "False", "reason": "HeadPodNotFound", "message": "Head Pod not found"},
                {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreateHeadPod",
                 "message": 'pods "x-head" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true'}]
    return run


def pending_worker(message: str, minutes: float = 10) -> Mutate:
    def run(w: World) -> None:
        for pod in w.workers:
            w.pending(pod, message, minutes=minutes)
    return run


def pending_head(message: str) -> Mutate:
    return lambda w: w.pending(w.head, message)


def set_spec(path: str, value: Any) -> Mutate:
    """Set a dotted path in the RayCluster spec (ints index lists)."""
    def run(w: World) -> None:
        cur: Any = w.spec
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur[int(p)] if p.isdigit() else cur.setdefault(p, {})
        cur[parts[-1]] = value
    return run


def head_env(name: str, value: str) -> Mutate:
    return lambda w: w.head_container.setdefault("env", []).append({"name": name, "value": value})


def job_status(**values: Any) -> Mutate:
    return lambda w: w.obj["status"].update(values)


def svc_condition(ctype: str, status: str, reason: str, minutes: float = 1, message: str = "") -> Mutate:
    def run(w: World) -> None:
        conds = [c for c in w.obj["status"]["conditions"] if c["type"] != ctype]
        conds.append({"type": ctype, "status": status, "reason": reason, "message": message,
                      "lastTransitionTime": ago(minutes=minutes)})
        w.obj["status"]["conditions"] = conds
    return run


def operator_args(*args: str) -> Mutate:
    return lambda w: w.operator_container.__setitem__("args", list(args))


def deep(**data: Any) -> Mutate:
    def run(w: World) -> None:
        key = f"{w.cluster['metadata']['namespace']}/{w.cluster['metadata']['name']}"
        w.deep[key] = {"address": "http://127.0.0.1:8265", "errors": {}, **data}
    return run


def gpu_worker(w: World, *, limit: bool = True) -> None:
    c = w.worker_container()
    c["resources"]["limits"]["nvidia.com/gpu"] = "1"
    c["resources"].setdefault("requests", {})["nvidia.com/gpu"] = "1"
    if not limit:
        del c["resources"]["limits"]["nvidia.com/gpu"]


def head_on_gpu_node(w: World) -> None:
    node = next(n for n in w.objs if n["kind"] == "Node" and n["metadata"]["name"] == w.head["spec"]["nodeName"])
    node["status"]["allocatable"]["nvidia.com/gpu"] = "4"


VERSION_MISMATCH = ("RuntimeError: Version mismatch: The cluster was started with:\n    Ray: 2.52.0\n    Python: 3.10.18\n"
                    "This process on node 10.0.0.7 was started with:\n    Ray: 2.51.0\n    Python: 3.10.18\n")


CASES: list[Case] = [
    # --- OP ------------------------------------------------------------------------------------
    Case("OP-01", lambda w: (w.meta.update(crdsMissing="the server doesn't have a resource type \"rayclusters\""), w.remove(w.obj)),
         lambda w: w.remove(next(o for o in w.objs if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == "rayjobs.ray.io")),
         severity="error"),
    Case("OP-01", lambda w: next(o for o in w.objs if o["kind"] == "CustomResourceDefinition"
                                 and o["metadata"]["name"] == "rayclusters.ray.io")["spec"]["versions"][0].update(served=False)
         if next(o for o in w.objs if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == "rayclusters.ray.io")
         ["spec"]["versions"][0]["name"] == "v1" else None,
         nothing, name="v1-not-served"),
    Case("OP-02", lambda w: (w.operator["status"].update(availableReplicas=0, readyReplicas=0)), nothing, severity="error"),
    Case("OP-02", lambda w: w.remove(w.operator), nothing, name="not-installed"),
    Case("OP-02", lambda w: (w.forbidden.append(("list", "deployments", None)), w.cluster.pop("status")),
         lambda w: w.forbidden.append(("list", "deployments", None)), name="forbidden-but-stale"),
    Case("OP-03", operator_args("--watch-namespace=team-a,team-b"), operator_args("--watch-namespace=team-a,default"),
         severity="error"),
    Case("OP-04", set_spec("managedBy", "kueue.x-k8s.io/multikueue"), set_spec("managedBy", "ray.io/kuberay-operator"),
         severity="info"),
    Case("OP-05", invalid_spec_event(observed=1), invalid_spec_event(observed=2), severity="error"),
    Case("OP-05", lambda w: w.spec["workerGroupSpecs"].append(dict(w.group(0))),
         lambda w: w.spec["workerGroupSpecs"].append(dict(w.group(0), groupName="small-group-2")), name="duplicate-groups"),
    Case("OP-05", lambda w: rename(w, "r" * 54), lambda w: rename(w, "r" * 53), name="name-length"),
    Case("OP-05", svc_condition("Ready", "False", "ValidationFailed", message="spec.rayClusterConfig is invalid"),
         svc_condition("Ready", "False", "Initializing"), sample="ray-service.sample.yaml", name="rayservice"),
    Case("OP-06", nothing, operator_args("--feature-gates=RayClusterNetworkPolicy=true"),
         sample="ray-cluster.network-policy-deny-all.yaml", severity="error", sim={"gates": []}),
    Case("OP-06", lambda w: w.event(w.cluster, "InvalidRayClusterSpec",
                                    "spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to be enabled"),
         nothing, sample="ray-cluster.network-policy-deny-all.yaml", sim={"gates": ["RayClusterNetworkPolicy"]},
         name="event"),
    Case("OP-07", lambda w: w.cluster["metadata"].setdefault("annotations", {}).update({
        "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"ray.io/v1","kind":"RayCluster","spec":{"rayVersion":"2.52.0","futureOption":{"on":true}}}'}),
        lambda w: w.cluster["metadata"].setdefault("annotations", {}).update({
            "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"ray.io/v1","kind":"RayCluster","spec":{"rayVersion":"2.52.0","suspend":false}}'}),
        severity="warning"),
    Case("OP-08", lambda w: w.cluster["metadata"]["managedFields"][0].update(apiVersion="ray.io/v1alpha1"),
         lambda w: w.cluster["metadata"]["managedFields"][0].update(apiVersion="ray.io/v1"), severity="warning"),
    # --- GCS -----------------------------------------------------------------------------------
    Case("GCS-01", remove_head(30, evidence=True), remove_head(0.5, evidence=False), severity="error"),
    Case("GCS-02", head_unready(10, "Readiness probe failed: wget: server returned error: HTTP/1.1 503 (api/gcs_healthz)"),
         head_unready(0.5, None), severity="error"),
    Case("GCS-03", head_unready(10, 'Readiness probe failed: bash: line 1: wget: command not found'),
         head_unready(10, "Readiness probe failed: timeout after 5s"), severity="error"),
    Case("GCS-04", lambda w: w.set_images("rayproject/ray:2.30.0", ray_version="2.30.0"),
         lambda w: w.set_images("rayproject/ray:2.38.0", ray_version="2.38.0"), severity="error"),
    Case("GCS-05", lambda w: w.status(w.head).update(restartCount=1, lastState={"terminated": {"reason": "Error", "exitCode": 1}}),
         lambda w: None, severity="error"),
    Case("GCS-05", lambda w: (w.event(w.cluster, "DeletedHeadPod", "Deleted head Pod default/x; Pod status: Failed", etype="Normal"),
                              w.head["metadata"].update(creationTimestamp=ago(minutes=20))),
         lambda w: w.event(w.cluster, "CreatedHeadPod", "Created head Pod default/x", etype="Normal"), name="recreated"),
    Case("GCS-06", lambda w: w.head_container.update(command=["/bin/bash", "-c"], args=["ray start --head --port=6379"]),
         lambda w: w.head_container.update(command=["/bin/bash", "-c"], args=["ray start --head --port=6379 --block"]),
         severity="error"),
    Case("GCS-06", lambda w: w.head_container.update(command=["/bin/bash", "-c", "--"], args=["echo head; sleep 1"]),
         lambda w: None, sample="ray-cluster.overwrite-command.yaml", name="overwrite-without-start"),
    Case("GCS-06", lambda w: w.head_container.update(args=["ray start --head"]), nothing,
         sample="ray-cluster.head-command.yaml", name="head-command-sample"),
    Case("GCS-07", set_spec("headGroupSpec.rayStartParams.dashboard-port", "8266"),
         set_spec("headGroupSpec.rayStartParams.dashboard-port", "8265"), severity="warning"),
    # --- WKR -----------------------------------------------------------------------------------
    Case("WKR-01", chain(head_unready(10, None), lambda w: w.waiting_for_gcs(w.worker, minutes=8)),
         lambda w: w.waiting_for_gcs(w.worker, minutes=1), severity="error"),
    Case("WKR-02", lambda w: w.waiting_for_gcs(w.worker, minutes=10), lambda w: w.waiting_for_gcs(w.worker, minutes=1),
         severity="error"),
    Case("WKR-02", lambda w: (w.waiting_for_gcs(w.worker, minutes=2.5),
                              w.log(w.worker, "wait-gcs-ready", "150 seconds elapsed: Still waiting for GCS to be ready.")),
         lambda w: (w.waiting_for_gcs(w.worker, minutes=2.5),
                    w.log(w.worker, "wait-gcs-ready", "10 seconds elapsed: Waiting for GCS to be ready.")), name="log"),
    Case("WKR-03", lambda w: w.operator_container.setdefault("env", []).append({"name": "ENABLE_INIT_CONTAINER_INJECTION", "value": "false"}),
         lambda w: w.operator_container.setdefault("env", []).append({"name": "ENABLE_INIT_CONTAINER_INJECTION", "value": "true"}),
         severity="info"),
    Case("WKR-04", lambda w: w.crash(w.worker, message=VERSION_MISMATCH),
         lambda w: w.crash(w.worker, message="RuntimeError: Failed to connect to GCS"), severity="error"),
    Case("WKR-04", lambda w: (w.crash(w.worker), w.log(w.worker, "ray-worker", "...\n" + VERSION_MISMATCH, previous=True)),
         lambda w: (w.crash(w.worker), w.log(w.worker, "ray-worker", "ConnectionError: GCS unavailable", previous=True)),
         name="log"),
    Case("WKR-05", lambda w: [w.remove(p) for p in w.workers],
         lambda w: ([w.remove(p) for p in w.workers], w.group(0).update(replicas=0, minReplicas=0)), severity="error"),
    Case("WKR-06", lambda w: w.worker["metadata"]["labels"].update({"ray.io/group": "old-group"}), nothing,
         severity="warning"),
    Case("WKR-06", lambda w: (w.worker["metadata"]["labels"].update({"ray.io/group": "old-group"}),
                              w.crash(w.head, container="autoscaler")),
         lambda w: w.crash(w.head, container="autoscaler"), sim={"manifest": autoscaling_with_workers()}, severity="error",
         name="autoscaler-crashes"),
    # --- FT ------------------------------------------------------------------------------------
    Case("FT-01", lambda w: w.cluster["metadata"].setdefault("annotations", {}).update({"ray.io/ft-enabled": "true"}), nothing,
         sample="ray-cluster.external-redis.yaml", severity="error"),
    Case("FT-02", head_env("RAY_REDIS_ADDRESS", "redis:6379"),
         chain(head_env("RAY_REDIS_ADDRESS", "redis:6379"), set_spec("gcsFaultToleranceOptions", {"redisAddress": "redis:6379"})),
         severity="error"),
    Case("FT-03", set_spec("headGroupSpec.rayStartParams.redis-password", "5241590000000000"), nothing,
         sample="ray-cluster.external-redis.yaml", severity="error"),
    Case("FT-04", set_spec("headGroupSpec.rayStartParams.redis-username", "ray"),
         set_spec("gcsFaultToleranceOptions.redisUsername", {"value": "ray"}), sample="ray-cluster.external-redis.yaml",
         severity="error"),
    Case("FT-05", set_spec("gcsFaultToleranceOptions", {}), set_spec("gcsFaultToleranceOptions", {"backend": "rocksdb"}),
         severity="warning"),
    Case("FT-06", lambda w: w.status(w.head).update(ready=False, state={"waiting": {"reason": "CreateContainerConfigError",
                                                    "message": 'secret "redis-password-secret" not found'}}),
         lambda w: w.status(w.head).update(ready=False, state={"waiting": {"reason": "CreateContainerConfigError",
                                                                 "message": 'configmap "ray-example" not found'}}),
         sample="ray-cluster.external-redis.yaml", severity="error"),
    Case("FT-07", lambda w: w.crash(w.head, message="Failed to connect to Redis at redis:6379: Connection refused"),
         lambda w: w.crash(w.head, message="Segmentation fault"), sample="ray-cluster.external-redis.yaml", severity="error"),
    Case("FT-08", lambda w: w.obj["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"].update(externalStorageNamespace="pinned"),
         nothing, sample="ray-service.high-availability.yaml", severity="warning"),
    Case("FT-09", lambda w: w.worker_container().setdefault("env", []).append({"name": "RAY_gcs_rpc_server_reconnect_timeout_s", "value": "30"}),
         lambda w: w.worker_container().setdefault("env", []).append({"name": "RAY_gcs_rpc_server_reconnect_timeout_s", "value": "120"}),
         sample="ray-cluster.external-redis.yaml", severity="warning"),
    Case("FT-10", lambda w: w.cluster["metadata"].update(deletionTimestamp=ago(minutes=10), finalizers=["ray.io/gcs-ft-redis-cleanup-finalizer"]),
         lambda w: w.cluster["metadata"].update(deletionTimestamp=ago(minutes=1), finalizers=["ray.io/gcs-ft-redis-cleanup-finalizer"]),
         sample="ray-cluster.external-redis.yaml", severity="error"),
    Case("FT-11", set_spec("gcsFaultToleranceOptions.storage", {"claimName": "gcs-data", "size": "1Gi"}),
         set_spec("gcsFaultToleranceOptions.storage", {"claimName": "gcs-data"}), sample="ray-cluster.embedded-gcs-ft.yaml",
         sim={"gates": ["GCSFaultToleranceEmbeddedStorage"]}, severity="error"),
    Case("FT-11", pending_head('0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available'),
         pending_head("0/3 nodes are available: 3 Insufficient cpu."), sample="ray-cluster.embedded-gcs-ft.yaml",
         sim={"gates": ["GCSFaultToleranceEmbeddedStorage"]}, name="pvc-pending"),
    Case("FT-12", lambda w: w.cluster["metadata"].setdefault("annotations", {}).update({"ray.io/ft-enabled": "true"}),
         lambda w: w.cluster["metadata"].setdefault("annotations", {}).update({"ray.io/ft-enabled": "false"}),
         severity="info"),
    Case("FT-12", nothing, lambda w: w.spec.pop("gcsFaultToleranceOptions"), sample="ray-cluster.external-redis.yaml",
         name="options"),
    Case("FT-13", lambda w: w.absent.append(("services", "default", "redis")),
         lambda w: w.absent.append(("services", "default", "redis-other")), sample="ray-cluster.external-redis.yaml",
         severity="error"),
    # --- AS ------------------------------------------------------------------------------------
    Case("AS-01", lambda w: (w.head["spec"]["containers"].pop(1), w.head["status"]["containerStatuses"].pop(1)), nothing,
         sample="ray-cluster.autoscaler.yaml", severity="error"),
    Case("AS-02", lambda w: w.head_template["containers"].append({"name": "autoscaler", "image": "rayproject/ray:2.52.0"}),
         nothing, severity="warning"),
    Case("AS-03", lambda w: (w.head_template.update(serviceAccountName="ray-autoscaler"),
                             w.absent.append(("serviceaccounts", "default", "ray-autoscaler"))),
         lambda w: (w.head_template.update(serviceAccountName="ray-autoscaler"),
                    w.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ray-autoscaler", "namespace": "default"}})),
         sample="ray-cluster.autoscaler.yaml", severity="error"),
    Case("AS-03", lambda w: w.event(w.cluster, "AutoscalerServiceAccountNotFound",
                                    "ServiceAccount default/ray-autoscaler is not found. Please create one ServiceAccount"),
         lambda w: w.event(w.cluster, "CreatedService", "Created service default/x-head-svc", etype="Normal"),
         sample="ray-cluster.autoscaler.yaml", name="event"),
    Case("AS-04", lambda w: w.crash(w.head, container="autoscaler", reason="OOMKilled", exit_code=137),
         lambda w: w.status(w.head, "autoscaler").update(restartCount=0), sample="ray-cluster.autoscaler.yaml", severity="error"),
    Case("AS-05", lambda w: w.worker_container().update(resources={"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}),
         lambda w: (w.worker_container().update(resources={"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}),
                    w.group(0)["rayStartParams"].update({"num-cpus": "1"})),
         sample="ray-cluster.autoscaler.yaml", severity="error"),
    Case("AS-06", lambda w: w.group(0)["rayStartParams"].update({"num-cpus": "0.5"}),
         lambda w: w.group(0)["rayStartParams"].update({"num-cpus": "1"}), severity="error"),
    Case("AS-07", lambda w: w.group(0).update(minReplicas=5, maxReplicas=2), lambda w: w.group(0).update(minReplicas=2, maxReplicas=2),
         severity="error"),
    Case("AS-08", lambda w: w.group(0).update(replicas=12), lambda w: w.group(0).update(replicas=10), severity="warning"),
    Case("AS-09", lambda w: w.group(0).pop("minReplicas"), lambda w: (w.group(0).pop("minReplicas"), w.spec.update(enableInTreeAutoscaling=True)),
         severity="error"),
    Case("AS-10", lambda w: (w.spec["autoscalerOptions"].pop("version", None), w.group(0).update(idleTimeoutSeconds=60)),
         lambda w: w.group(0).update(idleTimeoutSeconds=60), sample="ray-cluster.autoscaler-v2.yaml", severity="error"),
    Case("AS-11", lambda w: w.spec["autoscalerOptions"].update(upscalingMode="Conservative"),
         lambda w: w.spec["autoscalerOptions"].update(upscalingMode="Default"), sample="ray-cluster.autoscaler.yaml",
         severity="info"),
    Case("AS-12", head_env("RAY_enable_autoscaler_v2", "1"), head_env("RAY_GCS_RPC_TIMEOUT", "1"),
         sample="ray-cluster.autoscaler-v2.yaml", severity="error"),
    Case("AS-13", head_env("RAY_enable_autoscaler_v2", "1"), head_env("RAY_enable_autoscaler_v2", "0"), severity="error"),
    Case("AS-14", lambda w: w.group(0)["template"]["spec"].update(restartPolicy="Always"),
         lambda w: w.group(0)["template"]["spec"].update(restartPolicy="Never"), sample="ray-cluster.autoscaler-v2.yaml",
         severity="error"),
    Case("AS-15", lambda w: w.spec["autoscalerOptions"].pop("version", None),
         lambda w: w.spec["autoscalerOptions"].update(version="v1"), sample="ray-cluster.autoscaler.yaml", severity="info"),
    Case("AS-16", deep(clusterStatus={"clusterStatus": {"loadMetricsReport": {"resourceDemand": [[{"GPU": 4.0}, 2]]}}}),
         deep(clusterStatus={"clusterStatus": {"loadMetricsReport": {"resourceDemand": [[{"CPU": 1.0}, 2]]}}}),
         severity="warning"),
    Case("AS-17", lambda w: w.group(0).update(suspend=True), lambda w: w.group(0).update(suspend=False),
         sample="ray-cluster.autoscaler.yaml", severity="warning"),
    Case("AS-18", lambda w: w.cluster["metadata"]["managedFields"].append({
        "manager": "kubectl-edit", "operation": "Update", "apiVersion": "ray.io/v1", "time": ago(minutes=5),
        "fieldsV1": {"f:spec": {"f:workerGroupSpecs": {}}}}),
        lambda w: w.cluster["metadata"]["managedFields"].append({
            "manager": "kubectl-edit", "operation": "Update", "apiVersion": "ray.io/v1", "time": ago(minutes=5),
            "fieldsV1": {"f:spec": {"f:rayVersion": {}}}}),
        sample="ray-cluster.autoscaler.yaml", severity="warning"),
    Case("AS-19", lambda w: w.spec["autoscalerOptions"].update(image="rayproject/ray:2.50.0"),
         lambda w: w.spec["autoscalerOptions"].update(image="rayproject/ray:2.52.0"), sample="ray-cluster.autoscaler.yaml",
         severity="warning"),
    Case("AS-20", lambda w: w.group(0).update(priority=5),
         lambda w: (w.group(0).update(priority=5), w.set_images("rayproject/ray:2.56.0", ray_version="2.56.0")),
         sample="ray-cluster.autoscaler-v2.yaml", severity="error"),
    Case("AS-21", lambda w: w.spec["autoscalerOptions"].setdefault("env", []).append({"name": "KUBERAY_GEN_AUTOSCALER_START_CMD", "value": "x"}),
         lambda w: w.spec["autoscalerOptions"].setdefault("env", []).append({"name": "RAY_LOG_LEVEL", "value": "debug"}),
         sample="ray-cluster.autoscaler.yaml", severity="error"),
    # --- VER -----------------------------------------------------------------------------------
    Case("VER-01", lambda w: w.set_images("rayproject/ray:2.9.0", ray_version="2.9.0"),
         lambda w: w.set_images("rayproject/ray:2.38.0", ray_version="2.38.0"), sim={"operator_version": "v1.4.2"},
         severity="error"),
    Case("VER-02", lambda w: w.set_images("rayproject/ray:2.51.0"), lambda w: w.set_images("rayproject/ray:nightly"),
         severity="warning"),
    Case("VER-03", lambda w: w.worker_container().update(image="rayproject/ray:2.51.0"),
         lambda w: w.worker_container().update(image="rayproject/ray:2.52.0-py311"), severity="error"),
    Case("VER-03", lambda w: (w.head_container.update(image="rayproject/ray:2.52.0-py310"),
                              w.worker_container().update(image="rayproject/ray:2.52.0-py311")),
         lambda w: (w.head_container.update(image="rayproject/ray:2.52.0-py311"),
                    w.worker_container().update(image="rayproject/ray:2.52.0-py311-cpu")), name="python"),
    Case("VER-06", lambda w: (set_spec("authOptions", {"mode": "token"})(w), w.operator_version("v1.5.1")),
         lambda w: (set_spec("authOptions", {"mode": "token"})(w), w.operator_version("v1.6.0")), severity="warning"),
    Case("VER-07", lambda w: w.operator_version("v1.2.2"), lambda w: w.operator_version("v1.6.0"), severity="info"),
    Case("VER-08", lambda w: w.worker_container().update(image="rayproject/ray:latest"),
         lambda w: w.worker_container().update(image="rayproject/ray:2.52.0-cpu"), severity="info"),
    # --- RES -----------------------------------------------------------------------------------
    Case("RES-01", lambda w: w.head_container.update(resources={"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}),
         lambda w: w.head_container.update(resources={"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}),
         severity="warning"),
    Case("RES-02", lambda w: w.worker_container()["resources"]["limits"].pop("memory"),
         lambda w: w.head_container["resources"]["requests"].update(memory="5Gi"), severity="warning"),
    Case("RES-02", nothing, lambda w: w.head_container["resources"]["requests"].update(memory="5Gi"),
         severity="info", name="request-below-limit"),
    Case("RES-03", lambda w: w.worker_container()["resources"]["limits"].update(cpu="1500m"),
         lambda w: w.worker_container()["resources"]["limits"].update(cpu="2"), severity="warning"),
    Case("RES-04", nothing, lambda w: [c["resources"]["limits"].pop("cpu") for c in [w.head_container, w.worker_container()]],
         severity="info"),
    Case("RES-05", chain(set_spec("headGroupSpec.rayStartParams.num-cpus", "0"), lambda w: w.group(0).update(replicas=0, minReplicas=0, maxReplicas=0)),
         chain(set_spec("headGroupSpec.rayStartParams.num-cpus", "0"), lambda w: w.group(0).update(replicas=1, minReplicas=0, maxReplicas=1)),
         severity="warning"),
    Case("RES-06", lambda w: w.group(0)["rayStartParams"].update({"num-cpus": 1}),
         lambda w: w.group(0)["rayStartParams"].update({"num-cpus": "1"}), severity="error"),
    Case("RES-07", lambda w: w.group(0)["rayStartParams"].update({"disable-usage-stats": "false"}),
         lambda w: w.group(0)["rayStartParams"].update({"log-color": "false"}), severity="warning"),
    Case("RES-08", lambda w: (w.group(0).update(resources={"GPU": "1"}), w.group(0)["rayStartParams"].update({"num-gpus": "1"})),
         lambda w: w.group(0).update(resources={"GPU": "1"}), severity="error"),
    Case("RES-09", lambda w: w.group(0)["rayStartParams"].update({"resources": '"{\\"CPU\\": 2}"'}),
         lambda w: w.group(0)["rayStartParams"].update({"resources": '"{\\"Custom1\\": 1}"'}), severity="error"),
    Case("RES-10", lambda w: w.group(0)["rayStartParams"].update({"object-store-memory": "10000000000"}),
         lambda w: w.group(0)["rayStartParams"].update({"object-store-memory": "100000000"}), severity="error"),
    Case("RES-13", limit_ranger("ray-worker", lambda w: w.workers), limit_ranger("istio-proxy", lambda w: w.workers),
         severity="warning"),
    Case("RES-12", lambda w: w.worker["status"].update(phase="Failed", reason="Evicted",
                                                     message="The node was low on resource: ephemeral-storage."),
         lambda w: w.worker["status"].update(phase="Failed", reason="NodeLost", message="node gone"), severity="warning"),
    # --- GPU -----------------------------------------------------------------------------------
    Case("GPU-01", lambda w: w.group(0)["template"]["spec"].update(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]),
         lambda w: (w.group(0)["template"]["spec"].update(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]),
                    gpu_worker(w)), severity="error"),
    Case("GPU-02", lambda w: gpu_worker(w, limit=False), lambda w: gpu_worker(w), severity="error"),
    Case("GPU-03", lambda w: (gpu_worker(w), next(n for n in w.objs if n["kind"] == "Node" and n["metadata"]["name"] == w.head["spec"]["nodeName"])
                              ["status"]["allocatable"].update({"nvidia.com/gpu": "8"})),
         lambda w: (gpu_worker(w), next(n for n in w.objs if n["kind"] == "Node" and n["metadata"]["name"] == w.head["spec"]["nodeName"])
                    ["status"]["allocatable"].update({"nvidia.com/gpu": "8"}),
                    [p["spec"]["containers"][0].setdefault("env", []).append({"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"})
                     for p in [w.head, *w.workers]]),
         severity="warning"),
    Case("GPU-03", lambda w: head_on_gpu_node(w),
         lambda w: (head_on_gpu_node(w), w.head["spec"]["containers"][0]["env"].append({"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"})),
         sample="ray-service.stable-diffusion.yaml", name="gpu-service-head"),
    Case("GPU-04", lambda w: (gpu_worker(w), w.add({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}, "handler": "nvidia"})),
         lambda w: (gpu_worker(w), w.group(0)["template"]["spec"].update(runtimeClassName="nvidia"),
                    w.add({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}, "handler": "nvidia"})),
         severity="warning"),
    Case("GPU-05", chain(gpu_worker, pending_worker("0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) had "
                                                    "untolerated taint {nvidia.com/gpu: present}.")),
         chain(gpu_worker, pending_worker("0/4 nodes are available: 4 node(s) had untolerated taint {dedicated: ml}.")),
         severity="error"),
    # a pod without GPUs next to tainted GPU nodes: the GPU taint is not what keeps it Pending
    Case("SCH-01", pending_worker("0/4 nodes are available: 1 Insufficient cpu, 3 node(s) had untolerated taint "
                                  "{nvidia.com/gpu: present}."),
         pending_worker("0/4 nodes are available: 4 node(s) had untolerated taint {dedicated: ml}."), severity="error",
         name="not-for-gpu-nodes"),
    Case("GPU-06", lambda w: [g["template"]["spec"]["nodeSelector"].pop("cloud.google.com/gke-tpu-topology", None)
                              for g in w.spec["workerGroupSpecs"]],
         nothing, sample="ray-cluster.tpu-v4-singlehost.yaml", severity="info"),
    # --- SCH -----------------------------------------------------------------------------------
    Case("SCH-01", pending_worker("0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. preemption: 0/3 nodes are available"),
         pending_worker("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."), severity="error"),
    Case("SCH-02", pending_worker("0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: ml}."),
         pending_worker("0/3 nodes are available: 3 Insufficient memory."), severity="error"),
    Case("SCH-03", pending_worker("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."),
         pending_worker("0/3 nodes are available: 3 Insufficient cpu."), severity="error"),
    Case("SCH-03", lambda w: [(w.pending(p, "", minutes=5), p["spec"].update(nodeSelector={"pool": "a100"})) for p in w.workers],
         lambda w: ([(w.pending(p, "", minutes=5), p["spec"].update(nodeSelector={"pool": "a100"})) for p in w.workers],
                    next(n for n in w.objs if n["kind"] == "Node")["metadata"]["labels"].update(pool="a100")),
         name="static-selector"),
    Case("SCH-04", pending_worker("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."),
         pending_worker("0/3 nodes are available: 3 Insufficient cpu."), severity="error"),
    Case("SCH-05", lambda w: [(w.pending(p, "", minutes=10), p["spec"].update(schedulerName="volcano")) for p in w.workers],
         lambda w: [(w.pending(p, "", minutes=1), p["spec"].update(schedulerName="volcano")) for p in w.workers],
         severity="warning"),
    Case("SCH-06", lambda w: w.cluster["status"]["conditions"].append({
        "type": "ReplicaFailure", "status": "True", "reason": "FailedCreateWorkerPod",
        "message": 'pods "x-small-group-worker-abcde" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=16, limited: cpu=16'}),
        lambda w: w.cluster["status"]["conditions"].append({
            "type": "ReplicaFailure", "status": "False", "reason": "FailedCreateWorkerPod", "message": ""}), severity="error"),
    Case("SCH-06", lambda w: w.event(w.cluster, "FailedToCreateWorkerPod",
                                     'Failed to create worker Pod default/, Pod "raycluster-complete-small-group-worker-pm2sh" '
                                     'is invalid: spec.containers[0].resources.requests: Invalid value: "2": must be less '
                                     'than or equal to cpu limit of 250m', count=40),
         lambda w: w.event(w.cluster, "FailedToCreateIngress",
                           'Ingress.networking.k8s.io "x-head-ingress" is invalid: metadata.labels: Invalid value: "x": '
                           'must be no more than 63 characters'), severity="error", name="limitrange-event"),
    Case("SCH-07", lambda w: kueue(w, admitted=False, message="couldn't assign flavors to pod set head: insufficient quota "
                                                              "for cpu in flavor default, request > maximum capacity (4)"),
         lambda w: kueue(w, admitted=True), sample="ray-job.sample.yaml", severity="error"),
    Case("SCH-07", lambda w: kueue(w, admitted=False, message="couldn't assign flavors to pod set head: insufficient unused "
                                                              "quota for cpu in flavor default, 2 more needed"),
         lambda w: kueue(w, admitted=True), sample="ray-job.sample.yaml", severity="info", name="queued"),
    # --- IMG / CRASH ---------------------------------------------------------------------------
    Case("IMG-01", lambda w: w.status(w.worker).update(ready=False, state={"waiting": {"reason": "ImagePullBackOff",
                                                      "message": 'Back-off pulling image "rayproject/ray:2.99.0"'}}),
         lambda w: w.status(w.worker).update(ready=False, state={"waiting": {"reason": "ContainerCreating"}}), severity="error"),
    Case("CRASH-01", lambda w: w.crash(w.head, reason="OOMKilled", exit_code=137),
         lambda w: w.status(w.head).update(restartCount=1, lastState={"terminated": {"reason": "Error", "exitCode": 1}}),
         severity="error"),
    Case("CRASH-02", lambda w: w.crash(w.worker, message="ModuleNotFoundError: No module named 'torch'"),
         lambda w: w.status(w.worker).update(restartCount=1, lastState={"terminated": {"reason": "Error", "exitCode": 1}}),
         severity="error"),
    Case("CRASH-03", lambda w: w.status(w.worker).update(ready=False, state={"waiting": {"reason": "CreateContainerConfigError",
                                                       "message": 'configmap "ray-code" not found'}}),
         lambda w: w.status(w.worker).update(ready=False, state={"waiting": {"reason": "ContainerCreating"}}), severity="error"),
    Case("CRASH-04", lambda w: w.worker["status"].update(phase="Failed", reason="NodeLost", message="node gone"),
         lambda w: w.worker["status"].update(phase="Failed", reason="Evicted", message="low on memory"), severity="warning"),
    # --- NET -----------------------------------------------------------------------------------
    Case("NET-01", lambda w: (w.absent.append(("services", "default", w.head_service["metadata"]["name"])), w.remove(w.head_service)),
         lambda w: (w.absent.append(("services", "default", w.head_service["metadata"]["name"])), w.remove(w.head_service),
                    w.cluster["metadata"].update(creationTimestamp=ago(seconds=20))), severity="error"),
    Case("NET-02", lambda w: next(o for o in w.objs if o["kind"] == "EndpointSlice").update(endpoints=[]),
         lambda w: next(o for o in w.objs if o["kind"] == "EndpointSlice")["endpoints"][0]["conditions"].update(ready=False),
         severity="error"),
    Case("NET-03", set_spec("headGroupSpec.rayStartParams.include-dashboard", "false"),
         set_spec("headGroupSpec.rayStartParams.dashboard-host", "0.0.0.0"), severity="warning"),
    Case("NET-03", lambda w: w.head_service["spec"].update(ports=[p for p in w.head_service["spec"]["ports"] if p["name"] != "dashboard"]),
         lambda w: w.head_service["spec"]["ports"].append({"name": "serve", "port": 8000}), sample="ray-job.sample.yaml",
         name="rayjob-no-dashboard-port"),
    Case("NET-04", lambda w: [w.spec["networkPolicy"][r].pop("egressRules") for r in ("head", "worker")], nothing,
         sample="ray-cluster.network-policy-deny-all.yaml", sim={"gates": ["RayClusterNetworkPolicy"]}, severity="warning"),
    Case("NET-05", set_spec("headGroupSpec.enableIngress", True), set_spec("headGroupSpec.enableIngress", False),
         severity="info"),
    Case("NET-06", lambda w: w.set_images("rayproject/ray:2.51.0", ray_version="2.51.0"), nothing,
         sample="ray-cluster.auth.yaml", severity="error"),
    Case("NET-07", lambda w: w.event(w.cluster, "MTLSCertsNotReady", "Certificate default/x-head-cert is not Ready"),
         lambda w: w.event(w.cluster, "MTLSCertsReady", "certificates are ready", etype="Normal"),
         sample="ray-cluster.mtls.yaml", sim={"gates": ["RayClusterMTLS"]}, severity="error"),
    Case("NET-08", lambda w: [(istio(p), w.waiting_for_gcs(p, minutes=15)) for p in w.workers],
         lambda w: [w.waiting_for_gcs(p, minutes=15) for p in w.workers], severity="error"),
    # --- JOB -----------------------------------------------------------------------------------
    Case("JOB-01", job_status(jobDeploymentStatus="ValidationFailed", reason="ValidationFailed",
                              message="The RayJob spec is invalid: backoffLimit must be 0 in InteractiveMode"),
         job_status(jobDeploymentStatus="Running"), sample="ray-job.sample.yaml", severity="error"),
    Case("JOB-02", job_status(jobDeploymentStatus="Initializing", jobStatus="", startTime=ago(minutes=25)),
         job_status(jobDeploymentStatus="Initializing", jobStatus="", startTime=ago(minutes=2)), sample="ray-job.sample.yaml",
         severity="warning"),
    Case("JOB-02", job_status(jobDeploymentStatus="Failed", reason="PreRunningDeadlineExceeded", message="deadline"),
         job_status(jobDeploymentStatus="Running"), sample="ray-job.sample.yaml", name="deadline"),
    Case("JOB-03", lambda w: w.obj["spec"].update(submissionMode="InteractiveMode", backoffLimit=2),
         lambda w: w.obj["spec"].update(backoffLimit=2), sample="ray-job.sample.yaml", severity="error"),
    Case("JOB-03", nothing, lambda w: w.obj["spec"].update(submissionMode="K8sJobMode"),
         sample="ray-job.interactive-mode.yaml", severity="info", name="waiting"),
    Case("JOB-04", chain(job_status(jobDeploymentStatus="Failed", reason="SubmissionFailed",
                                    message="Job submission has failed. Reason: BackoffLimitExceeded. Message: Job has reached the specified backoff limit"),
                         lambda w: next(o for o in w.objs if o["kind"] == "Job")["status"].update(
                             active=0, failed=3, conditions=[{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                                              "message": "Job has reached the specified backoff limit"}])),
         job_status(jobDeploymentStatus="Running"), sample="ray-job.sample.yaml", severity="error"),
    Case("JOB-05", lambda w: w.status(w.head, "ray-job-submitter").update(state={"terminated": {"exitCode": 1, "reason": "Error"}}),
         lambda w: w.status(w.head, "ray-job-submitter").update(state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
         sample="ray-job.sidecar-mode.yaml", severity="error"),
    Case("JOB-06", job_status(jobDeploymentStatus="Complete", jobStatus="FAILED", reason="AppFailed",
                              message="Job entrypoint command failed with exit code 1"),
         job_status(jobDeploymentStatus="Complete", jobStatus="SUCCEEDED", message="Job finished successfully."),
         sample="ray-job.sample.yaml", severity="error"),
    Case("JOB-07", job_status(jobDeploymentStatus="Failed", reason="DeadlineExceeded",
                              message="The RayJob has passed the activeDeadlineSeconds. DeploymentStatus: Running"),
         job_status(jobDeploymentStatus="Failed", reason="AppFailed", jobStatus="FAILED"), sample="ray-job.sample.yaml",
         severity="error"),
    Case("JOB-08", job_status(jobDeploymentStatus="Retrying", failed=1), job_status(jobDeploymentStatus="Running", failed=0),
         sample="ray-job.sample.yaml", severity="warning"),
    Case("JOB-09", job_status(jobDeploymentStatus="Failed", reason="JobDeploymentStatusTransitionGracePeriodExceeded"),
         job_status(jobDeploymentStatus="Failed", reason="DeadlineExceeded"), sample="ray-job.sample.yaml", severity="error"),
    Case("JOB-10", lambda w: (w.event(w.obj, "RayClusterNotFound", "RayCluster default/ray-cluster-kuberay set in the clusterSelector is not found. It must be created manually"),
                              w.absent.append(("rayclusters", "default", "ray-cluster-kuberay"))),
         lambda w: w.event(w.obj, "Created", "Created RayJob", etype="Normal"),
         sample="ray-job.use-existing-raycluster.yaml", severity="error"),
    Case("JOB-11", lambda w: w.obj["spec"].update(suspend=True, shutdownAfterJobFinishes=False),
         lambda w: w.obj["spec"].update(suspend=True, shutdownAfterJobFinishes=True), sample="ray-job.sample.yaml",
         severity="error"),
    Case("JOB-12", lambda w: w.obj["spec"].update(shutdownAfterJobFinishes=False, ttlSecondsAfterFinished=60),
         lambda w: w.obj["spec"].update(shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=60), sample="ray-job.sample.yaml",
         severity="error"),
    # --- SVC -----------------------------------------------------------------------------------
    Case("SVC-01", svc_condition("Ready", "False", "Initializing", minutes=20), svc_condition("Ready", "False", "Initializing", minutes=2),
         sample="ray-service.sample.yaml", severity="warning"),
    Case("SVC-02", svc_condition("Ready", "False", "InitializingTimeout", message="timed out after 15m"),
         svc_condition("Ready", "False", "Initializing", minutes=2), sample="ray-service.sample.yaml", severity="error"),
    Case("SVC-03", chain(svc_condition("Ready", "False", "ZeroServeEndpoints"), job_status(numServeEndpoints=0)),
         svc_condition("Ready", "True", "NonZeroServeEndpoints"), sample="ray-service.sample.yaml", severity="error"),
    Case("SVC-04", lambda w: w.obj["status"]["activeServiceStatus"]["applicationStatuses"]["fruit_app"].update(
        status="DEPLOY_FAILED", message="ModuleNotFoundError: No module named 'fruit'"),
        lambda w: w.obj["status"]["activeServiceStatus"]["applicationStatuses"]["fruit_app"].update(status="DEPLOYING"),
        sample="ray-service.sample.yaml", severity="error"),
    Case("SVC-05", svc_condition("UpgradeInProgress", "True", "BothActivePendingClustersExist", minutes=60),
         svc_condition("UpgradeInProgress", "True", "BothActivePendingClustersExist", minutes=5), sample="ray-service.sample.yaml",
         severity="warning"),
    Case("SVC-06", svc_condition("UpgradeInProgress", "Unknown", "NoActiveCluster"),
         svc_condition("UpgradeInProgress", "False", "NoPendingCluster"), sample="ray-service.sample.yaml", severity="error"),
    Case("SVC-07", lambda w: w.event(w.obj, "FailedToUpdateServeApplications",
                                     'Put "http://10.0.0.3:52365/api/serve/applications/": dial tcp 10.0.0.3:52365: connect: connection refused'),
         lambda w: w.event(w.obj, "UpdatedServeApplications", "Updated serve applications", etype="Normal"),
         sample="ray-service.sample.yaml", severity="warning"),
    Case("SVC-08", lambda w: w.obj["spec"]["rayClusterConfig"]["headGroupSpec"].update(headService={"metadata": {"name": "my-head"}}),
         lambda w: w.obj["spec"]["rayClusterConfig"]["headGroupSpec"].update(headService={"metadata": {"labels": {"a": "b"}}}),
         sample="ray-service.sample.yaml", severity="error"),
    Case("SVC-09", lambda w: w.obj["spec"]["upgradeStrategy"]["clusterUpgradeOptions"].pop("gatewayClassName"), nothing,
         sample="ray-service.incremental-upgrade.yaml", severity="error"),
    Case("SVC-10", svc_condition("Suspended", "True", "SuspendComplete"), svc_condition("Suspended", "False", "RayServiceResumed"),
         sample="ray-service.sample.yaml", severity="info"),
    Case("SVC-11", lambda w: w.obj["spec"].update(serviceUnhealthySecondThreshold=900), nothing,
         sample="ray-service.sample.yaml", severity="warning"),
    Case("SVC-12", lambda w: (w.not_ready(w.worker, "ContainersNotReady"), w.worker["metadata"]["labels"].update({"ray.io/serve": "false"})),
         lambda w: (w.crash(w.worker), w.worker["metadata"]["labels"].update({"ray.io/serve": "false"})),
         sample="ray-service.sample.yaml", severity="info"),
    # --- STAT ----------------------------------------------------------------------------------
    Case("STAT-01", head_unready(1, None), nothing, severity="info"),
    Case("STAT-04", lambda w: w.cluster["status"].pop("conditions"), nothing, severity="info"),
    # --- DEEP ----------------------------------------------------------------------------------
    Case("DEEP-01", deep(gcsHealthz={"ok": False, "status": 503, "message": "GCS is not available"}),
         deep(gcsHealthz={"ok": True, "status": 200, "message": "success"}), severity="error"),
    Case("DEEP-02", deep(version={"ray_version": "2.60.0"}), deep(version={"ray_version": "2.52.0"}), severity="warning"),
    Case("DEEP-03", deep(nodes=[{"node_ip": "10.0.0.9", "state": "DEAD", "state_message": "Unexpected termination: health check failed due to missing too many heartbeats"}]),
         deep(nodes=[{"node_ip": "10.0.0.9", "state": "DEAD", "state_message": "Expected termination: received SIGTERM: node is idle"}]),
         severity="warning"),
    Case("DEEP-04", deep(clusterStatus={"autoscalingError": "Failed to launch 2 node(s) of type gpu-group: quota exceeded"}),
         deep(clusterStatus={"autoscalingError": None}), severity="warning"),
    Case("DEEP-05", deep(errors={"connect": "cannot reach the Ray dashboard at http://127.0.0.1:8265: connection refused"}),
         deep(errors={}), severity="error"),
]


def _case_id(case: Case) -> str:
    return f"{case.id}-{case.name}" if case.name else case.id


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rule_triggers(case: Case) -> None:
    w = case.world()
    case.trigger(w)
    d = w.diagnose()
    assert not d.crashed, d.crashed
    assert case.id in d.ids(), [(f.id, f.title) for f in d.all_findings()]
    assert not undeclared(d.all_findings())
    if case.severity:
        assert case.severity in {f.severity for f in d.all_findings() if f.id == case.id}


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rule_near_miss(case: Case) -> None:
    w = case.world()
    case.near(w)
    d = w.diagnose()
    assert not d.crashed, d.crashed
    assert not undeclared(d.all_findings())
    hits = [(f.id, f.severity, f.title) for f in d.all_findings() if f.id == case.id]
    assert not hits, hits


def test_every_registered_rule_has_a_trigger_and_a_near_miss() -> None:
    assert sorted({c.id for c in CASES}) == rule_ids()


def test_every_finding_has_evidence_a_fix_and_an_object() -> None:
    for case in CASES:
        w = case.world()
        case.trigger(w)
        for f in w.diagnose().all_findings():
            if f.id != case.id:
                continue
            assert f.evidence and f.fix and f.object and f.title, f
            assert f.severity in ("error", "warning", "info")


def test_infeasible_demand_ignores_placement_keys_and_autodetected_resources() -> None:
    from kubectl_ray.debug.rules.deep import fits

    assert fits({"CPU": 1.0, "node:10.0.0.7": 0.001}, {"CPU": 2.0})
    assert fits({"memory": 10.0 * 2**30}, {"CPU": 2.0})  # no memory limit: Ray measures it
    assert not fits({"GPU": 1.0}, {"CPU": 2.0})
    assert not fits({"CPU": 8.0}, {"CPU": 2.0})
    assert fits({"Custom1": 1.0}, {"CPU": 2.0, "Custom1": 2.0})
