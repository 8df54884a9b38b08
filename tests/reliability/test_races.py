"""Concurrent writers to one RayCluster: every change lands (resourceVersion conflicts are retried).

Two real `kubectl ray` processes run at the same time; the emulator holds each first read until both arrived, so
they read the same resourceVersion (a barrier), which makes one of the two replaces conflict for certain.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, ray_cluster


def two_group_cluster() -> dict:
    cluster = ray_cluster("demo")
    first = cluster["spec"]["workerGroupSpecs"][0]
    second = dict(first, groupName="gpu-group", replicas=1)
    cluster["spec"]["workerGroupSpecs"] = [first, second]
    return cluster


def run_together(kubeconfig: str, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-m", "kubectl_ray", *args, "--kubeconfig", kubeconfig], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in commands]
    results = []
    for proc, args in zip(procs, commands):
        out, err = proc.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


def _groups(emu) -> dict:
    return {g["groupName"]: g for g in emu.get("rayclusters", "default", "demo")["spec"]["workerGroupSpecs"]}


@pytest.mark.parametrize("attempt", range(3))
def test_two_scales_of_different_groups_both_land(emulator, tally, attempt):
    with tally.case("races"):
        emu = emulator.emu
        emu.add(two_group_cluster())
        emu.fault(verb="get", resource="rayclusters", hold_until=2, times=2)  # both read the same version
        results = run_together(emulator.kubeconfig,
                               ["scale", "cluster", "demo", "-w", "default-group", "-r", "4"],
                               ["scale", "cluster", "demo", "-w", "gpu-group", "-r", "3"])
        assert [r.returncode for r in results] == [0, 0], results
        groups = _groups(emu)
        assert (groups["default-group"]["replicas"], groups["gpu-group"]["replicas"]) == (4, 3)
        statuses = [r.status for r in emu.requests_where(verb="update")]
        assert sorted(statuses) == [200, 200, 409], statuses  # one conflict, retried from a fresh read


def test_create_workergroup_racing_scale(emulator, tally):
    with tally.case("races"):
        emu = emulator.emu
        emu.add(two_group_cluster())
        emu.fault(verb="get", resource="rayclusters", hold_until=2, times=2)
        results = run_together(emulator.kubeconfig,
                               ["create", "workergroup", "extra", "-c", "demo", "--worker-replicas", "2"],
                               ["scale", "cluster", "demo", "-w", "gpu-group", "--max-replicas", "9"])
        assert [r.returncode for r in results] == [0, 0], results
        groups = _groups(emu)
        assert set(groups) == {"default-group", "gpu-group", "extra"}
        assert groups["gpu-group"]["maxReplicas"] == 9 and groups["extra"]["replicas"] == 2
        assert 409 in [r.status for r in emu.requests_where(verb="update")]
