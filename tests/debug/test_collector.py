"""The collector through the API emulator: bounded requests, RBAC, unreachable API, CRDs missing, logs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.debug.incidents.loader import serve_core
from tests.debug.sim import Sim, sample
from tests.debug.world import World, load


def cluster_with_workers(n: int, namespace: str = "default") -> tuple[Any, list[dict[str, Any]]]:
    manifest = sample("ray-cluster.complete.yaml")
    manifest["spec"]["workerGroupSpecs"][0].update(replicas=n, maxReplicas=max(n, 10))
    return Sim(namespace, max_pods_per_group=n).healthy(manifest)


def test_request_count_is_the_same_for_10_and_500_worker_pods(emulator, frozen_now) -> None:
    serve_core(emulator.emu)  # LimitRanges, as every API server serves them
    counts, requests = {}, {}
    for n, ns in ((10, "small"), (500, "big")):
        _, objs = cluster_with_workers(n, ns)
        load(emulator, objs)
        assert len([o for o in emulator.emu.objects("pods", ns)]) == n + 1
        emulator.emu.clear_requests()
        result = emulator.run("debug", "raycluster-complete", "-n", ns)
        assert result.exit_code == 0, result
        assert "Verdict: no problems found." in result.stdout
        counts[n] = emulator.emu.request_count
        requests[n] = Counter((r.verb, r.resource) for r in emulator.emu.requests)
    assert counts[10] == counts[500]
    assert requests[10] == requests[500]
    assert requests[500] == Counter({
        ("get", "rayclusters"): 1, ("list", "pods"): 2, ("get", "services"): 1, ("list", "endpointslices"): 1,
        ("list", "deployments"): 1, ("get", "customresourcedefinitions"): 1, ("list", "nodes"): 1,
        ("list", "runtimeclasses"): 1, ("list", "networkpolicies"): 1, ("list", "events"): 1,
        ("get", "namespaces"): 1, ("list", "limitranges"): 1, ("list", "resourcequotas"): 1,
        ("discovery", ""): 1})  # Kueue's API group: not served here, so no Workloads or LocalQueues are listed


def test_what_specs_name_is_read_by_name_and_kueue_only_where_served(emulator, frozen_now) -> None:
    """A RayJob naming Secrets, ConfigMaps, a PVC, a ServiceAccount and a PriorityClass, queued in Kueue: each named
    object is one GET (at most MAX_REFERENCES per kind), whatever the number of pods; Secret values are never kept."""
    from kubectl_ray.debug.collector import MAX_REFERENCES

    serve_core(emulator.emu, "kueue")
    counts, requests = {}, {}
    for n, ns in ((2, "small"), (300, "big")):
        manifest = sample("ray-job.sample.yaml")
        manifest["metadata"]["labels"] = {"kueue.x-k8s.io/queue-name": "q"}
        spec = manifest["spec"]["rayClusterSpec"]
        spec["workerGroupSpecs"][0].update(replicas=n, maxReplicas=max(n, 10))
        head = spec["headGroupSpec"]["template"]["spec"]
        head.update(serviceAccountName="ray-sa", priorityClassName="high")
        head["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "datasets"}},
                           {"name": "conf", "configMap": {"name": "ray-conf"}}]
        head["containers"][0]["env"] = [{"name": f"TOKEN_{i}", "valueFrom": {"secretKeyRef": {"name": f"s{i}", "key": "k"}}}
                                        for i in range(MAX_REFERENCES + 3)]
        target, objs = Sim(ns, max_pods_per_group=n).healthy(manifest)
        load(emulator, objs)
        emulator.emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s0", "namespace": ns},
                          "data": {"k": "UzNLUjFUIQ=="}, "stringData": {"other": "S3KR1T!"}})
        emulator.emu.clear_requests()
        result = emulator.run("debug", f"rayjob/{target.name}", "-n", ns, "-o", "json", "--logs")
        assert result.exit_code in (0, 1), result
        assert "UzNLUjFUIQ==" not in result.stdout and "S3KR1T" not in result.stdout
        counts[n] = emulator.emu.request_count
        requests[n] = Counter((r.verb, r.resource) for r in emulator.emu.requests)
        secret_reads = [r for r in emulator.emu.requests if r.resource.startswith("secrets")]
        assert {r.verb for r in secret_reads} == {"get"} and len(secret_reads) == MAX_REFERENCES
    assert counts[2] == counts[300] and requests[2] == requests[300]
    assert requests[300][("get", "configmaps")] == 1 and requests[300][("get", "persistentvolumeclaims")] == 1
    assert requests[300][("get", "serviceaccounts")] == 1 and requests[300][("get", "priorityclasses")] == 1
    assert requests[300][("list", "workloads")] == 1 and requests[300][("list", "localqueues")] == 1


def test_every_request_is_a_read_and_secret_values_are_never_kept(emulator, frozen_now, tmp_path) -> None:
    import tarfile

    w = World("ray-cluster.external-redis.yaml")
    load(emulator, w.objs)
    emulator.emu.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis", "namespace": "default"},
                      "spec": {"ports": [{"port": 6379}]}})
    emulator.emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "redis-password-secret", "namespace": "default"},
                      "data": {"password": "c2VjcmV0"}})
    bundle = tmp_path / "b.tar.gz"
    result = emulator.run("debug", "raycluster-external-redis", "--logs", "--bundle", str(bundle))
    assert result.exit_code == 0, result
    assert emulator.emu.writes() == []
    # the Secret the spec names is read by name (which keys it holds), never listed, and its value is not kept
    assert [(r.verb, r.resource) for r in emulator.emu.requests if r.resource.startswith("secrets")] == [("get", "secrets")]
    with tarfile.open(bundle) as tar:
        texts = [tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()]
    assert not [t for t in [result.stdout, *texts] if "c2VjcmV0" in t]
    pod_lists = emulator.emu.requests_where(verb="list", resource="pods")
    assert pod_lists[0].q("labelSelector") == "ray.io/cluster in (raycluster-external-redis)"
    assert pod_lists[0].q("limit") == "1000"


def test_forbidden_deployments_give_not_checked_lines_and_keep_exit_code_0(emulator, frozen_now) -> None:
    w = World()
    load(emulator, w.objs)
    emulator.emu.forbid("list", "deployments")
    result = emulator.run("debug", "raycluster-complete")
    assert result.exit_code == 0, result
    reason = "not checked (forbidden: list deployments at the cluster scope)"
    assert f"[OP-02] the KubeRay operator is installed and running: {reason}" in result.stdout
    assert f"[OP-03] the operator watches the object's namespace: {reason}" in result.stdout
    assert "Verdict: no problems found. (" in result.stdout and "check(s) could not run)" in result.stdout
    # the operator version still comes from the head pod's RAY_USAGE_STATS_EXTRA_TAGS
    assert "KubeRay operator v1.7.0 (from a head pod)" in result.stdout

    doc = json.loads(emulator.run("debug", "raycluster-complete", "-o", "json").stdout)
    assert doc["exitCode"] == 0
    not_checked = {n["id"]: n["reason"] for n in doc["targets"][0]["notChecked"]}
    assert not_checked["OP-02"] == "forbidden: list deployments at the cluster scope"
    assert {"verb": "list", "resource": "deployments", "namespace": None, "message": "forbidden"} in doc["forbidden"]


def test_forbidden_data_never_hides_errors_found_elsewhere(emulator, frozen_now) -> None:
    w = World()
    w.crash(w.head, reason="OOMKilled", exit_code=137)
    load(emulator, w.objs)
    emulator.emu.forbid("list", "deployments")
    emulator.emu.forbid("list", "nodes")
    emulator.emu.forbid("list", "events")
    result = emulator.run("debug", "raycluster-complete")
    assert result.exit_code == 1, result
    assert "[CRASH-01] the Ray container of the head was OOMKilled (limit 5Gi)" in result.stdout
    assert ("[GCS-03] the Ray image has wget for the exec health checks: not checked (partly: forbidden: list events "
            'in namespace "default")') in result.stdout


def test_unreadable_target_means_the_diagnosis_cannot_run(emulator) -> None:
    w = World()
    load(emulator, w.objs)
    emulator.emu.forbid("get", "rayclusters")
    result = emulator.run("debug", "raycluster-complete")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith('error: cannot read RayCluster "raycluster-complete": Error from server (Forbidden)')


def test_unreachable_api_server_exits_3(tmp_path) -> None:
    from tests.conftest import run_cli
    from tests.emulator import kubeconfig, write_kubeconfig

    path = write_kubeconfig(tmp_path / "kc", kubeconfig("http://127.0.0.1:9"))
    result = run_cli("debug", "raycluster/demo", "--kubeconfig", path)
    assert result.exit_code == 3
    assert result.stderr == "error: The connection to the server 127.0.0.1:9 was refused - did you specify the right host or port?\n"
    scan = run_cli("debug", "--kubeconfig", path)
    assert scan.exit_code == 3


def test_missing_target_exits_3(emulator) -> None:
    result = emulator.run("debug", "rayjob/nope", "-n", "default")
    assert result.exit_code == 3
    assert result.stderr == 'Error from server (NotFound): rayjobs.ray.io "nope" not found\n'


def test_missing_crds_are_finding_op_01_with_exit_code_1(emulator) -> None:
    emulator.emu.registry.remove_group("ray.io")
    result = emulator.run("debug", "raycluster/demo")
    assert result.exit_code == 1, result
    assert "[OP-01] KubeRay CRDs are not installed (ray.io/v1 is not served)" in result.stdout
    scan = emulator.run("debug")
    assert scan.exit_code == 1
    assert "[OP-01]" in scan.stdout


def test_scan_gives_one_line_per_top_level_resource(emulator, frozen_now) -> None:
    healthy = World("ray-cluster.complete.yaml")
    job = World("ray-job.sample.yaml")
    svc = World("ray-service.sample.yaml")
    svc.obj["status"]["activeServiceStatus"]["applicationStatuses"]["fruit_app"].update(status="DEPLOY_FAILED", message="boom")
    other = World("ray-cluster.sample.yaml", namespace="team-b")
    other.crash(other.head, reason="OOMKilled", exit_code=137)
    for w in (healthy, job, svc, other):
        load(emulator, w.objs)
    result = emulator.run("debug", "-n", "default")
    assert result.exit_code == 1, result
    assert result.stdout == (
        "KIND/NAME                        VERDICT     TOP FINDING\n"
        "raycluster/raycluster-complete   ok          \n"
        "rayjob/rayjob-sample             1 warning   RES-02 no memory limit: Ray sizes its memory from what it detects\n"
        "rayservice/rayservice-sample     1 error     SVC-04 Serve application fruit_app (active cluster) is DEPLOY_FAILED\n")
    assert result.stderr == "Run `kubectl ray debug KIND/NAME` for the evidence and the fixes.\n"
    everywhere = emulator.run("debug", "-A")
    lines = everywhere.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "KIND/NAME", "VERDICT", "TOP", "FINDING"]
    assert lines[-1].startswith("team-b      raycluster/raycluster-kuberay    1 error     CRASH-01 the Ray container of the head")
    assert len(lines) == 5


def test_scan_request_count_does_not_grow_with_pods(emulator, frozen_now) -> None:
    counts = []
    for n, ns in ((10, "small"), (500, "big")):
        _, objs = cluster_with_workers(n, ns)
        load(emulator, objs)
        emulator.emu.clear_requests()
        assert emulator.run("debug", "-n", ns).exit_code == 0
        counts.append(emulator.emu.request_count)
    assert counts[0] == counts[1]


def test_logs_add_the_wait_gcs_ready_tail_as_evidence(emulator, frozen_now) -> None:
    w = World()
    w.waiting_for_gcs(w.worker, minutes=2.5)
    load(emulator, w.objs)
    pod = w.worker["metadata"]["name"]
    emulator.emu.pod_logs[("default", pod, "wait-gcs-ready")] = (
        "5 seconds elapsed: Waiting for GCS to be ready.\n"
        "150 seconds elapsed: Still waiting for GCS to be ready. For troubleshooting, refer to the FAQ at "
        "https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting.html.\n")
    without = emulator.run("debug", "raycluster-complete")
    assert "WKR-02" not in without.stdout  # 2.5 minutes is not stuck yet on its own
    result = emulator.run("debug", "raycluster-complete", "--logs", "--tail", "20")
    assert result.exit_code == 1, result
    assert "[WKR-02] workers of group small-group cannot reach the GCS of a Ready head" in result.stdout
    assert f"log {pod}/wait-gcs-ready: 150 seconds elapsed: Still waiting for GCS to be ready." in result.stdout
    logs = emulator.emu.requests_where(resource="pods/log")
    assert {r.q("container") for r in logs} == {"ray-head", "wait-gcs-ready"}
    assert {r.q("tailLines") for r in logs} == {"20"}


def test_live_collection_gives_the_same_findings_as_the_snapshot(emulator, frozen_now) -> None:
    w = World()
    w.crash(w.head, reason="OOMKilled", exit_code=137)
    w.waiting_for_gcs(w.worker, minutes=8)
    w.worker_container()["image"] = "rayproject/ray:2.51.0"
    load(emulator, w.objs)
    doc = json.loads(emulator.run("debug", "raycluster-complete", "-o", "json").stdout)
    live = _ids(doc["targets"][0]["findings"])
    assert live == {f.id for f in w.diagnose().all_findings()}
    assert {"CRASH-01", "GCS-02", "GCS-05", "WKR-01", "VER-02", "VER-03"} <= live


def _ids(findings: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for f in findings:
        out.add(f["id"])
        out |= _ids(f["consequences"])
    return out
