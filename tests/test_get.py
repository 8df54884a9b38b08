"""`kubectl ray get ...` against the API emulator loaded with KubeRay's sample manifests.

The samples come from ../shared/samples; the test adds the `status` the operator would write and
the pods it would create, across two namespaces. Tables are compared byte for byte with
tests/golden/get/*.txt under a frozen clock (2026-11-23T12:00:00Z). Set UPDATE_GOLDEN=1 to rewrite
the golden files after a deliberate change (then review the diff).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import shared_path

GOLDEN = Path(__file__).parent / "golden" / "get"
TOKEN = "super-secret-example-token"


# --- the world: samples + status + pods ---------------------------------------------------------

def sample(file: str, namespace: str, kind: str, **metadata: Any) -> dict[str, Any]:
    """The first object of `kind` in a KubeRay sample, placed in `namespace`."""
    with open(shared_path("samples", file)) as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d and d.get("kind") == kind]
    obj = docs[0]
    obj["metadata"].update({"namespace": namespace, **metadata})
    return obj


def condition(type_: str, status: bool, reason: str = "") -> dict[str, Any]:
    return {"type": type_, "status": "True" if status else "False", "reason": reason or type_,
            "message": "", "lastTransitionTime": "2026-11-23T10:55:00Z"}


def pod(name: str, namespace: str, cluster: str, node_type: str, group: str, created: str, *, cpu: str, memory: str,
        ready: bool = True, extra: dict[str, str] | None = None, ip: str = "", node: str = "",
        waiting: str = "", restarts: int = 0) -> dict[str, Any]:
    requests = {"cpu": cpu, "memory": memory, **(extra or {})}
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": created}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created,
                     "labels": {"ray.io/cluster": cluster, "ray.io/node-type": node_type, "ray.io/group": group,
                                "ray.io/is-ray-node": "yes"}},
        "spec": {"nodeName": node or None,
                 "containers": [{"name": f"ray-{node_type}", "image": "rayproject/ray:2.52.0",
                                 "resources": {"requests": requests, "limits": dict(requests)}},
                                {"name": "autoscaler", "image": "rayproject/ray:2.52.0",
                                 "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]},
        "status": {"phase": "Running" if ready else "Pending", "podIP": ip or None,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                   "containerStatuses": [{"name": f"ray-{node_type}", "ready": ready, "restartCount": restarts,
                                          "state": state}]},
    }


def cluster_status(state: str | None, desired: int, available: int, cpu: str, memory: str, *, gpu: str = "0",
                   tpu: str = "0", conditions: list[dict[str, Any]], pod_ip: str = "", service_ip: str = "") -> dict:
    status: dict[str, Any] = {"desiredWorkerReplicas": desired, "availableWorkerReplicas": available,
                              "readyWorkerReplicas": available, "desiredCPU": cpu, "desiredMemory": memory,
                              "desiredGPU": gpu, "desiredTPU": tpu, "conditions": conditions}
    if state:
        status["state"] = state
    if pod_ip:
        status["head"] = {"podIP": pod_ip, "serviceIP": service_ip, "serviceName": "x-head-svc"}
    return status


def default_namespace() -> list[dict[str, Any]]:
    kuberay = sample("ray-cluster.sample.yaml", "default", "RayCluster", creationTimestamp="2026-11-23T10:50:00Z",
                     labels={"team": "search"})
    kuberay["status"] = cluster_status(
        "ready", 1, 1, "2", "6Gi", pod_ip="10.244.1.7", service_ip="10.96.12.34",
        conditions=[condition("RayClusterProvisioned", True, "AllPodRunningAndReadyFirstTime"),
                    condition("HeadPodReady", True, "HeadPodRunningAndReady")])
    auth = sample("ray-cluster.auth.yaml", "default", "RayCluster", creationTimestamp="2026-11-23T11:56:50Z",
                  labels={"team": "platform"})
    auth["status"] = cluster_status(
        None, 1, 0, "8", "16Gi", pod_ip="10.244.2.3", service_ip="10.96.7.7",
        conditions=[condition("RayClusterProvisioned", False, "RayClusterPodsProvisioning"),
                    condition("HeadPodReady", True, "HeadPodRunningAndReady")])
    job = sample("ray-job.sample.yaml", "default", "RayJob", creationTimestamp="2026-11-23T11:49:30Z")
    job["status"] = {"jobId": "rayjob-sample-7m2kq", "jobStatus": "RUNNING", "jobDeploymentStatus": "Running",
                     "rayClusterName": "rayjob-sample-raycluster-x7k2p", "startTime": "2026-11-23T11:50:00Z"}
    service = sample("ray-service.sample.yaml", "default", "RayService", creationTimestamp="2026-11-21T11:00:00Z")
    service["status"] = {
        "conditions": [condition("Ready", True, "NonZeroServeEndpoints"), condition("UpgradeInProgress", False,
                                                                                    "NoPendingCluster")],
        "activeServiceStatus": {"rayClusterName": "rayservice-sample-raycluster-fzk8v"},
        "numServeEndpoints": 2, "serviceStatus": "Running"}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "ray-cluster-with-auth", "namespace": "default"},
              "data": {"auth_token": base64.b64encode(TOKEN.encode()).decode()}}
    pods = [
        pod("raycluster-kuberay-head-8xk2m", "default", "raycluster-kuberay", "head", "headgroup", "2026-11-23T10:51:00Z",
            cpu="1", memory="5Gi", ip="10.244.1.7", node="gke-pool-a-1"),
        pod("raycluster-kuberay-workergroup-worker-4bqzt", "default", "raycluster-kuberay", "worker", "workergroup",
            "2026-11-23T10:52:00Z", cpu="1", memory="1Gi", ip="10.244.1.8", node="gke-pool-a-2", restarts=1),
        pod("ray-cluster-with-auth-head-7tq9d", "default", "ray-cluster-with-auth", "head", "headgroup",
            "2026-11-23T11:57:00Z", cpu="4", memory="8Gi", ip="10.244.2.3", node="gke-pool-a-1"),
        pod("ray-cluster-with-auth-workergroup-worker-zr5lp", "default", "ray-cluster-with-auth", "worker", "workergroup",
            "2026-11-23T11:59:00Z", cpu="4", memory="8Gi", ready=False, waiting="ContainerCreating"),
    ]
    return [kuberay, auth, job, service, secret, *pods]


def ml_team_namespace() -> list[dict[str, Any]]:
    tpu = sample("ray-cluster.tpu-v4-multihost.yaml", "ml-team", "RayCluster", creationTimestamp="2026-11-16T12:00:00Z")
    tpu["status"] = cluster_status("ready", 2, 2, "10", "120G", tpu="8", pod_ip="10.8.0.2", service_ip="10.12.0.2",
                                   conditions=[condition("RayClusterProvisioned", True), condition("HeadPodReady", True)])
    verl = sample("ray-cluster.verl.yaml", "ml-team", "RayCluster", creationTimestamp="2026-11-23T11:58:01Z")
    verl["status"] = cluster_status("ready", 0, 0, "36", "144G", gpu="4", pod_ip="10.8.0.9", service_ip="10.12.0.9",
                                    conditions=[condition("HeadPodReady", True), condition("RayClusterProvisioned", True)])
    complete = sample("ray-cluster.complete.yaml", "ml-team", "RayCluster", creationTimestamp="2026-11-20T09:30:00Z",
                      labels={"team": "search"})
    complete["spec"]["workerGroupSpecs"][0]["suspend"] = True
    complete["status"] = cluster_status("suspended", 0, 0, "500m", "2Gi",
                                        conditions=[condition("RayClusterProvisioned", False),
                                                    condition("RayClusterSuspended", True)])
    job = sample("ray-job.shutdown.yaml", "ml-team", "RayJob", creationTimestamp="2026-11-23T08:59:00Z")
    job["status"] = {"jobId": "rayjob-sample-shutdown-k2j9d", "jobStatus": "SUCCEEDED",
                     "jobDeploymentStatus": "Complete", "rayClusterName": "rayjob-sample-shutdown-raycluster-q8wz5",
                     "startTime": "2026-11-23T09:00:00Z", "endTime": "2026-11-23T09:03:10Z",
                     "message": "Job finished\nsuccessfully."}
    llm = sample("ray-service.high-throughput-llm.yaml", "ml-team", "RayService",
                 creationTimestamp="2026-11-23T06:00:00Z")
    llm["status"] = {
        "conditions": [condition("Ready", True, "NonZeroServeEndpoints"),
                       condition("UpgradeInProgress", True, "BothActivePendingClustersExist")],
        "activeServiceStatus": {"rayClusterName": "qwen-35-4b-raycluster-aaaaa"},
        "pendingServiceStatus": {"rayClusterName": "qwen-35-4b-raycluster-bbbbb"},
        "numServeEndpoints": 1}
    pods = [
        pod("raycluster-tpu-v4-multihost-head-q2x7c", "ml-team", "raycluster-tpu-v4-multihost", "head", "headgroup",
            "2026-11-16T12:01:00Z", cpu="8", memory="40G", ip="10.8.0.2", node="gke-tpu-0"),
        *[pod(f"raycluster-tpu-v4-multihost-tpu-group-worker-{s}", "ml-team", "raycluster-tpu-v4-multihost", "worker",
              "tpu-group", "2026-11-16T12:02:00Z", cpu="1", memory="40G", extra={"google.com/tpu": "4"},
              ip=f"10.8.0.{i}", node=f"gke-tpu-{i}") for i, s in ((3, "abc12"), (4, "def34"))],
        pod("verl-cluster-head-m4n5p", "ml-team", "verl-cluster", "head", "headgroup", "2026-11-23T11:58:05Z",
            cpu="36", memory="144G", extra={"nvidia.com/gpu": "4"}, ip="10.8.0.9", node="gke-gpu-0"),
    ]
    return [tpu, verl, complete, job, llm, *pods]


@pytest.fixture
def world(emulator, frozen_now):
    emulator.emu.add_all(default_namespace() + ml_team_namespace())
    emulator.emu.clear_requests()
    return emulator


def golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"output differs from {path}"


# --- golden tables ------------------------------------------------------------------------------

GOLDEN_TABLES = {
    "cluster": ["get", "cluster"],
    "cluster-ml-team": ["get", "clusters", "-n", "ml-team"],
    "cluster-all-namespaces": ["get", "cluster", "-A"],
    "cluster-wide": ["get", "cluster", "-o", "wide"],
    "cluster-name": ["get", "cluster", "raycluster-kuberay"],
    "cluster-name-any-namespace": ["get", "cluster", "verl-cluster", "-A"],
    "cluster-selector": ["get", "cluster", "-A", "-l", "team=search"],
    "cluster-no-headers": ["get", "cluster", "-n", "ml-team", "--no-headers"],
    "workergroup": ["get", "workergroup"],
    "workergroup-all-namespaces": ["get", "workergroups", "-A"],
    "workergroup-cluster-wide": ["get", "workergroup", "-c", "raycluster-tpu-v4-multihost", "-n", "ml-team", "-o", "wide"],
    "workergroup-by-name": ["get", "workergroup", "workergroup"],
    "node": ["get", "node"],
    "node-all-namespaces-wide": ["get", "nodes", "-A", "-o", "wide"],
    "node-cluster": ["get", "node", "-c", "raycluster-tpu-v4-multihost", "-n", "ml-team"],
    "node-selector": ["get", "node", "-A", "-l", "ray.io/node-type=head"],
    "job-all-namespaces": ["get", "jobs", "-A"],
    "job-wide": ["get", "job", "-n", "ml-team", "-o", "wide"],
    "service-all-namespaces": ["get", "services", "-A"],
    "service-wide": ["get", "rayservice", "-o", "wide"],
    "list-alias": ["list", "clusters"],
}


@pytest.mark.parametrize("name", GOLDEN_TABLES)
def test_golden_tables(world, name):
    result = world.run(*GOLDEN_TABLES[name])
    assert (result.exit_code, result.stderr) == (0, "")
    golden(name, result.stdout)


def test_cluster_table_columns_and_values(world):
    """The default table spelled out here too, so the golden file cannot drift unnoticed."""
    result = world.run("get", "cluster")
    assert result.stdout.splitlines() == [
        "NAME                    DESIRED WORKERS   AVAILABLE WORKERS   CPUS   GPUS   TPUS   MEMORY   CONDITION               STATUS   AGE",
        "ray-cluster-with-auth   1                 0                   8      0      0      16Gi     HeadPodReady                     3m10s",
        "raycluster-kuberay      1                 1                   2      0      0      6Gi      RayClusterProvisioned   ready    70m",
    ]


def test_workergroup_math_counts_hosts_ready_pods_and_suspension(world):
    result = world.run("get", "workergroup", "-A")
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["NAMESPACE", "NAME", "MIN", "MAX", "REPLICAS", "CPUS", "GPUS", "TPUS", "MEMORY", "CLUSTER"]
    by_group = {(r[0], r[9]): r for r in rows[1:]}
    # default: ready pods counted per cluster, not per group name shared by two clusters
    assert by_group[("default", "raycluster-kuberay")][4:9] == ["1/1", "1", "0", "0", "1Gi"]
    assert by_group[("default", "ray-cluster-with-auth")][4:9] == ["0/1", "4", "0", "0", "8Gi"]
    # 1 replica x 2 hosts: 2 pods, 2 CPUs, 8 TPUs, 80G (upstream forgot numOfHosts)
    assert by_group[("ml-team", "raycluster-tpu-v4-multihost")][4:9] == ["2/2", "2", "0", "8", "80G"]
    # a suspended group asks for nothing
    assert by_group[("ml-team", "raycluster-complete")][4:9] == ["0/1", "0", "0", "0", "0"]


def test_workergroup_lists_pods_once_per_call(world):
    world.emu.max_page_size = 2
    result = world.run("get", "workergroup", "-A")
    assert result.exit_code == 0
    pod_lists = world.emu.requests_where(verb="list", resource="pods")
    first = [r for r in pod_lists if not r.q("continue")]
    assert len(first) == 1  # one list for all groups of all clusters, continued page by page
    assert first[0].q("labelSelector") == "ray.io/node-type=worker" and first[0].namespace is None
    assert len(pod_lists) == 2  # 4 worker pods in pages of 2


def test_workergroup_for_one_cluster_narrows_the_pod_list(world):
    world.run("get", "workergroup", "-c", "raycluster-kuberay")
    (clusters,) = world.emu.requests_where(verb="list", resource="rayclusters")
    assert clusters.q("fieldSelector") == "metadata.name=raycluster-kuberay" and clusters.namespace == "default"
    (pods,) = world.emu.requests_where(verb="list", resource="pods")
    assert pods.q("labelSelector") == "ray.io/node-type=worker,ray.io/cluster=raycluster-kuberay"


def test_node_uses_the_ray_container_only(world):
    result = world.run("get", "node", "raycluster-kuberay-head-8xk2m")
    assert result.stdout.splitlines()[1].split()[:5] == ["raycluster-kuberay-head-8xk2m", "1", "0", "0", "5Gi"]


# --- pagination ---------------------------------------------------------------------------------

def test_pagination_prints_every_item_and_follows_continue(world):
    world.emu.max_page_size = 2
    result = world.run("get", "cluster", "-A")
    assert result.exit_code == 0
    golden("cluster-all-namespaces", result.stdout)  # same table as without pagination
    lists = world.emu.requests_where(verb="list", resource="rayclusters")
    assert len(lists) == 3 and [bool(r.q("continue")) for r in lists] == [False, True, True]
    assert all(r.q("limit") == "500" for r in lists)


def test_pagination_for_jobs_nodes_and_names(world):
    world.emu.max_page_size = 1
    assert len(world.run("get", "nodes", "-A", "--no-headers").stdout.splitlines()) == 8
    assert world.run("get", "job", "-A", "-o", "name").stdout == (
        "rayjob.ray.io/rayjob-sample\nrayjob.ray.io/rayjob-sample-shutdown\n")
    continued = [r for r in world.emu.requests_where(verb="list") if r.q("continue")]
    assert len(continued) >= 8


def test_get_cluster_holds_rows_not_objects(world, monkeypatch):
    """Each page becomes row tuples before the next page is read: no object of an earlier page stays alive."""
    import gc
    import weakref

    from kubectl_ray.kube.client import KubeClient

    class Tracked(dict):  # a dict that can be weakly referenced
        pass

    world.emu.max_page_size = 2
    earlier: list[weakref.ref] = []
    alive_from_earlier_pages: list[int] = []
    original = KubeClient.list_pages

    def spying(self, *args, **kwargs):
        for page in original(self, *args, **kwargs):
            tracked = [Tracked(obj) for obj in page]
            del page
            refs = [weakref.ref(obj) for obj in tracked]
            yield tracked
            del tracked
            gc.collect()
            alive_from_earlier_pages.append(sum(ref() is not None for ref in earlier))
            earlier.extend(refs)

    monkeypatch.setattr(KubeClient, "list_pages", spying)
    result = world.run("get", "cluster", "-A")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 6
    assert len(alive_from_earlier_pages) == 3 and alive_from_earlier_pages == [0, 0, 0]
    gc.collect()
    assert all(ref() is None for ref in earlier)


# --- output formats -----------------------------------------------------------------------------

def test_output_name(world):
    assert world.run("get", "cluster", "-A", "-o", "name").stdout == (
        "raycluster.ray.io/ray-cluster-with-auth\nraycluster.ray.io/raycluster-kuberay\n"
        "raycluster.ray.io/raycluster-complete\nraycluster.ray.io/raycluster-tpu-v4-multihost\n"
        "raycluster.ray.io/verl-cluster\n")
    assert world.run("get", "node", "-o", "name", "-c", "raycluster-kuberay").stdout == (
        "pod/raycluster-kuberay-head-8xk2m\npod/raycluster-kuberay-workergroup-worker-4bqzt\n")
    assert world.run("get", "service", "-o", "name").stdout == "rayservice.ray.io/rayservice-sample\n"
    assert world.run("get", "workergroup", "-A", "-o", "name").stdout == (
        "workergroup/ray-cluster-with-auth/workergroup\nworkergroup/raycluster-kuberay/workergroup\n"
        "workergroup/raycluster-complete/small-group\nworkergroup/raycluster-tpu-v4-multihost/tpu-group\n")


def test_output_json_list_and_single_object(world):
    doc = json.loads(world.run("get", "cluster", "-o", "json").stdout)
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in doc["items"]] == ["ray-cluster-with-auth", "raycluster-kuberay"]
    stored = world.emu.get("rayclusters", "default", "raycluster-kuberay")
    assert doc["items"][1] == stored
    single = json.loads(world.run("get", "cluster", "raycluster-kuberay", "-o", "json").stdout)
    assert single == stored  # a NAME prints the object itself, not a List
    assert world.run("get", "cluster", "raycluster-kuberay", "-o", "json").stdout.startswith('{\n    "apiVersion": "ray.io/v1",')


def test_output_yaml(world):
    out = world.run("get", "job", "-A", "-o", "yaml").stdout
    doc = yaml.safe_load(out)
    assert out.startswith("apiVersion: v1\nitems:\n- apiVersion: ray.io/v1\n  kind: RayJob\n")
    assert [i["status"]["jobStatus"] for i in doc["items"]] == ["RUNNING", "SUCCEEDED"]
    one = yaml.safe_load(world.run("get", "service", "rayservice-sample", "-o", "yaml").stdout)
    assert one == world.emu.get("rayservices", "default", "rayservice-sample")


def test_output_json_for_workergroups(world):
    doc = json.loads(world.run("get", "workergroup", "-n", "ml-team", "-o", "json").stdout)
    tpu = doc["items"][1]
    assert {k: tpu[k] for k in ("namespace", "cluster", "name", "minReplicas", "maxReplicas", "replicas", "numOfHosts",
                                "readyPods", "desiredPods", "resources")} == {
        "namespace": "ml-team", "cluster": "raycluster-tpu-v4-multihost", "name": "tpu-group", "minReplicas": 1,
        "maxReplicas": 1, "replicas": 1, "numOfHosts": 2, "readyPods": 2, "desiredPods": 2,
        "resources": {"cpu": "2", "gpu": "0", "tpu": "8", "memory": "80G"}}
    assert tpu["spec"]["groupName"] == "tpu-group"


def test_empty_namespace_message_on_stderr(world):
    for form in ("cluster", "workergroup", "node", "job", "service"):
        result = world.run("get", form, "-n", "empty")
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "No resources found in empty namespace.\n")
    result = world.run("get", "cluster", "-A", "-l", "team=nobody")
    assert (result.stdout, result.stderr) == ("", "No resources found\n")
    result = world.run("get", "cluster", "-n", "empty", "-o", "json")
    assert json.loads(result.stdout)["items"] == [] and result.stderr == ""


def test_label_selector_goes_to_the_server(world):
    world.run("get", "cluster", "-l", "team in (search,platform)")
    (req,) = world.emu.requests_where(verb="list", resource="rayclusters")
    assert req.q("labelSelector") == "team in (search,platform)"
    world.emu.clear_requests()
    world.run("get", "node", "-l", "ray.io/node-type=head")
    (req,) = world.emu.requests_where(verb="list", resource="pods")
    assert req.q("labelSelector") == "ray.io/is-ray-node=yes,ray.io/node-type=head"


def test_name_in_a_namespace_is_one_get(world):
    world.run("get", "cluster", "raycluster-kuberay")
    assert [(r.verb, r.name) for r in world.emu.requests] == [("get", "raycluster-kuberay")]


# --- not found and bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["get", "cluster", "nope"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
    (["get", "raycluster/nope"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
    (["get", "cluster", "nope", "-A"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
    (["get", "workergroup", "nope"], 'error: worker group "nope" not found in any RayCluster\n'),
    (["get", "workergroup", "nope", "-c", "raycluster-kuberay"],
     'error: worker group "nope" not found in RayCluster "raycluster-kuberay"\n'),
    (["get", "workergroup", "-c", "nope", "-A"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
    (["get", "workergroup", "-c", "nope"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
    (["get", "node", "-c", "nope"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
    (["get", "node", "nope"], 'Error from server (NotFound): pods "nope" not found\n'),
    (["get", "node", "nope", "-c", "c1", "-A"], 'Error from server (NotFound): rayclusters.ray.io "c1" not found\n'),
    (["get", "job", "nope", "-n", "ml-team"], 'Error from server (NotFound): rayjobs.ray.io "nope" not found\n'),
    (["get", "service", "nope"], 'Error from server (NotFound): rayservices.ray.io "nope" not found\n'),
    (["get", "cluster", "rayjob-sample"], 'Error from server (NotFound): rayclusters.ray.io "rayjob-sample" not '
                                          'found; a RayJob named "rayjob-sample" exists: use rayjob/rayjob-sample\n'),
    (["get", "token", "nope"], 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'),
])
def test_not_found_is_one_line_exit_1(world, args, message):
    result = world.run(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    assert world.emu.writes() == []


@pytest.mark.parametrize("args, fragment", [
    (["get", "clusterz"], 'unknown command "clusterz" for "kubectl ray get". Did you mean this? cluster'),
    (["get", "rayclusterz/x"], 'unknown command "rayclusterz" for "kubectl ray get". Did you mean this? '
                               "raycluster, rayclusters"),
    (["get", "cluster", "-o", "table"], 'unable to match a printer suitable for the output format "table", allowed '
                                        "formats are: custom-columns,custom-columns-file,json,jsonpath,"
                                        "jsonpath-as-json,jsonpath-file,name,wide,yaml"),
    (["get", "cluster", "-o", "jsonpath"], "template format specified but no template given"),
    (["get", "cluster", "-o", "jsonpath={.a"], "error parsing jsonpath {.a, unclosed action"),
    (["get", "cluster", "-o", "custom-columns=NAME"], "unexpected custom-columns spec: NAME, expected "
                                                      "<header>:<json-path-expr>"),
    (["get", "cluster", "-o", "json", "--show-labels"], "--show-labels option cannot be used with json printer"),
    (["get", "cluster", "--sort-by", "{.a"], "--sort-by {.a: unclosed action"),
    (["get", "cluster", "raycluster/a", "rayjob/b"], "unsupported resource type 'rayjob' in 'rayjob/b'"),
    (["get", "cluster", "a", "b", "-w"], "watch is only supported on individual resources"),
    (["get", "cluster", ""], "invalid resource type/name: '': the name is empty"),
    (["get", "workergroup", "-c", ""], "invalid resource type/name: '': the name is empty"),
    (["get", "cluster", "a", "-l", "x=y"], "name cannot be provided when a selector is specified"),
    (["get", "token"], "Missing argument '(NAME | raycluster/NAME)'"),
])
def test_bad_input_is_a_usage_error(world, args, fragment):
    result = world.run(*args)
    assert result.exit_code == 2, result
    assert result.stderr.startswith("error: ") and fragment in result.stderr and result.stderr.count("\n") == 1
    assert world.emu.writes() == [] and world.emu.requests_where(verb="list") == []


def test_bare_get_prints_help(world):
    result = world.run("get")
    assert result.exit_code == 0 and "workergroup" in result.stdout and "token" in result.stdout


# --- get token ----------------------------------------------------------------------------------

def test_token_printed_raw_without_newline(world):
    result = world.run("get", "token", "ray-cluster-with-auth")
    assert (result.exit_code, result.stdout, result.stderr) == (0, TOKEN, "")
    assert [(r.resource, r.name) for r in world.emu.requests] == [("rayclusters", "ray-cluster-with-auth"),
                                                                  ("secrets", "ray-cluster-with-auth")]


def test_token_from_secret_name_of_auth_options(emulator):
    objs = list(yaml.safe_load_all(shared_path("samples", "ray-cluster.auth.secret-ref.yaml").read_text()))
    secret, cluster = objs[0], objs[1]
    secret["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in secret.pop("stringData").items()}
    emulator.emu.add_all([secret, cluster])
    result = emulator.run("get", "token", "ray-cluster-with-auth")
    assert (result.exit_code, result.stdout) == (0, "super-secret-example-token")
    assert emulator.emu.requests_where(resource="secrets")[0].name == "ray-cluster-token"


def test_token_errors_never_show_the_token(world):
    world.emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "default"},
                   "data": {"not_it": base64.b64encode(TOKEN.encode()).decode()}})
    cases = {
        "raycluster-kuberay": "error: RayCluster default/raycluster-kuberay was not configured to use authentication tokens\n",
        "nope": 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n',
    }
    for name, message in cases.items():
        result = world.run("get", "token", name)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    cluster = world.emu.get("rayclusters", "default", "ray-cluster-with-auth")
    cluster["spec"]["authOptions"]["secretName"] = "other"
    world.emu.add(cluster)
    result = world.run("get", "token", "ray-cluster-with-auth", "--debug")  # --debug adds a traceback
    assert result.exit_code == 1 and result.stderr.endswith("error: secret default/other does not have an auth_token\n")
    assert result.stderr.startswith("Traceback") and TOKEN not in result.stderr
    world.emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "default"},
                   "data": {"auth_token": "!!" + TOKEN}})
    result = world.run("get", "token", "ray-cluster-with-auth", "--debug")
    assert result.stderr.endswith("\nerror: secret default/other has an auth_token that is not valid base64\n")
    assert TOKEN not in result.stderr + result.stdout
    world.emu.remove("secrets", "default", "other")
    result = world.run("get", "token", "ray-cluster-with-auth")
    assert result.stderr == 'error: failed to get secret default/other: secrets "other" not found\n'


def test_token_forbidden_secret_is_reported_without_the_token(world):
    world.emu.forbid("get", "secrets")
    result = world.run("get", "token", "ray-cluster-with-auth", "--debug")
    assert result.exit_code == 1 and TOKEN not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "error: failed to get secret default/ray-cluster-with-auth: secrets is forbidden")


# --- real kubectl: the plugin's table matches what kubectl shows for the same objects ------------

def test_names_and_ages_agree_with_real_kubectl(world, tmp_path):
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    env = dict(os.environ, KUBECACHEDIR=str(tmp_path / "cache"))
    out = subprocess.run([kubectl, "get", "rayclusters", "-A", "-o", "name", "--kubeconfig", world.kubeconfig],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == world.run("get", "cluster", "-A", "-o", "name").stdout


# --- flags before the subcommand, help ----------------------------------------------------------

def test_connection_flags_before_the_subcommand(world):
    result = world.run("get", "-n", "ml-team", "clusters", "--no-headers")
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "raycluster-complete", "raycluster-tpu-v4-multihost", "verl-cluster"]
    assert world.run("get", "--kubeconfig", world.kubeconfig).stdout.startswith("Usage: kubectl ray get")


def test_get_job_is_a_standalone_command(world):
    """Helper JOB mounts it as `kubectl ray job list`; it must work outside `get` too."""
    import click
    from click.testing import CliRunner

    from kubectl_ray.cli.get import get_job

    group = click.Group("job")
    group.add_command(get_job, name="list")
    result = CliRunner().invoke(group, ["list", "-A", "--no-headers", "--kubeconfig", world.kubeconfig])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines()] == [
        ["default", "rayjob-sample"], ["ml-team", "rayjob-sample-shutdown"]]


# --- the pure row builders ---------------------------------------------------------------------

def test_rows_with_missing_fields():
    from datetime import datetime, timezone

    from kubectl_ray.resources import tables

    at = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    bare = {"metadata": {"name": "x", "namespace": "ns"}}
    assert tables.cluster_row(bare, at) == ("ns", "x", "0", "0", "0", "0", "0", "0", "", "", "<unknown>", "", "")
    assert tables.job_row(bare, at) == ("ns", "x", "", "", "", "", "", "", "<unknown>", "", "K8sJobMode", "")
    assert tables.service_row(bare, at) == ("ns", "x", "", "", "", "<unknown>", "", "")
    assert tables.node_row(bare, at)[1:10] == ("x", "0", "0", "0", "0", "", "", "", "<unknown>")


def test_relevant_condition_precedence():
    from kubectl_ray.resources.tables import relevant_cluster_condition

    def cluster(*conds):
        return {"status": {"conditions": [{"type": t, "status": s} for t, s in conds]}}

    assert relevant_cluster_condition(cluster(("HeadPodReady", "True"), ("RayClusterProvisioned", "True"))) == \
        "RayClusterProvisioned"
    assert relevant_cluster_condition(cluster(("RayClusterSuspending", "True"), ("ReplicaFailure", "True"))) == \
        "ReplicaFailure"
    assert relevant_cluster_condition(cluster(("RayClusterProvisioned", "False"))) == ""


def test_service_status_forms():
    from kubectl_ray.resources.tables import service_status

    assert service_status({"status": {"serviceStatus": "Running"}}) == "Running"  # operators before conditions
    assert service_status({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}) == "NotReady"


def test_gpu_resources_of_any_vendor_and_limits_fill_requests():
    from kubectl_ray.resources.tables import group_resources

    group = {"replicas": 2, "template": {"spec": {"containers": [
        {"resources": {"limits": {"cpu": "2", "memory": "1536Mi", "amd.com/gpu": "1"}, "requests": {"cpu": "1"}}},
        {"resources": {"requests": {"nvidia.com/gpu": "1", "memory": "512Mi"}}}]}}}
    assert group_resources(group).cells() == ("2", "4", "0", "4Gi")


def test_job_cluster_from_cluster_selector():
    from kubectl_ray.resources.tables import job_cluster

    assert job_cluster({"spec": {"clusterSelector": {"ray.io/cluster": "shared"}}}) == "shared"


def test_forbidden_list_is_one_kubectl_style_line(world):
    world.emu.forbid("list", "rayclusters")
    result = world.run("get", "cluster", "-A")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == ('Error from server (Forbidden): rayclusters.ray.io is forbidden: User "admin" cannot list '
                             'resource "rayclusters" in API group "ray.io" at the cluster scope\n')


def test_missing_crds_say_so(world):
    world.emu.registry.remove_group("ray.io")
    result = world.run("get", "job")
    assert result.exit_code == 1
    assert result.stderr.startswith('error: KubeRay CRDs are not installed in this cluster') and result.stderr.count("\n") == 1
