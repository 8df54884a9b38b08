"""`kubectl ray scale cluster`: upstream's validations and messages, read-modify-replace with retry on 409."""

from __future__ import annotations

import copy

import pytest
import yaml

from kubectl_ray.errors import UsageError
from kubectl_ray.resources.scaling import ScaleError, ScaleRequest, describe, scale_worker_group, validate_request
from tests.conftest import ray_cluster


def two_group_cluster(name: str = "demo", **spec: object) -> dict:
    cluster = ray_cluster(name, **spec)
    gpu = copy.deepcopy(cluster["spec"]["workerGroupSpecs"][0])
    gpu.update({"groupName": "gpu-group", "replicas": 2, "minReplicas": 1, "maxReplicas": 4})
    cluster["spec"]["workerGroupSpecs"].append(gpu)
    return cluster


@pytest.fixture
def demo(emulator):
    emulator.emu.add(two_group_cluster())
    emulator.emu.clear_requests()
    return emulator


def groups(emulator, name: str = "demo") -> dict[str, tuple[int, int, int]]:
    obj = emulator.emu.get("rayclusters", "default", name)
    return {g["groupName"]: (g.get("minReplicas"), g.get("maxReplicas"), g.get("replicas"))
            for g in obj["spec"]["workerGroupSpecs"]}


# --- the happy paths --------------------------------------------------------------------------

def test_scale_replicas_replaces_the_object_with_its_resource_version(demo):
    before = demo.emu.get("rayclusters", "default", "demo")
    result = demo.run("scale", "cluster", "demo", "-w", "default-group", "-r", "3")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == ("Updated worker group default-group in Ray cluster demo in namespace default "
                             "(Scaled Replicas: 1 to 3)\n")
    assert groups(demo) == {"default-group": (0, 5, 3), "gpu-group": (1, 4, 2)}
    assert [(r.verb, r.method) for r in demo.emu.requests] == [("get", "GET"), ("update", "PUT")]
    put = demo.emu.requests[-1]
    assert put.body["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert [g["groupName"] for g in put.body["spec"]["workerGroupSpecs"]] == ["default-group", "gpu-group"]
    assert put.q("fieldManager") == "kubectl-ray"


def test_upstream_e2e_sequence(demo):
    """kubectl_ray_cluster_scale_test.go: replicas, then min, then max, then all three together."""
    run = demo.run
    assert run("scale", "cluster", "demo", "-w", "default-group", "--replicas", "3").exit_code == 0
    out = run("scale", "cluster", "demo", "-w", "default-group", "--min-replicas", "2").stdout
    assert out.endswith("(Scaled minReplicas: 0 to 2)\n")
    out = run("scale", "cluster", "demo", "-w", "default-group", "--max-replicas", "7").stdout
    assert out.endswith("(Scaled maxReplicas: 5 to 7)\n")
    out = run("scale", "cluster", "demo", "-w", "default-group", "-r", "4", "--min-replicas", "1",
              "--max-replicas", "6").stdout
    assert out == ("Updated worker group default-group in Ray cluster demo in namespace default (Scaled minReplicas: "
                   "2 to 1, Scaled maxReplicas: 7 to 6, Scaled Replicas: 3 to 4)\n")
    assert groups(demo)["default-group"] == (1, 6, 4)


def test_nothing_changed_means_no_write(demo):
    result = demo.run("scale", "cluster", "demo", "-w", "gpu-group", "-r", "2", "--max-replicas", "4")
    assert result.exit_code == 0
    assert result.stdout == ("Worker group gpu-group in Ray cluster demo in namespace default already matches the "
                             "requested configuration. Skipping.\n")
    assert demo.emu.writes() == []


def test_namespace_flag(emulator):
    emulator.emu.add(two_group_cluster("other", ) | {"metadata": {"name": "other", "namespace": "team-a"}})
    result = emulator.run("scale", "cluster", "other", "-n", "team-a", "-w", "gpu-group", "-r", "3")
    assert result.stdout.endswith("in Ray cluster other in namespace team-a (Scaled Replicas: 2 to 3)\n")
    assert emulator.emu.get("rayclusters", "team-a", "other")["spec"]["workerGroupSpecs"][1]["replicas"] == 3


# --- conflicts ----------------------------------------------------------------------------------

def test_conflict_on_first_replace_is_retried_from_a_fresh_get(demo):
    demo.emu.fault(status=409, verb="update", resource="rayclusters", times=1, body={
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
        "message": 'Operation cannot be fulfilled on rayclusters.ray.io "demo": the object has been modified'})
    result = demo.run("scale", "cluster", "demo", "-w", "default-group", "-r", "3")
    assert (result.exit_code, result.stderr) == (0, "")
    assert [r.verb for r in demo.emu.requests] == ["get", "update", "get", "update"]
    assert groups(demo)["default-group"] == (0, 5, 3)


def test_a_real_concurrent_write_is_kept(demo):
    """Our first GET returns the object as it was before another writer scaled gpu-group: the PUT gets a
    real 409 from the resourceVersion check, the retry re-reads and keeps the other writer's change."""
    stale = demo.emu.get("rayclusters", "default", "demo")
    current = copy.deepcopy(stale)
    current["spec"]["workerGroupSpecs"][1]["replicas"] = 4  # the other writer
    demo.emu.add(current)
    demo.emu.fault(status=200, body=stale, verb="get", resource="rayclusters", times=1)
    result = demo.run("scale", "cluster", "demo", "-w", "default-group", "-r", "3")
    assert result.exit_code == 0
    assert [r.verb for r in demo.emu.requests] == ["get", "update", "get", "update"]
    assert groups(demo) == {"default-group": (0, 5, 3), "gpu-group": (1, 4, 4)}


def test_persistent_conflict_gives_up_after_bounded_attempts(demo):
    demo.emu.fault(status=409, verb="update", resource="rayclusters", times=None, body={
        "kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"})
    result = demo.run("scale", "cluster", "demo", "-w", "default-group", "-r", "3")
    assert result.exit_code == 1
    assert result.stderr == ("error: failed to update worker group default-group in Ray cluster demo in namespace "
                             "default: the object has been modified (gave up after 5 attempts)\n")
    assert len(demo.emu.requests_where(verb="update")) == 5


# --- autoscaler, dry run ------------------------------------------------------------------------

def test_autoscaler_warning_when_setting_replicas(emulator):
    emulator.emu.add(two_group_cluster(enableInTreeAutoscaling=True))
    result = emulator.run("scale", "cluster", "demo", "-w", "default-group", "-r", "2")
    assert result.exit_code == 0
    assert result.stderr == ("Warning: Ray cluster demo has in-tree autoscaling enabled (spec.enableInTreeAutoscaling): "
                             "the Ray autoscaler owns the replicas of worker group default-group and may change them "
                             "back; use --min-replicas/--max-replicas to bound it instead\n")
    bounds = emulator.run("scale", "cluster", "demo", "-w", "default-group", "--max-replicas", "9")
    assert bounds.exit_code == 0 and bounds.stderr == ""


def test_dry_run_prints_the_new_object_and_writes_nothing(demo):
    result = demo.run("scale", "cluster", "demo", "-w", "gpu-group", "-r", "3", "--dry-run")
    assert result.exit_code == 0
    doc = yaml.safe_load(result.stdout)
    expected = demo.emu.get("rayclusters", "default", "demo")
    expected["spec"]["workerGroupSpecs"][1]["replicas"] = 3
    assert doc == expected
    assert result.stderr == ("Would update worker group gpu-group in Ray cluster demo in namespace default "
                             "(Scaled Replicas: 2 to 3) (dry run)\n")
    assert demo.emu.writes() == []


# --- validations: one clear line, nothing written -----------------------------------------------

@pytest.mark.parametrize("args, code, message", [
    (["-r", "3"], 2, "error: must specify -w/--worker-group\n"),
    (["-w", "default-group"], 2,
     "error: must specify at least one of --replicas, --min-replicas, or --max-replicas (non-negative integers)\n"),
    (["-w", "default-group", "-r", "-5"], 2, "error: --replicas must be a non-negative integer, got -5\n"),
    (["-w", "default-group", "--max-replicas", "-2"], 2, "error: --max-replicas must be a non-negative integer, got -2\n"),
    (["-w", "default-group", "-r", "3000000000"], 2, 'error: invalid argument "3000000000" for "-r, --replicas" flag: '
     'strconv.ParseInt: parsing "3000000000": value out of range (see \'kubectl ray scale cluster --help\')\n'),
    (["-w", "default-group", "--min-replicas", "5", "--max-replicas", "3"], 2,
     "error: --min-replicas (5) cannot be greater than --max-replicas (3)\n"),
    (["-w", "default-group", "-r", "1", "--min-replicas", "2"], 2,
     "error: --replicas (1) cannot be less than --min-replicas (2)\n"),
    (["-w", "default-group", "-r", "9", "--max-replicas", "5"], 2,
     "error: --replicas (9) cannot be greater than --max-replicas (5)\n"),
    (["-w", "nope", "-r", "1"], 1,
     "error: worker group nope not found in Ray cluster demo in namespace default. "
     "Available worker groups: default-group, gpu-group\n"),
    (["-w", "default-group", "-r", "9"], 1, "error: cannot set --replicas (9) greater than --max-replicas (5)\n"),
    (["-w", "gpu-group", "-r", "0"], 1, "error: cannot set --replicas (0) less than --min-replicas (1)\n"),
    (["-w", "default-group", "--max-replicas", "0"], 1,
     "error: cannot set --replicas (1) greater than --max-replicas (0); that is the group's current value: "
     "pass -r/--replicas as well\n"),
    (["-w", "default-group", "--min-replicas", "999"], 1,
     "error: cannot set --min-replicas (999) greater than --max-replicas (5); the other bound is the group's "
     "current value\n"),
])
def test_validation_errors(demo, args, code, message):
    result = demo.run("scale", "cluster", "demo", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", message)
    assert demo.emu.writes() == []


def test_non_integer_replicas_is_a_usage_error(demo):
    result = demo.run("scale", "cluster", "demo", "-w", "default-group", "-r", "two")
    assert result.exit_code == 2
    assert result.stderr == ('error: invalid argument "two" for "-r, --replicas" flag: strconv.ParseInt: parsing '
                             "\"two\": invalid syntax (see 'kubectl ray scale cluster --help')\n")
    assert demo.emu.requests_where() == []


def test_cluster_not_found(demo):
    result = demo.run("scale", "cluster", "nope", "-w", "default-group", "-r", "1")
    assert (result.exit_code, result.stderr) == (1, 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n')
    assert demo.emu.writes() == []


def test_empty_cluster_name(demo):
    result = demo.run("scale", "cluster", "", "-w", "default-group", "-r", "1")
    assert (result.exit_code, result.stderr) == (2, "error: Ray cluster name must not be empty\n")


def test_bare_scale_prints_help(demo):
    result = demo.run("scale")
    assert result.exit_code == 0 and "cluster" in result.stdout


# --- the pure builder ---------------------------------------------------------------------------

def test_scale_worker_group_is_pure_and_touches_one_group():
    cluster = two_group_cluster()
    snapshot = copy.deepcopy(cluster)
    result = scale_worker_group(cluster, ScaleRequest("gpu-group", replicas=3, max_replicas=8))
    assert cluster == snapshot  # input untouched
    assert result.changes == ["Scaled maxReplicas: 4 to 8", "Scaled Replicas: 2 to 3"]
    expected = copy.deepcopy(snapshot)
    expected["spec"]["workerGroupSpecs"][1].update(replicas=3, maxReplicas=8)
    assert result.cluster == expected


def test_missing_fields_take_the_crd_defaults():
    cluster = ray_cluster()
    group = cluster["spec"]["workerGroupSpecs"][0]
    del group["minReplicas"], group["maxReplicas"], group["replicas"]
    result = scale_worker_group(cluster, ScaleRequest("default-group", replicas=0))
    assert result.changes == []  # replicas absent = 0
    result = scale_worker_group(cluster, ScaleRequest("default-group", replicas=2147483647))
    assert result.changes == ["Scaled Replicas: 0 to 2147483647"]


def test_describe_and_validate_request():
    cluster = ray_cluster()
    assert describe(cluster, "g", []) == ("Worker group g in Ray cluster demo in namespace default already matches the "
                                         "requested configuration. Skipping.")
    with pytest.raises(UsageError):
        validate_request(ScaleRequest("g"))
    with pytest.raises(ScaleError, match="Available worker groups: default-group"):
        scale_worker_group(cluster, ScaleRequest("x", replicas=1))
