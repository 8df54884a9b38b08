"""`get`'s kubectl flags against the real kubectl over the emulator: -o jsonpath / jsonpath-as-json /
custom-columns (+ -file forms), --sort-by, -L/--show-labels, TYPE/NAME and kubectl's resource names,
and -w printing rows as objects change."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import EmulatorHandle, REPO
from tests.test_get import default_namespace, ml_team_namespace

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
OURS_TYPE = {"rayclusters": "cluster", "raycluster": "cluster", "rayjobs": "job", "rayservices": "service"}


@pytest.fixture
def world(emulator: EmulatorHandle, frozen_now) -> EmulatorHandle:
    emulator.emu.add_all(default_namespace() + ml_team_namespace())
    emulator.emu.clear_requests()
    return emulator


def kubectl(world: EmulatorHandle, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KUBECACHEDIR=str(tmp_path / "kubectl-cache"))
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, *args, "--kubeconfig", world.kubeconfig], capture_output=True, text=True,
                          env=env, timeout=120)


PARITY = {
    "names": ["get", "rayclusters", "-o", "jsonpath={.items[*].metadata.name}"],
    "range-tab-newline": ["get", "rayclusters", "-A", "-o",
                          'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.spec.rayVersion}{"\\n"}{end}'],
    "filter": ["get", "rayclusters", "-o",
               'jsonpath={.items[?(@.metadata.name=="raycluster-kuberay")].spec.headGroupSpec.rayStartParams}'],
    "filter-number": ["get", "rayclusters", "-A", "-o",
                      "jsonpath={.items[?(@.spec.workerGroupSpecs[0].replicas>1)].metadata.name}"],
    "recursive": ["get", "rayclusters", "-A", "-o", "jsonpath={..groupName}"],
    "numbers": ["get", "rayclusters", "-A", "-o", "jsonpath={.items[*].spec.workerGroupSpecs[*].replicas}"],
    "list-envelope": ["get", "rayclusters", "-o", "jsonpath={.kind} {.apiVersion} {.metadata}"],
    "maps": ["get", "rayclusters", "-o", "jsonpath={.items[*].spec.headGroupSpec.template.spec.containers[0].resources}"],
    "slices": ["get", "rayclusters", "-o",
               "jsonpath={.items[-1:].metadata.name}{.items[0:1].metadata.name}{.items[::2].metadata.name}"],
    "whole": ["get", "rayclusters", "-o", "jsonpath={@}"],
    "single-object": ["get", "raycluster", "raycluster-kuberay", "-o",
                      "jsonpath={.metadata.name} {.spec.workerGroupSpecs[0]}"],
    "as-json": ["get", "rayclusters", "-o", "jsonpath-as-json={.items[*].metadata.labels}"],
    "jobs": ["get", "rayjobs", "-A", "-o", "jsonpath={.items[*].status.jobStatus}"],
    "services": ["get", "rayservices", "-A", "-o", "jsonpath={.items[0].metadata.name}"],
    "custom-columns": ["get", "rayclusters", "-A", "-o",
                       "custom-columns=NAME:.metadata.name,RAY:.spec.rayVersion,GROUPS:.spec.workerGroupSpecs[*]."
                       "groupName,LABELS:.metadata.labels,NOPE:.x,COND:.status.conditions[0]"],
    "custom-columns-no-headers": ["get", "rayclusters", "-A", "--no-headers", "-o",
                                  "custom-columns=NAME:.metadata.name,REPL:.spec.workerGroupSpecs[0].replicas"],
    "custom-columns-single": ["get", "raycluster", "raycluster-kuberay", "-o", "custom-columns=N:metadata.name"],
    "sort-by-number": ["get", "rayclusters", "-A", "-o", "custom-columns=NAME:.metadata.name,REPL:.spec."
                       "workerGroupSpecs[0].replicas", "--sort-by", ".spec.workerGroupSpecs[0].replicas"],
    "sort-by-name": ["get", "rayclusters", "-A", "-o", "name", "--sort-by", "{.metadata.name}"],
    "sort-by-quantity": ["get", "rayclusters", "-A", "-o", "name", "--sort-by", "{.status.desiredMemory}"],
    "sort-by-time": ["get", "rayclusters", "-A", "-o", "name", "--sort-by", ".metadata.creationTimestamp"],
    "json": ["get", "rayclusters", "-n", "ml-team", "-o", "json"],
}


@needs_kubectl
@pytest.mark.kubectl
@pytest.mark.parametrize("case", PARITY)
def test_output_flags_print_what_kubectl_prints(world, tmp_path, case):
    args = PARITY[case]
    expected = kubectl(world, tmp_path, *args)
    ours = world.run("get", OURS_TYPE[args[1]], *args[2:])
    assert expected.returncode == 0, expected.stderr
    assert (ours.exit_code, ours.stdout, ours.stderr) == (0, expected.stdout, "")


@needs_kubectl
@pytest.mark.kubectl
@pytest.mark.parametrize("args", [
    ["-o", "jsonpath={.items[5]}"],
    ["-o", "jsonpath={.items[0].metadata.name[0]}"],
    ["-o", "jsonpath={.items[*].metadata.name} {end}"],
    ["-o", "jsonpath={.items[*].metadata.name"],
    ["-o", "name", "--sort-by", "{.nope}"],
])
def test_template_errors_are_kubectls_first_line(world, tmp_path, args):
    expected = kubectl(world, tmp_path, "get", "rayclusters", *args)
    ours = world.run("get", "cluster", *args)
    assert expected.returncode != 0 and ours.exit_code != 0 and ours.stdout == ""
    first = expected.stderr.split(". Printing more information")[0].splitlines()[0]
    assert ours.stderr == first + "\n"


@needs_kubectl
@pytest.mark.kubectl
def test_file_forms_read_their_templates(world, tmp_path):
    (tmp_path / "names.jsonpath").write_text('{range .items[*]}{.metadata.name}{"\\n"}{end}')
    (tmp_path / "columns.txt").write_text("NAME   RAY\n.metadata.name   {.spec.rayVersion}\n")
    for args in (["-o", f"jsonpath-file={tmp_path / 'names.jsonpath'}"],
                 ["-o", f"custom-columns-file={tmp_path / 'columns.txt'}"],
                 ["-o", f"custom-columns-file={tmp_path / 'columns.txt'}", "--no-headers"]):
        expected = kubectl(world, tmp_path, "get", "rayclusters", "-A", *args)
        assert world.run("get", "clusters", "-A", *args).stdout == expected.stdout != ""


@needs_kubectl
@pytest.mark.kubectl
@pytest.mark.parametrize("resource, ours", [
    ("rayclusters", "rayclusters"), ("raycluster", "RayCluster"), ("rayclusters.ray.io", "rayclusters.ray.io"),
    ("rayclusters.v1.ray.io", "raycluster.v1.ray.io"), ("rayjobs", "rayjob"), ("rayservices.ray.io", "rayservices"),
])
def test_kubectls_resource_names_work(world, tmp_path, resource, ours):
    expected = kubectl(world, tmp_path, "get", resource, "-A", "-o", "name")
    assert world.run("get", ours, "-A", "-o", "name").stdout == expected.stdout != ""


@needs_kubectl
@pytest.mark.kubectl
@pytest.mark.parametrize("ours", [["raycluster/raycluster-kuberay"], ["RayCluster/raycluster-kuberay"],
                                  ["rayclusters", "raycluster-kuberay"], ["cluster/raycluster-kuberay"],
                                  ["rayclusters.ray.io/raycluster-kuberay"]])
def test_type_slash_name_is_one_object(world, tmp_path, ours):
    expected = kubectl(world, tmp_path, "get", "raycluster/raycluster-kuberay", "-o", "json")
    assert world.run("get", *ours, "-o", "json").stdout == expected.stdout


@needs_kubectl
@pytest.mark.kubectl
def test_label_columns_hold_kubectls_values(world, tmp_path):
    """kubectl shows no Ray columns (the emulator serves no Table), so compare the label cells only."""
    args = ["-A", "-L", "team,missing", "-L", "ray.io/cluster", "--show-labels"]
    expected = kubectl(world, tmp_path, "get", "rayclusters", *args).stdout.splitlines()
    ours = world.run("get", "clusters", *args).stdout.splitlines()
    assert ours[0].split()[-4:] == expected[0].split()[-4:] == ["TEAM", "MISSING", "CLUSTER", "LABELS"]
    width = len(expected[0]) - expected[0].index("TEAM")  # the label columns, as kubectl lays them out
    assert [line[-width:] for line in ours[1:]] == [line[-width:] for line in expected[1:]]


def test_sort_by_orders_table_rows(world):
    result = world.run("get", "clusters", "-A", "--no-headers", "--sort-by", "{.status.desiredCPU}")
    assert [line.split()[1] for line in result.stdout.splitlines()] == [  # as quantities: 500m 2 8 10 36
        "raycluster-complete", "raycluster-kuberay", "ray-cluster-with-auth", "raycluster-tpu-v4-multihost",
        "verl-cluster"]


def test_several_names_print_what_exists_then_kubectls_not_found(world):
    result = world.run("get", "cluster", "raycluster-kuberay", "nope", "-o", "name")
    assert (result.exit_code, result.stdout) == (1, "raycluster.ray.io/raycluster-kuberay\n")
    assert result.stderr == 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'


# --- -w ------------------------------------------------------------------------------------------

class Watching:
    """A `get -w` process whose stdout lines arrive on a queue."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def take(self, count: int, timeout: float = 60) -> list[str]:
        return [self.lines.get(timeout=timeout) for _ in range(count)]

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()


@pytest.fixture
def watching(world, tmp_path) -> Iterator:
    started: list[Watching] = []
    env = dict(os.environ, KUBECACHEDIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))

    def start(*argv: str) -> Watching:
        proc = Watching([*argv, "--kubeconfig", world.kubeconfig], env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def wait_for_watchers(world, count: int) -> None:
    def watching() -> int:
        return sum(w.resource_key.endswith("rayclusters") for w in world.emu.watchers)

    deadline = time.monotonic() + 60  # a bound for a hung test: it ends as soon as the watches are open
    while watching() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watching() >= count, "the watches never started"


def change_two_clusters(world) -> None:
    status = dict(world.emu.get("rayclusters", "default", "raycluster-kuberay")["status"], state="suspended")
    world.emu.update_status("rayclusters", "default", "raycluster-kuberay", status)
    world.emu.remove("rayclusters", "default", "ray-cluster-with-auth")


@needs_kubectl
@pytest.mark.kubectl
def test_watch_prints_each_change_like_kubectl(world, watching):
    ours = watching(sys.executable, "-m", "kubectl_ray", "get", "clusters", "-w", "-o", "name")
    theirs = watching(KUBECTL, "get", "rayclusters", "-w", "-o", "name")
    template = 'jsonpath={.metadata.name} {.status.state}{"\\n"}'
    ours_path = watching(sys.executable, "-m", "kubectl_ray", "get", "raycluster/raycluster-kuberay", "-w", "-o", template)
    theirs_path = watching(KUBECTL, "get", "raycluster/raycluster-kuberay", "-w", "-o", template)
    assert ours.take(2) == theirs.take(2) == ["raycluster.ray.io/ray-cluster-with-auth\n",
                                             "raycluster.ray.io/raycluster-kuberay\n"]
    assert ours_path.take(1) == theirs_path.take(1) == ["raycluster-kuberay ready\n"]
    wait_for_watchers(world, 4)
    change_two_clusters(world)
    assert ours.take(2) == theirs.take(2) == ["raycluster.ray.io/raycluster-kuberay\n",
                                             "raycluster.ray.io/ray-cluster-with-auth\n"]
    assert ours_path.take(1) == theirs_path.take(1) == ["raycluster-kuberay suspended\n"]
    code, stderr = ours.stop()
    assert code == 130 and "Traceback" not in stderr


def test_watch_prints_table_rows_as_they_change(world, watching):
    ours = watching(sys.executable, "-m", "kubectl_ray", "get", "clusters", "-w")
    header, first, second = ours.take(3)
    assert header.split()[:2] == ["NAME", "DESIRED"] and first.startswith("ray-cluster-with-auth ")
    wait_for_watchers(world, 1)
    change_two_clusters(world)
    changed, deleted = ours.take(2)
    assert changed.split()[0] == "raycluster-kuberay" and "suspended" in changed.split()
    assert deleted.startswith("ray-cluster-with-auth ")
    assert changed.index("RayClusterProvisioned") == second.index("RayClusterProvisioned")  # widths remembered
