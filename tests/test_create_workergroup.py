"""`kubectl ray create workergroup` against the API emulator: append, 409 retry, duplicates, dry-run."""

from __future__ import annotations

import yaml

from tests.conftest import ray_cluster
from tests.crd_schema import assert_valid_cr

CONFLICT = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Conflict", "code": 409,
            "message": 'Operation cannot be fulfilled on rayclusters.ray.io "demo": the object has been modified; '
                       "please apply your changes to the latest version and try again",
            "details": {"name": "demo", "group": "ray.io", "kind": "rayclusters"}}


def cluster_calls(emu) -> list[tuple[str, str | None]]:
    """(verb, dryRun) of every request on RayClusters, in order."""
    return [(r.verb, r.q("dryRun")) for r in emu.requests if r.resource.startswith("rayclusters")]


def new_group(emu, name: str = "gpu", cluster: str = "demo") -> dict:
    groups = emu.get("rayclusters", "default", cluster)["spec"]["workerGroupSpecs"]
    return next(g for g in groups if g["groupName"] == name)


def test_append_a_group_with_upstream_defaults_and_create_cluster_resource_rules(emulator):
    emulator.emu.add(ray_cluster("demo"))
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo", "--worker-gpu", "1",
                          "--worker-runtime-class-name", "nvidia", "--worker-tolerations", "nvidia.com/gpu:NoSchedule",
                          "--env", "CUDA_VISIBLE_DEVICES_HINT=all")
    assert result.exit_code == 0, result
    assert result.stdout == "raycluster.ray.io/demo updated (added worker group gpu)\n"
    stored = emulator.emu.get("rayclusters", "default", "demo")
    assert [g["groupName"] for g in stored["spec"]["workerGroupSpecs"]] == ["default-group", "gpu"]
    assert new_group(emulator.emu) == {
        "groupName": "gpu", "replicas": 1, "minReplicas": 1, "maxReplicas": 10, "numOfHosts": 1,
        "priority": 0,  # the CRD's default, filled in by the API server
        "rayStartParams": {},  # KubeRay < 1.4 requires the field (kuberay#3250)
        "template": {"spec": {
            "containers": [{
                "name": "ray-worker", "image": "rayproject/ray:2.52.0",  # the head's image
                "env": [{"name": "CUDA_VISIBLE_DEVICES_HINT", "value": "all"}],
                "resources": {"requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
                              "limits": {"memory": "4Gi", "nvidia.com/gpu": "1"}}}],  # no CPU limit
            "runtimeClassName": "nvidia",
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}},
    }
    assert_valid_cr(stored)
    put = emulator.emu.requests_where(verb="update", resource="rayclusters")[0]
    assert put.q("fieldManager") == "kubectl-ray"
    assert put.body["metadata"]["resourceVersion"]  # optimistic concurrency, not a blind overwrite


def test_conflict_is_retried_after_reading_the_cluster_again(emulator):
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    emulator.emu.fault(verb="update", resource="rayclusters", status=409, times=1, body=CONFLICT)
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo")
    assert result.exit_code == 0, result
    assert cluster_calls(emulator.emu) == [("get", None), ("update", None), ("get", None), ("update", None)]
    assert [g["groupName"] for g in emulator.emu.get("rayclusters", "default", "demo")["spec"]["workerGroupSpecs"]] == [
        "default-group", "gpu"]


def test_a_real_concurrent_change_is_kept(emulator):
    """Our first read is stale (someone scaled default-group since): the server's own 409 makes us
    read again, and the retry keeps their change."""
    emu = emulator.emu
    stale = emu.add(ray_cluster("demo"))
    scaled = ray_cluster("demo")
    scaled["spec"]["workerGroupSpecs"][0]["replicas"] = 4
    emu.add(scaled)  # the other writer: a newer resourceVersion
    emu.clear_requests()
    emu.fault(verb="get", resource="rayclusters", name="demo", times=1, status=200, body=stale)
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo")
    assert result.exit_code == 0, result
    stored = emu.get("rayclusters", "default", "demo")
    assert stored["spec"]["workerGroupSpecs"][0]["replicas"] == 4
    assert [g["groupName"] for g in stored["spec"]["workerGroupSpecs"]] == ["default-group", "gpu"]
    assert cluster_calls(emu) == [("get", None), ("update", None), ("get", None), ("update", None)]


def test_gives_up_after_five_conflicts(emulator):
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    emulator.emu.fault(verb="update", resource="rayclusters", status=409, times=None, body=CONFLICT)
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo")
    assert result.exit_code == 1
    assert result.stderr == ('error: could not add worker group "gpu": RayCluster "demo" changed under us 5 times in '
                             "a row (409 Conflict); try again\n")
    assert [v for v, _ in cluster_calls(emulator.emu)].count("update") == 5


def test_duplicate_group_name_is_refused_listing_the_groups(emulator):
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    result = emulator.run("create", "workergroup", "default-group", "-c", "demo")
    assert result.exit_code == 1
    assert result.stderr == ('error: worker group "default-group" already exists in RayCluster "demo" '
                             "(existing groups: default-group)\n")
    assert emulator.emu.writes() == []


def test_missing_cluster_is_one_line(emulator):
    result = emulator.run("create", "workergroup", "gpu", "-c", "nope")
    assert result.exit_code == 1
    assert result.stderr == 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'
    assert emulator.emu.writes() == []


def test_ray_version_sets_the_image_and_warns_on_a_mismatch(emulator):
    """Upstream ignored --ray-version unless --image was ""."""
    emulator.emu.add(ray_cluster("demo"))
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo", "--ray-version", "2.53.0")
    assert result.exit_code == 0, result
    assert new_group(emulator.emu)["template"]["spec"]["containers"][0]["image"] == "rayproject/ray:2.53.0"
    assert result.stderr == ('Warning: --ray-version 2.53.0 differs from RayCluster "demo"\'s rayVersion 2.52.0: '
                             "Ray needs the same version on the head and every worker\n")


def test_image_flag_wins(emulator):
    emulator.emu.add(ray_cluster("demo"))
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo", "--image", "my/ray:custom")
    assert result.exit_code == 0, result
    assert new_group(emulator.emu)["template"]["spec"]["containers"][0]["image"] == "my/ray:custom"


def test_ascend_npu_group_with_ray_resources(emulator):
    emulator.emu.add(ray_cluster("demo"))
    result = emulator.run("create", "workergroup", "npu", "-c", "demo", "--worker-resources", "huawei.com/Ascend910B=1",
                          "--worker-ray-resources", '{"NPU": 1}', "--worker-min-replicas", "0", "--worker-max-replicas", "2")
    assert result.exit_code == 0, result
    group = new_group(emulator.emu, "npu")
    assert group["rayStartParams"] == {"resources": '"{\\"NPU\\":1}"'}
    assert group["template"]["spec"]["containers"][0]["resources"]["limits"]["huawei.com/Ascend910B"] == "1"
    assert_valid_cr(emulator.emu.get("rayclusters", "default", "demo"))


def test_client_dry_run_reads_but_never_writes(emulator):
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    result = emulator.run("create", "workergroup", "--dry-run", "gpu", "-c", "demo")
    assert result.exit_code == 0, result
    printed = yaml.safe_load(result.stdout)
    assert [g["groupName"] for g in printed["spec"]["workerGroupSpecs"]] == ["default-group", "gpu"]
    assert cluster_calls(emulator.emu) == [("get", None)]
    assert len(emulator.emu.get("rayclusters", "default", "demo")["spec"]["workerGroupSpecs"]) == 1


def test_server_dry_run_puts_with_dry_run_all(emulator):
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    result = emulator.run("create", "workergroup", "gpu", "-c", "demo", "--dry-run=server", "-o", "name")
    assert result.exit_code == 0, result
    assert result.stdout == "raycluster.ray.io/demo\n"
    assert cluster_calls(emulator.emu) == [("get", None), ("update", "All")]
    assert len(emulator.emu.get("rayclusters", "default", "demo")["spec"]["workerGroupSpecs"]) == 1


def test_ray_cluster_flag_is_required(emulator):
    result = emulator.run("create", "workergroup", "gpu")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Missing option '-c' / '--ray-cluster'")
    assert emulator.emu.request_count == 0
