"""`kubectl ray create cluster` against the API emulator: create, exists, dry-run modes, --wait."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import yaml

from tests.conftest import ray_cluster, run_cli
from tests.crd_schema import assert_valid_cr
from tests.emulator.state import Fault

PROVISIONED = {"state": "ready", "conditions": [
    {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady"},
    {"type": "RayClusterProvisioned", "status": "True", "reason": "AllPodRunningAndReadyFirstTime"}]}
HEAD_NOT_FOUND = {"conditions": [
    {"type": "HeadPodReady", "status": "False", "reason": "HeadPodNotFound", "message": "Head Pod not found"},
    {"type": "RayClusterProvisioned", "status": "False", "reason": "RayClusterPodsProvisioning"}]}
WORKERS_PENDING = {"readyWorkerReplicas": 0, "desiredWorkerReplicas": 1, "conditions": [
    {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady"},
    {"type": "RayClusterProvisioned", "status": "False", "reason": "RayClusterPodsProvisioning"}]}


def cluster_requests(emu) -> list[tuple[str, str]]:
    return [(r.verb, r.method) for r in emu.requests if r.resource.startswith("rayclusters")]


def test_create_posts_the_built_object_and_prints_kubectl_style(emulator):
    result = emulator.run("create", "cluster", "demo", "--worker-gpu", "1")
    assert result.exit_code == 0, result
    assert result.stdout == "raycluster.ray.io/demo created\n"
    assert result.stderr == ""
    stored = emulator.emu.get("rayclusters", "default", "demo")
    assert stored["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "memory": "4Gi", "nvidia.com/gpu": "1"}
    assert_valid_cr(stored)
    assert cluster_requests(emulator.emu) == [("get", "GET"), ("create", "POST")]
    post = emulator.emu.requests_where(verb="create")[0]
    assert post.q("fieldManager") == "kubectl-ray" and post.q("dryRun") is None
    dry = yaml.safe_load(run_cli("create", "cluster", "demo", "--worker-gpu", "1", "--dry-run").stdout)
    assert post.body == dry  # what --dry-run shows is exactly what is sent


def test_create_in_the_namespace_from_the_flag(emulator):
    missing = emulator.run("create", "cluster", "demo", "-n", "team-a")
    assert (missing.exit_code, missing.stderr) == (1, 'Error from server (NotFound): namespaces "team-a" not found\n')
    emulator.emu.ensure_namespace("team-a")
    result = emulator.run("create", "cluster", "demo", "-n", "team-a")
    assert result.exit_code == 0, result
    assert emulator.emu.get("rayclusters", "team-a", "demo")["metadata"]["namespace"] == "team-a"


@pytest.mark.parametrize("output, check", [
    ("name", lambda out: out == "raycluster.ray.io/demo\n"),
    ("json", lambda out: __import__("json").loads(out)["metadata"]["uid"]),
    ("yaml", lambda out: yaml.safe_load(out)["metadata"]["resourceVersion"]),
])
def test_create_output_formats_print_the_created_object(emulator, output, check):
    result = emulator.run("create", "cluster", "demo", "-o", output)
    assert result.exit_code == 0, result
    assert check(result.stdout)


def test_already_exists_is_refused_without_any_write(emulator):
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    result = emulator.run("create", "cluster", "demo")
    assert result.exit_code == 1
    assert result.stderr == 'error: raycluster.ray.io "demo" already exists in namespace "default"\n'
    assert emulator.emu.writes() == []


def test_created_by_someone_else_between_check_and_post_reads_the_same(emulator):
    emulator.emu.fault(verb="create", status=409, body={
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists", "code": 409,
        "message": 'rayclusters.ray.io "demo" already exists',
        "details": {"name": "demo", "group": "ray.io", "kind": "rayclusters"}})
    result = emulator.run("create", "cluster", "demo")
    assert result.exit_code == 1
    assert result.stderr == 'error: raycluster.ray.io "demo" already exists in namespace "default"\n'


def test_forbidden_existence_check_is_an_error_not_absent(emulator):
    """Upstream treated any error on the GET (403 included) as "does not exist" and went on."""
    emulator.emu.forbid("get", "rayclusters")
    result = emulator.run("create", "cluster", "demo")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error from server (Forbidden): rayclusters.ray.io is forbidden")
    assert result.stderr.count("\n") == 1
    assert emulator.emu.writes() == []


@pytest.mark.parametrize("flag", ["--dry-run", "--dry-run=client", "--dry-run=true"])
def test_client_dry_run_sends_nothing_at_all(emulator, flag):
    result = emulator.run("create", "cluster", flag, "demo")  # a bare --dry-run does not eat NAME
    assert result.exit_code == 0, result
    assert yaml.safe_load(result.stdout)["metadata"] == {"name": "demo", "namespace": "default"}
    assert emulator.emu.request_count == 0
    if flag == "--dry-run=true":
        assert result.stderr == ("Warning: --dry-run=true is deprecated (boolean value) and can be replaced with "
                                 "--dry-run=client.\n")


def test_client_dry_run_needs_no_reachable_server(tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "from-context"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))
    result = run_cli("create", "cluster", "demo", "--dry-run", "-o", "json", "--kubeconfig", str(config))
    assert result.exit_code == 0, result
    assert '"namespace": "from-context"' in result.stdout


def test_server_dry_run_posts_with_dry_run_all_and_stores_nothing(emulator):
    result = emulator.run("create", "cluster", "demo", "--dry-run=server")
    assert result.exit_code == 0, result
    post = emulator.emu.requests_where(verb="create")[0]
    assert post.q("dryRun") == "All"
    assert emulator.emu.get("rayclusters", "default", "demo") is None
    printed = yaml.safe_load(result.stdout)
    assert printed["metadata"]["name"] == "demo" and printed["metadata"]["uid"]  # the server's answer


def test_dry_run_none_creates(emulator):
    assert emulator.run("create", "cluster", "demo", "--dry-run=none").exit_code == 0
    assert emulator.emu.get("rayclusters", "default", "demo") is not None


def test_invalid_object_rejected_by_the_server_is_one_line(emulator):
    emulator.emu.validator = lambda res, obj: [{"field": "spec.rayVersion", "message": "Invalid value: too old",
                                                "reason": "FieldValueInvalid"}]
    result = emulator.run("create", "cluster", "demo")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error from server (Invalid): ")
    assert "spec.rayVersion: Invalid value: too old" in result.stderr
    assert result.stderr.count("\n") == 1


def test_missing_crds_say_kuberay_is_not_installed(emulator):
    emulator.emu.registry.remove_group("ray.io")
    result = emulator.run("create", "cluster", "demo")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: KubeRay CRDs are not installed in this cluster")


# --- --wait -------------------------------------------------------------------------------------------


def play_operator(emu, *statuses: dict[str, Any], interval: float = 0.3) -> None:
    """On create, set each status in turn, `interval` seconds apart (as the operator would)."""

    def on_create(obj: dict[str, Any], emu_: Any) -> None:
        def run() -> None:
            for status in statuses:
                time.sleep(interval)
                emu_.update_status("rayclusters", obj["metadata"]["namespace"], obj["metadata"]["name"], status)

        threading.Thread(target=run, daemon=True).start()

    emu.on("create", "rayclusters", on_create)


def test_wait_prints_each_state_change_once_and_succeeds(emulator):
    play_operator(emulator.emu, HEAD_NOT_FOUND, HEAD_NOT_FOUND, WORKERS_PENDING, PROVISIONED, interval=0.5)
    result = emulator.run("create", "cluster", "demo", "--wait", "--timeout", "30s")
    assert result.exit_code == 0, result
    assert result.stdout == "raycluster.ray.io/demo created\n"
    lines = result.stderr.splitlines()
    assert lines[-1] == 'RayCluster "demo" is provisioned'
    assert lines[:-1] in (
        ['Waiting for RayCluster "demo": no status yet (is the KubeRay operator running?)',
         'Waiting for RayCluster "demo": head pod not ready (HeadPodNotFound)',
         'Waiting for RayCluster "demo": 0/1 workers ready (RayClusterPodsProvisioning)'],
        # the first status may land before the watch opens
        ['Waiting for RayCluster "demo": head pod not ready (HeadPodNotFound)',
         'Waiting for RayCluster "demo": 0/1 workers ready (RayClusterPodsProvisioning)'],
    )
    watch = emulator.emu.requests_where(verb="watch", resource="rayclusters")[0]
    assert watch.q("fieldSelector") == "metadata.name=demo"


def test_wait_accepts_state_ready_without_conditions(emulator):
    """Operators before conditions existed only set status.state."""
    play_operator(emulator.emu, {"state": "ready"})
    result = emulator.run("create", "cluster", "demo", "--wait")
    assert result.exit_code == 0, result


def test_wait_times_out_with_the_last_state(emulator):
    play_operator(emulator.emu, HEAD_NOT_FOUND, interval=0.1)
    result = emulator.run("create", "cluster", "demo", "--wait", "--timeout", "2s")
    assert result.exit_code == 1  # the error text says it gave up at the timeout; no clock is asserted
    assert result.stdout == "raycluster.ray.io/demo created\n"
    assert result.stderr.splitlines()[-1] == (
        'error: timed out after 2s waiting for RayCluster "demo" in namespace "default" to be provisioned '
        "(last state: head pod not ready (HeadPodNotFound)); the RayCluster exists: see 'kubectl ray debug demo'")
    assert emulator.emu.get("rayclusters", "default", "demo") is not None


def test_wait_reopens_a_watch_the_server_closed(emulator):
    emulator.emu.fault(verb="watch", close_watch_after=0, times=1)
    play_operator(emulator.emu, PROVISIONED, interval=0.5)
    result = emulator.run("create", "cluster", "demo", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result
    assert len(emulator.emu.requests_where(verb="watch", resource="rayclusters")) >= 2
    assert result.stderr.splitlines()[-1] == 'RayCluster "demo" is provisioned'


def test_wait_reopens_from_the_last_resource_version(emulator):
    """After events, the next watch resumes at the last resourceVersion seen (no replay, no gap)."""
    emulator.emu.fault(verb="watch", close_watch_after=2, times=1)
    play_operator(emulator.emu, HEAD_NOT_FOUND, WORKERS_PENDING, PROVISIONED, interval=0.5)
    result = emulator.run("create", "cluster", "demo", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result
    watches = emulator.emu.requests_where(verb="watch", resource="rayclusters")
    assert len(watches) >= 2
    assert watches[0].q("resourceVersion") is None
    assert (watches[1].q("resourceVersion") or "").isdigit()  # resumes where the closed watch ended


@pytest.mark.skipif("watch_gone" not in Fault.__dataclass_fields__, reason="the emulator cannot answer 410 Gone")
def test_wait_rereads_the_cluster_when_the_watch_expires(emulator):
    emulator.emu.fault(verb="watch", watch_gone=True, times=1)
    play_operator(emulator.emu, PROVISIONED, interval=0.5)
    result = emulator.run("create", "cluster", "demo", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result
    verbs = [v for v, _ in cluster_requests(emulator.emu)]
    assert verbs[:4] == ["get", "create", "watch", "get"]


def test_wait_fails_when_the_cluster_is_deleted(emulator):
    def delete_soon(obj, emu):
        threading.Timer(0.3, lambda: emu.remove("rayclusters", "default", "demo")).start()

    emulator.emu.on("create", "rayclusters", delete_soon)
    result = emulator.run("create", "cluster", "demo", "--wait", "--timeout", "20s")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        'error: RayCluster "demo" in namespace "default" was deleted while waiting for it to be provisioned')


def test_wait_is_not_used_by_a_dry_run(emulator):
    result = emulator.run("create", "cluster", "demo", "--dry-run", "--wait")
    assert result.exit_code == 0
    assert emulator.emu.request_count == 0


# --- issue 15: the plugin's own cluster, as the API server would store it --------------------------

def test_default_cluster_writes_min_and_max_replicas(emulator):
    """Upstream leaves them to CRD defaults (0, 2147483647); written out, nothing depends on defaulting."""
    result = emulator.run("create", "cluster", "demo", "--dry-run", "-o", "json")
    group = json.loads(result.stdout)["spec"]["workerGroupSpecs"][0]
    assert (group["minReplicas"], group["maxReplicas"]) == (0, 2147483647)


def test_debug_finds_nothing_wrong_with_the_plugins_own_default_cluster(emulator):
    """Before: AS-09 (group lacks minReplicas or maxReplicas) fired on `create cluster demo`."""
    assert emulator.run("create", "cluster", "demo").exit_code == 0
    doc = json.loads(emulator.run("debug", "demo", "-o", "json").stdout)
    spec_findings = [f["id"] for t in doc["targets"] for f in t["findings"] if not f["id"].startswith("OP-")]
    assert spec_findings == []  # OP-*: the emulator has no operator; nothing about the object itself


@pytest.mark.parametrize("flag", ["--head-memory", "--head-ephemeral-storage", "--worker-cpu", "--worker-tpu"])
def test_an_explicitly_empty_quantity_is_rejected_like_upstream(emulator, flag):
    result = emulator.run("create", "cluster", "demo", f"{flag}=", "--dry-run")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {flag} is not a valid resource quantity: '': quantities must match")


@pytest.mark.parametrize("written", ["1e9", "4096Mi", "0.5Gi", "1500M"])
def test_quantities_are_kept_as_written(emulator, written):
    """The API server keeps a custom resource's quantities as written (so does upstream): 1e9 stays 1e9."""
    result = emulator.run("create", "cluster", "demo", "--worker-memory", written)
    assert result.exit_code == 0
    stored = emulator.emu.get("rayclusters", "default", "demo")
    resources = stored["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"]["memory"] == resources["requests"]["memory"] == written
