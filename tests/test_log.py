"""`kubectl ray log` through the emulator: pod logs over HTTP, Ray's log folder as tar over the exec WebSocket."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ray_cluster

NS = "default"
RAY_LOGS = "/tmp/ray/session_latest/logs"


def pod(name: str, node_type: str, group: str, containers: list[str], cluster: str = "demo",
        phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS,
                         "labels": {"ray.io/cluster": cluster, "ray.io/node-type": node_type, "ray.io/group": group,
                                    "ray.io/is-ray-node": "yes"}},
            "spec": {"containers": [{"name": c, "image": "rayproject/ray:2.52.0"} for c in containers]},
            "status": {"phase": phase}}


HEAD = "demo-head-abcde"
WORKERS = {"demo-default-group-worker-aaaaa": "default-group", "demo-default-group-worker-bbbbb": "default-group",
           "demo-gpu-group-worker-ccccc": "gpu-group"}


def make_ray_logs(base: Path, pod_name: str) -> Path:
    """A small session_latest/logs folder as Ray writes it."""
    logs = base / "ray" / pod_name / "logs"
    (logs / "old").mkdir(parents=True)
    (logs / "raylet.out").write_text(f"Ray Event initialized for RAYLET on {pod_name}\n")
    (logs / "gcs_server.out").write_text("gcs\n" * 100)
    (logs / "old" / "worker-01.err").write_text("old worker\n")
    return logs


@pytest.fixture
def cluster(emulator, tmp_path):
    """RayCluster demo: a head with the autoscaler sidecar and three workers in two groups."""
    emu = emulator.emu
    emu.add(ray_cluster("demo", NS))
    emu.add(pod(HEAD, "head", "headgroup", ["ray-head", "autoscaler"]))
    emu.pod_logs[(NS, HEAD, "ray-head")] = "Ray runtime started.\nhead line 2\n"
    emu.pod_logs[(NS, HEAD, "autoscaler")] = "autoscaler says hi\n"
    emu.pod_files[(NS, HEAD)] = {RAY_LOGS: str(make_ray_logs(tmp_path, HEAD))}
    for name, group in WORKERS.items():
        emu.add(pod(name, "worker", group, ["ray-worker"]))
        emu.pod_logs[(NS, name, "ray-worker")] = f"worker {name} started\n"
        emu.pod_files[(NS, name)] = {RAY_LOGS: str(make_ray_logs(tmp_path, name))}
    return emu


def files_under(root: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, _, filenames in os.walk(root):
        for filename in filenames:
            path = Path(dirpath) / filename
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def expected_pod_files(name: str, head: bool) -> dict[str, bytes]:
    files = {
        f"{name}/.kubectl-ray-log": b"written by kubectl ray log\n",  # marks the folder as ours for reruns
        f"{name}/raylet.out": f"Ray Event initialized for RAYLET on {name}\n".encode(),
        f"{name}/gcs_server.out": b"gcs\n" * 100,
        f"{name}/old/worker-01.err": b"old worker\n",
    }
    if head:
        files[f"{name}/stdout.log"] = b"Ray runtime started.\nhead line 2\n"
        files[f"{name}/autoscaler.log"] = b"autoscaler says hi\n"
    else:
        files[f"{name}/stdout.log"] = f"worker {name} started\n".encode()
    return files


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


# --- layout -------------------------------------------------------------------------------------------


def test_all_nodes_default_dir_layout(emulator, cluster, workdir):
    result = emulator.run("log", "demo")
    assert result.exit_code == 0, result
    expected = expected_pod_files(HEAD, True)
    for name in WORKERS:
        expected.update(expected_pod_files(name, False))
    assert files_under(workdir / "demo") == expected
    total = sum(len(data) for path, data in expected.items() if not path.endswith("/.kubectl-ray-log"))
    assert result.stdout == f"Saved the logs of 4 pods ({total / 1024:.1f} KiB) to ./demo\n"
    lines = result.stderr.splitlines()
    assert lines[0] == "Downloading logs of 4 head and worker pods of cluster demo to ./demo (4 at a time)"

    def size(name: str, path: str) -> int:
        return len(expected[f"{name}/{path}"])

    def ray(name: str) -> int:
        return sum(size(name, f) for f in ("raylet.out", "gcs_server.out", "old/worker-01.err"))

    assert sorted(line.split("] ", 1)[1] for line in lines[1:]) == sorted([
        f"{HEAD}: stdout.log ({size(HEAD, 'stdout.log')} B), autoscaler.log ({size(HEAD, 'autoscaler.log')} B), "
        f"3 Ray log files ({ray(HEAD)} B)",
        *[f"{name}: stdout.log ({size(name, 'stdout.log')} B), 3 Ray log files ({ray(name)} B)" for name in WORKERS]])
    assert [line.split("]")[0] for line in lines[1:]] == ["[1/4", "[2/4", "[3/4", "[4/4"]


def test_every_container_is_fetched_and_tar_runs_in_the_ray_container_without_stdin(emulator, cluster, workdir):
    emulator.run("log", "demo", "--node-type", "head")
    logs = emulator.emu.requests_where(verb="get", resource="pods/log", name=HEAD)
    assert sorted(r.q("container") for r in logs) == ["autoscaler", "ray-head"]
    execs = emulator.emu.requests_where(verb="exec", name=HEAD)
    assert len(execs) == 1
    assert execs[0].q("container") == "ray-head"
    assert execs[0].query["command"] == ["tar", "--warning=no-file-changed", "-cf", "-", "-C",
                                         "/tmp/ray/session_latest/logs/", "."]
    assert execs[0].q("stdin") in (None, "false", "False")
    assert execs[0].q("stdout") in ("true", "True") and execs[0].q("tty") in (None, "false", "False")


@pytest.mark.parametrize("args, pods", [
    (["--node-type", "head"], [HEAD]),
    (["--node-type", "HEAD"], [HEAD]),
    (["--node-type", "worker"], list(WORKERS)),
    (["--node-type", "all"], [HEAD, *WORKERS]),
    (["--worker-group", "gpu-group"], ["demo-gpu-group-worker-ccccc"]),
    (["--worker-group", "default-group", "--node-type", "worker"],
     ["demo-default-group-worker-aaaaa", "demo-default-group-worker-bbbbb"]),
    (["--worker-group", "gpu-group", "--node-type", "all"], [HEAD, "demo-gpu-group-worker-ccccc"]),
    (["--worker-group", "gpu-group", "--worker-group", "default-group"], list(WORKERS)),
])
def test_node_type_and_worker_group_select_pods(emulator, cluster, workdir, args, pods):
    result = emulator.run("log", "demo", *args)
    assert result.exit_code == 0, result
    assert sorted(os.listdir(workdir / "demo")) == sorted(pods)


def test_out_dir_existing_directory_and_rerun_overwrites_whole(emulator, cluster, tmp_path, workdir):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / HEAD / "stdout.log"
    stale.parent.mkdir()
    (out / HEAD / ".kubectl-ray-log").write_bytes(b"written by kubectl ray log\n")  # an earlier run's folder
    stale.write_bytes(b"x" * 10_000)  # longer than the new log: no tail may survive
    (out / HEAD / "raylet.out").write_bytes(b"y" * 10_000)
    assert emulator.run("log", "demo", "--node-type", "head", "--out-dir", str(out)).exit_code == 0
    assert stale.read_bytes() == b"Ray runtime started.\nhead line 2\n"
    assert (out / HEAD / "raylet.out").read_bytes() == f"Ray Event initialized for RAYLET on {HEAD}\n".encode()
    again = emulator.run("log", "demo", "--node-type", "head", "--out-dir", str(out))
    assert again.exit_code == 0
    assert files_under(out) == expected_pod_files(HEAD, True)
    assert not (workdir / "demo").exists()


def test_rerun_into_the_default_directory_works(emulator, cluster, workdir):
    assert emulator.run("log", "demo", "--node-type", "worker").exit_code == 0
    assert emulator.run("log", "demo", "--node-type", "worker").exit_code == 0
    assert sorted(os.listdir(workdir / "demo")) == sorted(WORKERS)


def test_previous_container_logs(emulator, cluster, workdir):
    emu = emulator.emu
    emu.pod_logs[(NS, HEAD, "ray-head/previous")] = "before the crash\n"
    result = emulator.run("log", "demo", "--node-type", "head", "--previous")
    assert result.exit_code == 0, result
    assert (workdir / "demo" / HEAD / "stdout.log").read_bytes() == b"before the crash\n"
    assert not (workdir / "demo" / HEAD / "autoscaler.log").exists()
    assert "autoscaler: no previous container" in result.stderr
    requests = emu.requests_where(verb="get", resource="pods/log", name=HEAD)
    assert all(r.q("previous") == "true" for r in requests)


@pytest.mark.parametrize("target", ["rayjob/job1", "RayJob/job1", "rayservice/svc1"])
def test_rayjob_and_rayservice_resolve_their_cluster(emulator, cluster, workdir, target):
    emu = emulator.emu
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "job1", "namespace": NS},
             "spec": {}, "status": {"rayClusterName": "demo"}})
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "svc1", "namespace": NS},
             "spec": {}, "status": {"activeServiceStatus": {"rayClusterName": "demo"}}})
    result = emulator.run("log", target, "--node-type", "head")
    assert result.exit_code == 0, result
    name = target.split("/")[1]
    assert os.listdir(workdir / name) == [HEAD]  # folder named after the resource, as upstream


# --- parallelism, failures ---------------------------------------------------------------------------


def track_exec_concurrency(emu, together: int, patience: float = 60.0) -> list[int]:
    """Serve exec as usual once `together` execs are in flight at the server (or after `patience`
    seconds), recording the peak: parallel downloads reach the peak, sequential ones never do. No
    clock is asserted, so a busy machine only makes it slower, never wrong."""
    import asyncio
    import time as clock

    from tests.emulator.server import default_exec

    state = [0, 0, together]  # in flight, peak, how many to wait for (tests may lower it between runs)

    async def handler(emu_, namespace, pod_name, container, command):
        state[0] += 1
        state[1] = max(state[1], state[0])
        try:
            deadline = clock.monotonic() + patience
            while state[1] < state[2] and clock.monotonic() < deadline:
                await asyncio.sleep(0.02)
            async for item in default_exec(emu_, namespace, pod_name, container, command):
                yield item
        finally:
            state[0] -= 1

    emu.exec_handler = handler
    return state


def test_eight_pods_download_in_parallel(emulator, workdir, tmp_path):
    emu = emulator.emu
    emu.add(ray_cluster("big", NS))
    names = [f"big-worker-{i}" for i in range(8)]
    for name in names:
        emu.add(pod(name, "worker", "g", ["ray-worker"], cluster="big"))
        emu.pod_logs[(NS, name, "ray-worker")] = name * 1000
        emu.pod_files[(NS, name)] = {RAY_LOGS: str(make_ray_logs(tmp_path, name))}
    state = track_exec_concurrency(emu, together=8)
    result = emulator.run("log", "big", "--max-concurrency", "8")
    assert result.exit_code == 0, result
    assert state[1] == 8, "all 8 pods should be in flight together"
    assert "(8 at a time)" in result.stderr
    assert sorted(os.listdir(workdir / "big")) == names
    for name in names:
        assert (workdir / "big" / name / "stdout.log").read_text() == name * 1000
        assert (workdir / "big" / name / "raylet.out").read_text() == f"Ray Event initialized for RAYLET on {name}\n"
    state[1:] = [0, 1]
    assert emulator.run("log", "big", "--max-concurrency", "1").exit_code == 0
    assert state[1] == 1


def test_concurrency_is_bounded(emulator, workdir, tmp_path, monkeypatch):
    """At most --max-concurrency pods are in flight: count overlapping downloads in the worker threads."""
    import threading

    from kubectl_ray.kube import podlogs

    emu = emulator.emu
    emu.add(ray_cluster("big", NS))
    for i in range(6):
        name = f"big-worker-{i}"
        emu.add(pod(name, "worker", "g", ["ray-worker"], cluster="big"))
        emu.pod_logs[(NS, name, "ray-worker")] = "x\n"
        emu.pod_files[(NS, name)] = {RAY_LOGS: str(make_ray_logs(tmp_path, name))}
    active, peak, lock = [0], [0], threading.Lock()
    real = podlogs.download_pod_logs

    def counting(*args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.2)
            return real(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(podlogs, "download_pod_logs", counting)
    assert emulator.run("log", "big", "--max-concurrency", "2").exit_code == 0
    assert peak[0] == 2
    peak[0] = 0
    assert emulator.run("log", "big").exit_code == 0
    assert peak[0] == 4  # the default


def test_a_failing_pod_among_good_ones(emulator, cluster, workdir):
    emu = emulator.emu
    bad = "demo-default-group-worker-bbbbb"
    del emu.pod_files[(NS, bad)]  # the emulator answers like a container without tar
    result = emulator.run("log", "demo")
    assert result.exit_code == 1
    assert result.stdout == "Saved the logs of 3 of 4 pods (1.6 KiB) to ./demo\n"
    assert result.stderr.splitlines()[-1] == f"error: 1 of 4 pods failed: {bad} (see the lines above)"
    progress = [line for line in result.stderr.splitlines() if line.startswith("[") and bad in line]
    assert progress == [f"[{progress[0][1]}/4] {bad}: FAILED: could not copy {RAY_LOGS} from container ray-worker: "
                        'OCI runtime exec failed: exec failed: unable to start container process: exec: "tar": '
                        f"executable file not found in $PATH: unknown (saved: stdout.log ({len(f'worker {bad} started') + 1} B))"]
    assert (workdir / "demo" / bad / "stdout.log").read_bytes() == f"worker {bad} started\n".encode()
    for name in [HEAD, "demo-default-group-worker-aaaaa", "demo-gpu-group-worker-ccccc"]:
        assert (workdir / "demo" / name / "raylet.out").exists()


def test_pending_pod_and_missing_log_directory(emulator, cluster, workdir, tmp_path):
    emu = emulator.emu
    emu.add(pod("demo-gpu-group-worker-ddddd", "worker", "gpu-group", ["ray-worker"], phase="Pending"))
    emu.pod_files[(NS, "demo-gpu-group-worker-ccccc")] = {RAY_LOGS: str(tmp_path / "does-not-exist")}
    result = emulator.run("log", "demo", "--worker-group", "gpu-group")
    assert result.exit_code == 1
    lines = {line.split("] ", 1)[1].split(":", 1)[0]: line for line in result.stderr.splitlines() if line.startswith("[")}
    assert "FAILED" in lines["demo-gpu-group-worker-ddddd"]
    assert "unable to upgrade connection: container not found" in lines["demo-gpu-group-worker-ddddd"]
    assert lines["demo-gpu-group-worker-ccccc"].endswith(
        f"FAILED: could not copy {RAY_LOGS} from container ray-worker: command terminated with non-zero exit code: "
        f"error executing command {['tar', '--warning=no-file-changed', '-cf', '-', '-C', RAY_LOGS + '/', '.']}, "
        f"exit code 2; tar said: tar: {tmp_path / 'does-not-exist'}: Cannot open: No such file or directory "
        f"(saved: stdout.log ({len('worker demo-gpu-group-worker-ccccc started') + 1} B))")
    assert result.stderr.splitlines()[-1] == ("error: 2 of 2 pods failed: demo-gpu-group-worker-ccccc, "
                                              "demo-gpu-group-worker-ddddd (see the lines above)")


# --- errors before anything is written -------------------------------------------------------------------


def test_no_pods(emulator, workdir):
    emulator.emu.add(ray_cluster("empty", NS))
    result = emulator.run("log", "empty")
    assert result.exit_code == 1
    assert result.stderr == ('error: No Ray nodes found for resource empty in namespace "default" '
                             "(selector ray.io/cluster=empty)\n")
    assert not (workdir / "empty").exists()


def test_missing_cluster(emulator, workdir):
    result = emulator.run("log", "nope")
    assert result.exit_code == 1
    assert result.stderr == 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'
    assert not (workdir / "nope").exists()


def test_unknown_worker_group(emulator, cluster, workdir):
    result = emulator.run("log", "demo", "--worker-group", "tpu")
    assert result.exit_code == 1
    assert result.stderr == ('error: No Ray nodes found for resource demo in namespace "default" (selector '
                             "ray.io/cluster=demo,ray.io/node-type=worker,ray.io/group in (tpu), worker group tpu)\n")


def test_rayjob_without_cluster(emulator, workdir):
    emulator.emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "young", "namespace": NS},
                      "spec": {}})
    result = emulator.run("log", "rayjob/young")
    assert result.exit_code == 1
    assert result.stderr.startswith('error: RayJob "young" has no RayCluster yet (status.rayClusterName is empty)')


@pytest.mark.parametrize("make, flag_value, message", [
    (None, "missing", "error: Directory does not exist. --out-dir {p} was not found; create it first, or leave out "
                      "--out-dir to use ./NAME"),
    ("file", "afile", "error: Path is not a directory. --out-dir {p} is a file; please give a directory"),
])
def test_out_dir_must_be_an_existing_directory(emulator, cluster, tmp_path, workdir, make, flag_value, message):
    path = tmp_path / flag_value
    if make == "file":
        path.write_text("x")
    result = emulator.run("log", "demo", "--out-dir", str(path))
    assert result.exit_code == 2
    assert result.stderr == message.format(p=path) + "\n"
    assert emulator.emu.requests_where(verb="list", resource="pods") == []


def test_default_dir_that_is_a_file_is_refused(emulator, cluster, workdir):
    (workdir / "demo").write_text("not a dir")
    result = emulator.run("log", "demo")
    assert result.exit_code == 2
    assert result.stderr == ("error: Path is not a directory. ./demo exists and is not a directory; pass --out-dir DIR "
                             "to save the logs elsewhere\n")
    assert (workdir / "demo").read_text() == "not a dir"


@pytest.mark.parametrize("args, message", [
    (["--worker-group", "g", "--node-type", "head"],
     "error: --worker-group selects worker pods; it cannot be combined with --node-type head"),
    (["--worker-group", "bad group!"], "error: invalid --worker-group value 'bad group!' for key 'ray.io/group'"),
    (["--node-type", "gpu"], "error: Invalid value for '--node-type'"),
    (["--max-concurrency", "0"], "error: Invalid value for '--max-concurrency'"),
])
def test_bad_flags(emulator, cluster, workdir, args, message):
    result = emulator.run("log", "demo", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_logs_alias(emulator, cluster, workdir):
    assert emulator.run("logs", "demo", "--node-type", "head").exit_code == 0
    assert (workdir / "demo" / HEAD / "stdout.log").exists()


# --- malicious pods ---------------------------------------------------------------------------------------


def tar_stream(entries: list[tuple[str, str, bytes, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, kind, data, link in entries:
            info = tarfile.TarInfo(name)
            info.type = {"file": tarfile.REGTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE, "dir": tarfile.DIRTYPE}[kind]
            info.linkname = link
            info.size = len(data) if kind == "file" else 0
            archive.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buf.getvalue()


MALICIOUS_PODS = {
    "absolute path": ([("ABS/victim.txt", "file", b"pwned", "")], ["skipping absolute path 'ABS/victim.txt'"]),
    "../../x": ([("../../x", "file", b"pwned", "")], ["skipping path outside the destination '../../x'"]),
    "../ into a sibling pod": ([("../demo-worker-good/stdout.log", "file", b"pwned", "")],
                               ["skipping path outside the destination '../demo-worker-good/stdout.log'"]),
    "symlink to /etc": ([("etc", "symlink", b"", "/etc"), ("etc/kubectl-ray-test-pwned", "file", b"pwned", "")],
                        ["skipping symlink 'etc' -> '/etc'"]),
    "symlink then file through it": ([("out", "symlink", b"", "ABS"), ("out/victim.txt", "file", b"pwned", "")],
                                     ["skipping symlink 'out' -> 'ABS'"]),
    "hard link outside": ([("h", "hardlink", b"", "../../victim.txt")], ["skipping hard link 'h' -> '../../victim.txt'"]),
    "device": ([("dev/mem", "chr", b"", "")], ["skipping character device 'dev/mem'"]),
    "fifo": ([("fifo", "fifo", b"", "")], ["skipping fifo 'fifo'"]),
}


def snapshot(root: Path, skip: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if path == skip:
                continue
            info = os.lstat(path)
            found[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode),
                                                  path.read_bytes() if stat.S_ISREG(info.st_mode) else None)
    return found


@pytest.mark.parametrize("case", sorted(MALICIOUS_PODS))
def test_malicious_pod_cannot_write_outside_its_folder(emulator, tmp_path, workdir, case):
    emu = emulator.emu
    emu.add(ray_cluster("demo", NS))
    evil, good = "demo-worker-evil", "demo-worker-good"
    for name in (evil, good):
        emu.add(pod(name, "worker", "g", ["ray-worker"]))
        emu.pod_logs[(NS, name, "ray-worker")] = f"{name}\n"
    emu.pod_files[(NS, good)] = {RAY_LOGS: str(make_ray_logs(tmp_path, good))}
    (workdir / "victim.txt").write_text("original\n")
    entries, skips = MALICIOUS_PODS[case]
    entries = [(n.replace("ABS", str(workdir)), k, d, link.replace("ABS", str(workdir))) for n, k, d, link in entries]
    emu.exec_streams = {(NS, evil): tar_stream(entries + [("./raylet.out", "file", b"fine\n", "")])}
    etc_before = set(os.listdir("/etc"))
    before = snapshot(tmp_path, workdir / "demo" / evil)

    result = emulator.run("log", "demo", "--max-concurrency", "1")

    assert result.exit_code == 0, result
    after = snapshot(tmp_path, workdir / "demo" / evil)
    new = {k: v for k, v in after.items() if k not in before}
    assert all(k.startswith(f"cwd/demo/{good}") or k in ("cwd/demo",) for k in new), new
    assert {k: after[k] for k in before} == before, "an existing file outside the pod folder changed"
    assert (workdir / "demo" / good / "stdout.log").read_text() == f"{good}\n"
    assert set(os.listdir("/etc")) == etc_before
    for skip in skips:
        assert f"warning: {evil}: {skip.replace('ABS', str(workdir))}" in result.stderr.splitlines()
    assert (workdir / "demo" / evil / "raylet.out").read_text() == "fine\n"
    assert f"{len(skips)} unsafe entr" in result.stderr


def test_corrupt_stream_fails_that_pod(emulator, workdir):
    emu = emulator.emu
    emu.add(ray_cluster("demo", NS))
    emu.add(pod("demo-head-x", "head", "headgroup", ["ray-head"]))
    emu.pod_logs[(NS, "demo-head-x", "ray-head")] = "ok\n"
    emu.exec_streams = {(NS, "demo-head-x"): b"garbage that is not a tar archive" * 100}
    result = emulator.run("log", "demo")
    assert result.exit_code == 1
    assert (f"FAILED: {RAY_LOGS} from container ray-head: the archive is corrupt or truncated"
            in result.stderr)


def test_ctrl_c_stops_downloads_and_exits_130(emulator, workdir):
    """SIGINT to a real `kubectl ray log` process while pods are still streaming."""
    import asyncio
    import signal
    import subprocess
    import sys

    emu = emulator.emu
    emu.add(ray_cluster("slow", NS))
    for i in range(3):
        name = f"slow-worker-{i}"
        emu.add(pod(name, "worker", "g", ["ray-worker"], cluster="slow"))
        emu.pod_logs[(NS, name, "ray-worker")] = "ok\n"

    async def endless_tar(emu_, namespace, pod_name, container, command):
        header = tarfile.TarInfo("./raylet.out")
        header.size = 1 << 40  # never finishes
        yield 1, header.tobuf()
        while True:
            await asyncio.sleep(0.05)
            yield 1, b"x" * 65536

    emu.exec_handler = endless_tar
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_ray", "log", "slow", "--kubeconfig", emulator.kubeconfig],
                            cwd=workdir, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # a bound for a hung test, not a measurement
        target = workdir / "slow" / "slow-worker-0" / "raylet.out"
        while not (target.exists() and target.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists(), proc.stderr.read() if proc.poll() is not None else "download never started"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)  # responsive, not hanging: a bound, not a measurement
        assert code == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tar_exit_1_for_changed_files_is_a_warning_not_a_failure(emulator, workdir):
    """GNU tar exits 1 when a file changed while it was read, which Ray's live logs do all the time."""
    emu = emulator.emu
    emu.add(ray_cluster("demo", NS))
    emu.add(pod("demo-head-x", "head", "headgroup", ["ray-head"]))
    emu.pod_logs[(NS, "demo-head-x", "ray-head")] = "ok\n"
    archive = tar_stream([("./raylet.out", "file", b"still growing\n", "")])

    async def tar_exit_1(emu_, namespace, pod_name, container, command):
        yield 1, archive
        yield 2, b"tar: ./raylet.out: file changed as we read it\n"
        yield 3, {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                  "message": f"command terminated with non-zero exit code: error executing command {command}, exit code 1",
                  "details": {"causes": [{"reason": "ExitCode", "message": "1"}]}}

    emu.exec_handler = tar_exit_1
    result = emulator.run("log", "demo")
    assert result.exit_code == 0, result
    assert (workdir / "demo" / "demo-head-x" / "raylet.out").read_bytes() == b"still growing\n"
    assert result.stderr.splitlines()[1] == ("[1/1] demo-head-x: stdout.log (3 B), 1 Ray log file (14 B); tar reported "
                                             "files that changed while being copied: tar: ./raylet.out: file changed "
                                             "as we read it")


def test_exec_stream_is_not_kept_in_memory_by_the_websocket_client(emulator, tmp_path):
    """kubernetes' WSClient copies all output into `_all` for read_all(); ExecSession must drop that copy."""
    from kubectl_ray.kube import connect
    from kubectl_ray.kube.flags import ConnectionFlags
    from kubectl_ray.kube.k8s_transport import exec_in_pod

    emu = emulator.emu
    emu.add(pod("p", "head", "headgroup", ["ray-head"]))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "big.log").write_bytes(os.urandom(3 << 20))
    emu.pod_files[(NS, "p")] = {RAY_LOGS: str(logs)}
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    session = exec_in_pod(kube.config, "p", NS, ["tar", "-cf", "-", "-C", RAY_LOGS, "."], "ray-head")
    received = sum(len(chunk) for chunk in session.stdout_chunks())
    assert received > 3 << 20
    assert session.failure() is None
    assert session._ws._all.getvalue() == b""


def test_a_folder_with_unrelated_files_is_not_overwritten_without_the_flag(emulator, tmp_path):
    """`--out-dir ~` must not clobber an unrelated folder that happens to share a pod's name."""
    from kubectl_ray.kube.podlogs import OWNER_MARKER

    emu = emulator.emu
    emu.add(pod("demo-head-abc", "head", "headgroup", ["ray-head"]))
    emu.pod_logs[(NS, "demo-head-abc", "ray-head")] = "fresh\n"
    emu.pod_files[(NS, "demo-head-abc")] = {RAY_LOGS: str(make_ray_logs(tmp_path, "demo-head-abc"))}
    out = tmp_path / "out"
    (out / "demo-head-abc").mkdir(parents=True)
    precious = out / "demo-head-abc" / "stdout.log"
    precious.write_text("not a log: keep me\n")
    result = emulator.run("log", "demo", "--out-dir", str(out))
    assert result.exit_code == 1
    assert "refusing to overwrite them (pass --overwrite" in result.stderr
    assert precious.read_text() == "not a log: keep me\n"
    assert emulator.run("log", "demo", "--out-dir", str(out), "--overwrite").exit_code == 0
    assert precious.read_text() == "fresh\n"
    assert (out / "demo-head-abc" / OWNER_MARKER).exists()
    precious.write_text("stale from the last run\n")  # a folder written by an earlier run is ours to overwrite
    assert emulator.run("log", "demo", "--out-dir", str(out)).exit_code == 0
    assert precious.read_text() == "fresh\n"
