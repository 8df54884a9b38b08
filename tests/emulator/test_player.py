"""The KubeRay player against the emulator, in-process and deterministic (instant mode, settle())."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from tests.conftest import ray_cluster
from tests.emulator import Emulator
from tests.emulator.kuberay.player import Player
from tests.emulator.kuberay.ray import SimulatedRay


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


def pods(emu: Emulator, cluster: str, **labels: str) -> list[dict[str, Any]]:
    wanted = {"ray.io/cluster": cluster, **{k.replace("_", "/"): v for k, v in labels.items()}}
    return [p for p in emu.objects("pods", "default")
            if all(p["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())]


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in obj["status"].get("conditions", [])}


def test_a_raycluster_is_reconciled_as_kuberay_does(emu: Emulator) -> None:
    player = Player(emu, mode="instant").start()
    emu.create("rayclusters", ray_cluster("demo"), "default")
    cluster = emu.get("rayclusters", "default", "demo")
    assert cluster["status"]["state"] == "ready" and cluster["status"]["observedGeneration"] == 1
    assert conditions(cluster)["RayClusterProvisioned"] == ("True", "AllPodRunningAndReadyFirstTime")
    assert conditions(cluster)["HeadPodReady"] == ("True", "HeadPodRunningAndReady")
    assert (cluster["status"]["desiredCPU"], cluster["status"]["desiredMemory"]) == ("4", "8Gi")
    [head] = pods(emu, "demo", **{"ray.io/node-type": "head"})
    assert head["metadata"]["name"].startswith("demo-head-") and ready(head)
    assert head["metadata"]["ownerReferences"][0]["uid"] == cluster["metadata"]["uid"]
    env = {e["name"]: e.get("value") for e in head["spec"]["containers"][0]["env"]}
    assert env["RAY_USAGE_STATS_EXTRA_TAGS"] == "kuberay_version=v1.7.0;kuberay_crd=RayCluster"
    assert "ray start --head" in env["KUBERAY_GEN_RAY_START_CMD"] and env["RAY_ADDRESS"] == "127.0.0.1:6379"
    [worker] = pods(emu, "demo", **{"ray.io/node-type": "worker"})
    assert worker["spec"]["initContainers"][0]["name"] == "wait-gcs-ready"
    assert worker["metadata"]["labels"]["ray.io/worker-group-replica-index"] == "0"
    assert worker["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert cluster["status"]["head"] == {"podIP": head["status"]["podIP"], "podName": head["metadata"]["name"],
                                         "serviceIP": head["status"]["podIP"], "serviceName": "demo-head-svc"}
    svc = emu.get("services", "default", "demo-head-svc")
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    reasons = [e["reason"] for e in emu.objects("events", "default") if e["involvedObject"]["kind"] == "RayCluster"]
    assert reasons == ["CreatedService", "CreatedHeadPod", "CreatedWorkerPod"]
    assert not player.errors


def test_scaling_down_deletes_the_workers_to_delete(emu: Emulator) -> None:
    Player(emu, mode="instant").start()
    cluster = ray_cluster("demo")
    cluster["spec"]["workerGroupSpecs"][0]["replicas"] = 3
    emu.create("rayclusters", cluster, "default")
    workers = sorted(p["metadata"]["name"] for p in pods(emu, "demo", **{"ray.io/node-type": "worker"}))
    assert len(workers) == 3
    stored = emu.get("rayclusters", "default", "demo")
    stored["spec"]["workerGroupSpecs"][0].update(replicas=2, scaleStrategy={"workersToDelete": [workers[1]]})
    emu.replace("rayclusters", "default", "demo", stored)
    left = sorted(p["metadata"]["name"] for p in pods(emu, "demo", **{"ray.io/node-type": "worker"}))
    assert left == [workers[0], workers[2]]
    assert emu.get("rayclusters", "default", "demo")["status"]["desiredWorkerReplicas"] == 2


def test_suspend_deletes_the_pods_and_says_so(emu: Emulator) -> None:
    Player(emu, mode="instant").start()
    emu.create("rayclusters", ray_cluster("demo"), "default")
    emu.patch("rayclusters", "default", "demo", {"spec": {"suspend": True}})
    cluster = emu.get("rayclusters", "default", "demo")
    assert pods(emu, "demo") == [] and cluster["status"]["state"] == "suspended"
    assert conditions(cluster)["RayClusterSuspended"] == ("True", "RayClusterSuspended")
    emu.patch("rayclusters", "default", "demo", {"spec": {"suspend": False}})
    assert len(pods(emu, "demo")) == 2


def test_a_k8s_job_mode_rayjob_runs_and_its_cluster_goes_after_the_ttl(emu: Emulator) -> None:
    player = Player(emu, mode="instant", ray=SimulatedRay(job_steps=2)).start()
    spec = copy.deepcopy(ray_cluster("x")["spec"])
    emu.create("rayjobs", {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "train"},
                           "spec": {"entrypoint": "python train.py", "rayClusterSpec": spec,
                                    "shutdownAfterJobFinishes": True, "ttlSecondsAfterFinished": 60}}, "default")
    player.settle()
    job = emu.get("rayjobs", "default", "train")
    status = job["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED")
    assert status["jobId"].startswith("train-") and status["succeeded"] == 1 and status["failed"] == 0
    assert job["metadata"]["finalizers"] == ["ray.io/rayjob-finalizer"]
    submitter = emu.get("jobs", "default", "train")
    assert [c["type"] for c in submitter["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert emu.get("services", "default", "train-head-svc") is not None
    cluster = status["rayClusterName"]
    assert emu.get("rayclusters", "default", cluster) is not None
    player.advance(61)
    assert emu.get("rayclusters", "default", cluster) is None and pods(emu, cluster) == []
    emu.delete("rayjobs", "default", "train")  # the operator removes its finalizer; the submitter Job is collected
    assert emu.get("rayjobs", "default", "train") is None and emu.get("jobs", "default", "train") is None


def test_an_invalid_rayjob_fails_validation(emu: Emulator) -> None:
    Player(emu, mode="instant").start()
    emu.create("rayjobs", {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "nothing"},
                           "spec": {"entrypoint": "python x.py"}}, "default")
    status = emu.get("rayjobs", "default", "nothing")["status"]
    assert status["jobDeploymentStatus"] == "ValidationFailed"
    assert status["message"] == "The RayJob spec is invalid: one of RayClusterSpec or ClusterSelector must be set"
    [event] = [e for e in emu.objects("events", "default") if e["reason"] == "InvalidRayJobSpec"]
    assert event["type"] == "Warning" and event["reportingComponent"] == "rayjob-controller"


def _waiting(pod: dict[str, Any]) -> str:
    statuses = pod["status"].get("initContainerStatuses", []) + pod["status"].get("containerStatuses", [])
    return next((s["state"]["waiting"]["reason"] for s in statuses if "waiting" in s["state"]), "")


def test_faults_give_what_kubelet_and_scheduler_write(emu: Emulator) -> None:
    player = Player(emu, mode="instant", nodes=2, autoprovision=False).start()
    player.fault("ImagePullBackOff", cluster="demo", node_type="head")
    emu.create("rayclusters", ray_cluster("demo"), "default")
    [head] = pods(emu, "demo", **{"ray.io/node-type": "head"})
    assert _waiting(head) == "ImagePullBackOff" and head["status"]["phase"] == "Pending"
    cluster = emu.get("rayclusters", "default", "demo")
    assert conditions(cluster)["HeadPodReady"] == ("False", "ImagePullBackOff")
    reasons = {e["reason"] for e in emu.objects("events", "default") if e["involvedObject"]["name"] == head["metadata"]["name"]}
    assert {"Scheduled", "Pulling", "Failed", "BackOff"} <= reasons
    [worker] = pods(emu, "demo", **{"ray.io/node-type": "worker"})
    assert worker["status"]["initContainerStatuses"][0]["state"] == {"running": worker["status"]["initContainerStatuses"][0]["state"]["running"]}
    player.clear_faults()
    player.advance(20)  # the pull back-off has passed: the next pull works
    assert all(ready(p) for p in pods(emu, "demo"))

    player.fault("OOMKilled", cluster="demo", node_type="worker")
    emu.delete("pods", "default", worker["metadata"]["name"])
    player.settle()
    [worker] = [p for p in pods(emu, "demo", **{"ray.io/node-type": "worker"})]
    ray = worker["status"]["containerStatuses"][0]
    assert ray["lastState"]["terminated"]["reason"] == "OOMKilled" and ray["lastState"]["terminated"]["exitCode"] == 137
    assert ray["state"]["waiting"]["reason"] == "CrashLoopBackOff" and ray["restartCount"] == 1
    player.advance(11)  # back-off 10 s: it runs, and is killed again
    assert pods(emu, "demo", **{"ray.io/node-type": "worker"})[0]["status"]["containerStatuses"][0]["restartCount"] == 2
    player.clear_faults()

    big = ray_cluster("big")
    big["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "64", "nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}
    emu.create("rayclusters", big, "default")
    [pending] = pods(emu, "big", **{"ray.io/node-type": "worker"})
    [scheduled] = [c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"] == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                                    "2 Preemption is not helpful for scheduling.")
    [event] = [e for e in emu.objects("events", "default") if e["reason"] == "FailedScheduling"]
    assert event["reportingComponent"] == "default-scheduler" and event["message"] == scheduled["message"]


def test_an_evicted_pod_is_replaced(emu: Emulator) -> None:
    player = Player(emu, mode="instant").start()
    player.fault("Evicted", cluster="demo", node_type="worker")
    emu.create("rayclusters", ray_cluster("demo"), "default")
    evicted = [e for e in emu.objects("events", "default") if e["reason"] == "Evicted"]
    assert len(evicted) == 1 and evicted[0]["message"].startswith("The node was low on resource: memory.")
    deleted = [e for e in emu.objects("events", "default") if e["reason"] == "DeletedWorkerPod"]
    assert "status is Failed which is a terminal state" in deleted[0]["message"] or "Pod status: Failed" in deleted[0]["message"]
    [worker] = pods(emu, "demo", **{"ray.io/node-type": "worker"})
    assert ready(worker) and worker["metadata"]["name"] != evicted[0]["involvedObject"]["name"]


def test_paused_operator_does_nothing_until_resumed(emu: Emulator) -> None:
    player = Player(emu, mode="instant").start()
    player.pause()
    emu.create("rayclusters", ray_cluster("demo"), "default")
    assert pods(emu, "demo") == [] and "status" not in emu.get("rayclusters", "default", "demo")
    player.resume()
    assert len(pods(emu, "demo")) == 2


def test_background_mode_reacts_to_writes_and_stops(emu: Emulator) -> None:
    player = Player(emu, step_interval=0.01)
    ready_event = threading.Event()
    emu.observe(lambda ev, res, obj, old, api: res.plural == "rayclusters" and
                (obj.get("status") or {}).get("state") == "ready" and ready_event.set())
    with player:
        emu.create("rayclusters", ray_cluster("demo"), "default")
        assert ready_event.wait(60), emu.get("rayclusters", "default", "demo").get("status")
    assert player._thread is None
