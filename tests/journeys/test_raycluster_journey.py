"""A user's day with a RayCluster, command by command, as typed in a terminal (`kubectl ray ...` through
kubectl's plugin dispatch to the installed kubectl-ray): create --wait, look at it, scale it, add a
group, open a session to the dashboard, run jobs on it, download its logs, diagnose it healthy and
after faults the scheduler and kubelets report, delete it. The Ray head behind every emulated head is
the session's real one; after each write, what kubectl-ray shows is checked against `kubectl get -o json`.
"""

from __future__ import annotations

import re
import signal
import urllib.request

import pytest

from tests.journeys.checks import (
    assert_cluster_shown, assert_groups_shown, assert_job_shown, assert_nodes_shown, debug_findings, pods_of, ready,
)
from tests.journeys.conftest import Shell
from tests.ray_head import RayHead

pytestmark = [pytest.mark.e2e, pytest.mark.kubectl]


def all_ready(sh: Shell, cluster: str, count: int) -> bool:
    pods = pods_of(sh, cluster)
    return len(pods) == count and all(ready(p) for p in pods)


def test_a_day_with_a_raycluster(ray_shell: Shell, ray_head: RayHead) -> None:
    sh = ray_shell

    # create and wait: one stderr line per state, then provisioned
    created = sh.ok("create", "cluster", "demo", "--worker-replicas", "2", "--wait")
    assert "raycluster.ray.io/demo created" in created.out
    assert created.err.strip().splitlines()[-1] == 'RayCluster "demo" is provisioned', created
    obj = assert_cluster_shown(sh, "demo")
    assert obj["status"]["state"] == "ready" and obj["status"]["availableWorkerReplicas"] == 2
    assert obj["metadata"]["generation"] == 1 and obj["status"]["observedGeneration"] == 1
    assert all_ready(sh, "demo", 3)
    assert_groups_shown(sh, "demo")
    assert_nodes_shown(sh, "demo")
    listed = sh.ok("get", "cluster")
    assert re.search(r"^demo\s+2\s+2\s+6\s+0\s+0\s+12Gi\s+RayClusterProvisioned\s+ready\s", listed.out, re.M), listed

    # scale: the operator adds a worker; spec and status follow
    scaled = sh.ok("scale", "cluster", "demo", "-w", "default-group", "-r", "3")
    assert "default-group" in scaled.out, scaled
    sh.until(lambda: all_ready(sh, "demo", 4), "the third worker is ready")
    obj = sh.until(lambda: (o := sh.kubectl_json("get", "raycluster", "demo"))["status"].get(
        "availableWorkerReplicas") == 3 and o, "the status counts 3 workers")
    assert obj["spec"]["workerGroupSpecs"][0]["replicas"] == 3 and obj["metadata"]["generation"] == 2
    assert_cluster_shown(sh, "demo")
    assert_groups_shown(sh, "demo")

    # a second worker group
    sh.ok("create", "workergroup", "extra", "-c", "demo", "--worker-cpu", "1", "--worker-memory", "2Gi")
    sh.until(lambda: all_ready(sh, "demo", 5), "the extra group's worker is ready")
    assert_groups_shown(sh, "demo")
    assert_nodes_shown(sh, "demo")
    sh.until(lambda: sh.kubectl_json("get", "raycluster", "demo")["status"].get("desiredWorkerReplicas") == 4,
             "the status counts the extra worker")
    assert_cluster_shown(sh, "demo")

    # a session to the dashboard: the forward lands on the real Ray head
    session = sh.popen("session", "demo", "--port", "0:8265", "--port", "0:10001")
    try:
        url = _forwarded_url(session)
        with urllib.request.urlopen(url + "/api/version", timeout=30) as resp:
            assert ray_head.ray_version in resp.read().decode()
    finally:
        session.send_signal(signal.SIGINT)
        assert session.wait(30) in (0, 130)

    # jobs on a cluster of their own (InteractiveMode RayJob), through a port-forward to Ray
    (sh.cwd / "greeting.txt").write_text("hello from the working dir\n")
    submitted = sh.ok("job", "submit", "--name", "hello", "--working-dir", ".", "--",
                      "python", "-c", "import ray; ray.init(); print(open('greeting.txt').read().strip(), 'via ray')")
    assert "hello from the working dir via ray\n" in submitted.out, submitted
    job_id = re.search(r"Job (raysubmit_\w+) finished with status SUCCEEDED", submitted.err).group(1)  # type: ignore[union-attr]
    rayjob = sh.until(lambda: (o := sh.kubectl_json("get", "rayjob", "hello"))["status"].get("jobStatus") == "SUCCEEDED"
                      and o, "the operator saw the job succeed")
    assert rayjob["spec"]["jobId"] == job_id == rayjob["status"]["jobId"]
    assert rayjob["status"]["jobDeploymentStatus"] == "Complete"
    assert_job_shown(sh, "hello")
    logs = sh.ok("job", "logs", "hello")
    assert "hello from the working dir via ray" in logs.out

    sh.ok("job", "submit", "--name", "sleeper", "--no-wait", "--", "python", "-c", "import time; time.sleep(120)")
    sleeper = sh.until(lambda: (o := sh.kubectl_json("get", "rayjob", "sleeper"))["status"].get("jobStatus") == "RUNNING"
                       and o, "the sleeper runs")
    stopped = sh.ok("job", "stop", "sleeper")
    assert stopped.out.strip() == f"Ray job {sleeper['status']['jobId']} (RayJob sleeper) stopped: STOPPED", stopped
    sh.until(lambda: sh.kubectl_json("get", "rayjob", "sleeper")["status"].get("jobStatus") == "STOPPED",
             "the operator saw the job stop")
    assert_job_shown(sh, "sleeper")

    # logs: every pod's stdout and the Ray log folder (the real head's session logs)
    downloaded = sh.ok("log", "demo", "--node-type", "head")
    head = next(p for p in pods_of(sh, "demo") if p["metadata"]["labels"]["ray.io/node-type"] == "head")
    folder = sh.cwd / "demo" / head["metadata"]["name"]
    saved = {p.name: p for p in folder.rglob("*") if p.is_file()}
    ray_container = head["spec"]["containers"][0]["name"]
    assert "Ray runtime started." in saved[f"{ray_container}.log"].read_text(), (downloaded, sorted(saved))
    assert {"gcs_server.out", "raylet.out"} & set(saved), sorted(saved)  # the real head's session logs

    # debug: healthy first
    code, findings = debug_findings(sh, "demo")
    assert code == 0 and not [f for f in findings if f[1] == "error"], findings

    # an image that cannot be pulled: the kubelet says ErrImagePull / ImagePullBackOff
    sh.player.unpullable_images.add("rayproject/ray:2.52.0-nope")
    sh.ok("create", "workergroup", "broken", "-c", "demo", "--image", "rayproject/ray:2.52.0-nope",
          "--worker-cpu", "1", "--worker-memory", "2Gi", "--worker-min-replicas", "0")
    sh.until(lambda: any(_waiting(p) == "ImagePullBackOff" for p in pods_of(sh, "demo")), "the pull backs off")
    code, findings = debug_findings(sh, "demo")
    assert code == 1 and findings[0] == ("IMG-01", "error"), findings
    sh.ok("scale", "cluster", "demo", "-w", "broken", "-r", "0")
    sh.until(lambda: not any(p["metadata"]["labels"]["ray.io/group"] == "broken" for p in pods_of(sh, "demo")),
             "the broken group has no pods")

    # a GPU group with no GPU node: the scheduler's FailedScheduling with the per-node reasons
    sh.player.kubelet.state.autoprovision = False
    sh.ok("create", "workergroup", "gpu", "-c", "demo", "--worker-gpu", "1", "--worker-cpu", "1",
          "--worker-min-replicas", "0")
    sh.until(lambda: any(_unschedulable(p) for p in pods_of(sh, "demo")), "the GPU worker is unschedulable")
    pending = next(p for p in pods_of(sh, "demo") if _unschedulable(p))
    assert "Insufficient nvidia.com/gpu" in _unschedulable(pending)
    code, findings = debug_findings(sh, "demo")
    assert code == 1 and findings[0][1] == "error" and findings[0][0] in ("SCH-01", "GPU-02", "GPU-03"), findings
    sh.ok("scale", "cluster", "demo", "-w", "gpu", "-r", "0")

    # the head is OOM-killed over and over
    sh.player.fault("OOMKilled", cluster="demo", node_type="head")
    sh.until(lambda: any(_last_reason(p) == "OOMKilled" for p in pods_of(sh, "demo")), "the head was OOM-killed")
    code, findings = debug_findings(sh, "demo")
    assert code == 1 and findings[0][0] in ("CRASH-01", "CRASH-02") and findings[0][1] == "error", findings
    sh.player.clear_faults()

    # delete and wait: the cluster and, through the garbage collector, its pods and Services go
    deleted = sh.ok("delete", "demo", "rayjob/hello", "rayjob/sleeper", "-y", "--wait")
    assert 'raycluster.ray.io "demo" deleted' in deleted.out, deleted
    assert sh.run("kubectl", "get", "raycluster", "demo").code == 1
    sh.until(lambda: not pods_of(sh, "demo"), "the pods are gone")
    assert not sh.kubectl_json("get", "rayjobs")["items"]
    assert not [s for s in sh.kubectl_json("get", "services")["items"] if s["metadata"]["name"].startswith("demo-")]


def _forwarded_url(session) -> str:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + 60
    lines = []
    assert session.stdout is not None
    while time.monotonic() < deadline:
        line = session.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"Ray Dashboard: (http://127\.0\.0\.1:\d+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no dashboard URL from the session: {lines!r}")


def _waiting(pod: dict) -> str:
    statuses = ((pod.get("status") or {}).get("initContainerStatuses") or []) + \
        ((pod.get("status") or {}).get("containerStatuses") or [])
    return next((((s.get("state") or {}).get("waiting") or {}).get("reason", "") for s in statuses
                 if ((s.get("state") or {}).get("waiting") or {}).get("reason") not in (None, "PodInitializing")), "")


def _unschedulable(pod: dict) -> str:
    return next((c.get("message", "") for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"), "")


def _last_reason(pod: dict) -> str:
    return next((((s.get("lastState") or {}).get("terminated") or {}).get("reason", "")
                 for s in (pod.get("status") or {}).get("containerStatuses") or []
                 if (s.get("lastState") or {}).get("terminated")), "")
