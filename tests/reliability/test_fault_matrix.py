"""Every command under every class of API fault: the documented exit code, one line on stderr naming
what failed, no traceback, and no half-done change.

Fault classes (installed on the emulator): 401, 403 everywhere, KubeRay CRDs missing, one 429 and one
500 on reads (retried, so the command succeeds), persistent 500, 503/409/422 on every write, a server
slower than --request-timeout, a connection reset mid-body, a server that is gone, and one that goes
away between two calls.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import CliResult, EmulatorHandle, ray_cluster, run_cli
from tests.e2e.operator import play_kuberay
from tests.emulator import Emulator
from tests.emulator.state import kuberay_installed
from tests.ray_head import RayHead, ray_head  # noqa: F401  (session fixture)

WRITE_VERBS = ("create", "update", "patch", "delete")
ERROR_PREFIXES = ("error: ", "Error from server")


# --- the commands ------------------------------------------------------------------------------


def running_pod(name: str, node_type: str, group: str = "headgroup") -> dict[str, Any]:
    container = "ray-head" if node_type == "head" else "ray-worker"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"ray.io/cluster": "demo", "ray.io/node-type": node_type, "ray.io/group": group,
                                    "ray.io/is-ray-node": "yes"}},
            "spec": {"containers": [{"name": container, "image": "rayproject/ray:2.52.0"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": container, "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]}}


def load_world(emu: Emulator, tmp: Path) -> None:
    """A small healthy namespace every command can work on (KubeRay v1.7.0 installed)."""
    kuberay_installed(emu)
    cluster = ray_cluster("demo")
    cluster["status"] = {"state": "ready", "head": {"serviceName": "demo-head-svc", "podIP": "10.0.0.2"},
                         "conditions": [{"type": "RayClusterProvisioned", "status": "True", "reason": "AllPodRunningAndReadyFirstTime"},
                                        {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady"}]}
    emu.add(cluster)
    emu.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "demo-head-svc", "namespace": "default",
                                                                 "labels": {"ray.io/cluster": "demo"}},
             "spec": {"ports": [{"name": "dashboard", "port": 8265}]}})
    emu.add(running_pod("demo-head", "head"))
    emu.add(running_pod("demo-worker-1", "worker", "default-group"))
    logs = tmp / "ray-logs"
    logs.mkdir(exist_ok=True)
    (logs / "raylet.out").write_text("raylet started\n")
    for pod, container in (("demo-head", "ray-head"), ("demo-worker-1", "ray-worker")):
        emu.pod_logs[("default", pod, container)] = f"{pod} stdout\n"
        emu.pod_files[("default", pod)] = {"/tmp/ray/session_latest/logs": str(logs)}
    secure = ray_cluster("secure")
    secure["spec"]["authOptions"] = {"mode": "token"}
    emu.add(secure)
    emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secure", "namespace": "default"},
             "data": {"auth_token": "dG9rZW4="}})
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "svc", "namespace": "default"},
             "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}]}})


def submit_ray_job(head: RayHead, submission_id: str) -> None:
    body = json.dumps({"entrypoint": "python -c \"print('hi')\"", "submission_id": submission_id}).encode()
    req = urllib.request.Request(head.dashboard_url + "/api/jobs/", data=body, headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as exc:
        if b"already exists" not in exc.read():
            raise


def add_submitted_rayjob(emu: Emulator, head: RayHead) -> None:
    submit_ray_job(head, "raysubmit_faultmatrix0001")
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "done", "namespace": "default"},
             "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_faultmatrix0001"},
             "status": {"jobId": "raysubmit_faultmatrix0001", "rayClusterName": "demo", "jobStatus": "SUCCEEDED",
                        "jobDeploymentStatus": "Running",
                        "rayClusterStatus": {"head": {"serviceName": "demo-head-svc"}}}})


@dataclass
class Command:
    args: Callable[[Path, RayHead], list[str]]
    writes: bool = False
    # what must still hold after a failed run (a half-done change is a bug)
    unchanged: Callable[[Emulator, dict], None] = lambda emu, before: None
    setup: Callable[[Emulator, RayHead], None] = lambda emu, head: None
    only_failing: bool = False  # succeeding would start something long-running (session)
    entrypoint: tuple[str, ...] = ()  # words after `--` (connection flags must come before them)
    findings_exit: int | None = None  # an exit code that means "problems found and reported on stdout" (debug)
    exit_overrides: dict[str, int] = field(default_factory=dict)


def _spec_of_demo(emu: Emulator) -> Any:
    obj = emu.get("rayclusters", "default", "demo")
    return obj and obj["spec"]


def _same_demo(emu: Emulator, before: dict) -> None:
    assert _spec_of_demo(emu) == before["demo"], "the RayCluster was left half-changed"


def _no_new_cluster(emu: Emulator, before: dict) -> None:
    assert emu.get("rayclusters", "default", "new") is None


def _no_rayjob_unless_said(emu: Emulator, before: dict, stderr: str = "") -> None:
    left = emu.get("rayjobs", "default", "fm")
    assert left is None or "could not delete RayJob" in stderr, "the RayJob was left behind silently"


COMMANDS: dict[str, Command] = {
    "create cluster": Command(lambda tmp, head: ["create", "cluster", "new"], writes=True, unchanged=_no_new_cluster),
    "create workergroup": Command(lambda tmp, head: ["create", "workergroup", "extra", "-c", "demo"], writes=True,
                                  unchanged=_same_demo),
    "get cluster": Command(lambda tmp, head: ["get", "cluster"]),
    "get workergroup": Command(lambda tmp, head: ["get", "workergroup", "-c", "demo"]),
    # Ray nodes are pods: listing them needs no KubeRay CRD
    "get node": Command(lambda tmp, head: ["get", "node"], exit_overrides={"crds-missing": 0}),
    "get job": Command(lambda tmp, head: ["get", "job"]),
    "get service": Command(lambda tmp, head: ["get", "service"]),
    "get token": Command(lambda tmp, head: ["get", "token", "secure"]),
    "scale": Command(lambda tmp, head: ["scale", "cluster", "demo", "-w", "default-group", "-r", "3"], writes=True,
                     unchanged=_same_demo),
    "delete": Command(lambda tmp, head: ["delete", "raycluster/demo", "-y"], writes=True),
    "version": Command(lambda tmp, head: ["version"],
                       # a version lookup that is refused or finds no CRDs still prints the plugin version
                       exit_overrides={"forbidden": 0, "crds-missing": 0}),
    "job submit": Command(lambda tmp, head: ["job", "submit", "--name", "fm", "--address", head.dashboard_url,
                                             "--no-wait", "--cluster-timeout", "20s"],
                          writes=True, setup=lambda emu, head: play_kuberay(emu), entrypoint=("python", "-c", "pass")),
    "job logs": Command(lambda tmp, head: ["job", "logs", "done", "--address", head.dashboard_url],
                        setup=add_submitted_rayjob),
    "job stop": Command(lambda tmp, head: ["job", "stop", "done", "--address", head.dashboard_url, "--no-wait"],
                        setup=add_submitted_rayjob),
    # 3 = the diagnosis could not run; missing CRDs are a finding (OP-01), so 1
    "debug": Command(lambda tmp, head: ["debug", "demo"], findings_exit=1,
                     exit_overrides={f: 3 for f in ("unauthorized", "forbidden", "server-error", "slow-server",
                                                    "reset-mid-body", "server-gone", "gone-between-calls")}),
    "session": Command(lambda tmp, head: ["session", "demo", "--timeout", "3s"], only_failing=True),
    # a RayCluster NAME is resolved through pod labels, as upstream does: no CRD read needed
    "log": Command(lambda tmp, head: ["log", "demo", "--out-dir", str(tmp / "logs")], exit_overrides={"crds-missing": 0}),
}


# --- the faults ------------------------------------------------------------------------------


@dataclass
class FaultClass:
    install: Callable[[EmulatorHandle], None]
    says: tuple[str, ...]  # the error line contains one of these
    kind: str = "fail"  # fail: every command fails | write: only writers fail | ok: all succeed
    extra_args: tuple[str, ...] = ()


def _writes(status: int, body: dict | None = None) -> Callable[[EmulatorHandle], None]:
    def install(handle: EmulatorHandle) -> None:
        for verb in WRITE_VERBS:
            handle.emu.fault(verb=verb, status=status, times=None, body=body)
    return install


CONFLICT = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": 'Operation cannot be fulfilled on rayclusters.ray.io "demo": the object has been modified; '
                       "please apply your changes to the latest version and try again"}
INVALID = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
           "message": 'RayCluster.ray.io "demo" is invalid', "details": {"name": "demo", "kind": "RayCluster", "causes": [
               {"reason": "FieldValueInvalid", "field": "spec.workerGroupSpecs[0].replicas", "message": "Invalid value: 3"}]}}


def _remove_kuberay_crds(handle: EmulatorHandle) -> None:
    handle.emu.registry.remove_group("ray.io")
    for plural in ("rayclusters", "rayjobs", "rayservices"):
        handle.emu.remove("customresourcedefinitions", None, f"{plural}.ray.io")


def _stop(handle: EmulatorHandle) -> None:
    handle.server.stop()


FAULTS: dict[str, FaultClass] = {
    "unauthorized": FaultClass(lambda h: h.emu.fault(status=401, times=None), ("You must be logged in",)),
    "forbidden": FaultClass(lambda h: h.emu.forbid(), ("Forbidden", "forbidden")),
    "crds-missing": FaultClass(_remove_kuberay_crds, ("KubeRay CRDs are not installed", "OP-01")),
    "throttled-once": FaultClass(lambda h: h.emu.fault(status=429, times=1, headers={"Retry-After": "0"}), (), "ok"),
    "read-500-once": FaultClass(lambda h: (h.emu.fault(verb="get", status=500, times=1, headers={"Retry-After": "0"}),
                                           h.emu.fault(verb="list", status=500, times=1, headers={"Retry-After": "0"})), (), "ok"),
    "server-error": FaultClass(lambda h: h.emu.fault(status=500, times=None, headers={"Retry-After": "0"}), ("InternalError",)),
    "write-unavailable": FaultClass(_writes(503), ("ServiceUnavailable", "503"), "write"),
    "write-conflict": FaultClass(_writes(409, CONFLICT), ("Conflict", "the object has been modified", "already exists"), "write"),
    "write-invalid": FaultClass(_writes(422, INVALID), ("invalid",), "write"),
    "slow-server": FaultClass(lambda h: h.emu.fault(delay=2.5, times=None), ("did not answer in time",),
                              extra_args=("--request-timeout", "1s")),
    "reset-mid-body": FaultClass(lambda h: h.emu.fault(reset=True, times=None), ("closed the connection",)),
    "server-gone": FaultClass(_stop, ("was refused",)),
    "gone-between-calls": FaultClass(lambda h: h.emu.fault(shutdown=True, skip=1, times=None),
                                     ("was refused", "closed the connection")),
}


def expected_exit(command: str, fault: str, emu: Emulator | None = None) -> int:
    cmd, cls = COMMANDS[command], FAULTS[fault]
    if fault == "gone-between-calls" and emu is not None and not any(f.hits for f in emu.faults):
        return 0  # the command needed a single call: done before the server went away
    if fault in cmd.exit_overrides:
        return cmd.exit_overrides[fault]
    if cls.kind == "ok" or (cls.kind == "write" and not cmd.writes):
        return 0
    return 1


CASES = [(c, f) for c in COMMANDS for f in FAULTS if not (COMMANDS[c].only_failing and expected_exit(c, f) == 0)]


@pytest.mark.parametrize("command, fault", CASES, ids=[f"{c}/{f}" for c, f in CASES])
def test_fault_matrix(emulator: EmulatorHandle, ray_head: RayHead, tally, tmp_path: Path, command: str, fault: str):  # noqa: F811
    with tally.case(f"fault matrix ({command.split()[0]})"):
        cmd, cls = COMMANDS[command], FAULTS[fault]
        load_world(emulator.emu, tmp_path)
        cmd.setup(emulator.emu, ray_head)
        before = {"demo": _spec_of_demo(emulator.emu)}
        cls.install(emulator)
        (tmp_path / "logs").mkdir()
        tail = ("--", *cmd.entrypoint) if cmd.entrypoint else ()
        result = run_cli(*cmd.args(tmp_path, ray_head), "--kubeconfig", emulator.kubeconfig, *cls.extra_args, *tail)
        check(result, expected_exit(command, fault, emulator.emu), cls, cmd.findings_exit)
        if result.exit_code != 0:
            if command == "job submit":
                _no_rayjob_unless_said(emulator.emu, before, result.stderr)
            cmd.unchanged(emulator.emu, before)


def check(result: CliResult, exit_code: int, cls: FaultClass, findings_exit: int | None = None) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exit_code == exit_code, result
    if exit_code == 0:
        return
    if exit_code == findings_exit:
        assert any(word in result.stdout for word in cls.says), result.stdout
        return
    errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIXES)]
    assert len(errors) == 1, f"expected exactly one error line: {result.stderr!r}"
    assert any(word in result.stderr for word in cls.says), result.stderr  # (log names it per pod, above)


# --- retries of the cleanup when the API goes away mid-submit --------------------------------------


def test_job_submit_that_loses_the_api_says_whether_cleanup_worked(emulator: EmulatorHandle, ray_head: RayHead, tally):  # noqa: F811
    """The RayJob is created, then every later call fails: the cleanup is retried and reported."""
    with tally.case("fault matrix (job)"):
        emu = emulator.emu
        play_kuberay(emu, ready=False)
        emu.fault(verb="get", resource="rayclusters", status=503, times=None, headers={"Retry-After": "0"})
        emu.fault(verb="watch", status=503, times=None, headers={"Retry-After": "0"})
        emu.fault(verb="delete", status=503, times=2)  # the first two cleanup attempts fail too
        result = run_cli("job", "submit", "--name", "fm", "--address", ray_head.dashboard_url, "--no-wait",
                         "--cluster-timeout", "3s", "--kubeconfig", emulator.kubeconfig, "--", "python", "-c", "pass")
        assert result.exit_code == 1, result
        assert 'deleted RayJob "fm" created by this command' in result.stderr
        assert emu.get("rayjobs", "default", "fm") is None
        assert len(emu.requests_where(verb="delete", resource="rayjobs")) == 3


def test_job_submit_cleanup_that_cannot_reach_the_api_says_so(emulator: EmulatorHandle, ray_head: RayHead, tally):  # noqa: F811
    with tally.case("fault matrix (job)"):
        emu = emulator.emu
        play_kuberay(emu, ready=False)
        emu.fault(verb="get", resource="rayclusters", shutdown=True)  # after the RayJob exists, the API goes away
        result = run_cli("job", "submit", "--name", "fm", "--address", ray_head.dashboard_url, "--no-wait",
                         "--cluster-timeout", "5s", "--kubeconfig", emulator.kubeconfig, "--", "python", "-c", "pass")
        assert result.exit_code == 1, result
        assert 'could not delete RayJob "fm" created by this command' in result.stderr
        assert "kubectl ray delete rayjob/fm -n default" in result.stderr
        assert "Traceback" not in result.stderr
