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
        f"{name}/ray/raylet.out": f"Ray Event initialized for RAYLET on {name}\n".encode(),
        f"{name}/ray/gcs_server.out": b"gcs\n" * 100,
        f"{name}/ray/old/worker-01.err": b"old worker\n",
    }
    if head:
        files[f"{name}/containers/ray-head.log"] = b"Ray runtime started.\nhead line 2\n"
        files[f"{name}/containers/autoscaler.log"] = b"autoscaler says hi\n"
    else:
        files[f"{name}/containers/ray-worker.log"] = f"worker {name} started\n".encode()
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
        return sum(size(name, f"ray/{f}") for f in ("raylet.out", "gcs_server.out", "old/worker-01.err"))

    head_log, sidecar, worker_log = "containers/ray-head.log", "containers/autoscaler.log", "containers/ray-worker.log"
    assert sorted(line.split("] ", 1)[1] for line in lines[1:]) == sorted([
        f"{HEAD}: {head_log} ({size(HEAD, head_log)} B), {sidecar} ({size(HEAD, sidecar)} B), "
        f"3 Ray log files ({ray(HEAD)} B)",
        *[f"{name}: {worker_log} ({size(name, worker_log)} B), 3 Ray log files ({ray(name)} B)" for name in WORKERS]])
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
    stale = out / HEAD / "containers" / "ray-head.log"
    (out / HEAD / "ray").mkdir(parents=True)
    stale.parent.mkdir()
    (out / HEAD / ".kubectl-ray-log").write_bytes(b"written by kubectl ray log\n")  # an earlier run's folder
    stale.write_bytes(b"x" * 10_000)  # longer than the new log: no tail may survive
    (out / HEAD / "ray" / "raylet.out").write_bytes(b"y" * 10_000)
    assert emulator.run("log", "demo", "--node-type", "head", "--out-dir", str(out)).exit_code == 0
    assert stale.read_bytes() == b"Ray runtime started.\nhead line 2\n"
    assert (out / HEAD / "ray" / "raylet.out").read_bytes() == f"Ray Event initialized for RAYLET on {HEAD}\n".encode()
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
    assert (workdir / "demo" / HEAD / "containers" / "ray-head.log").read_bytes() == b"before the crash\n"
    assert not (workdir / "demo" / HEAD / "containers" / "autoscaler.log").exists()
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
        assert (workdir / "big" / name / "containers" / "ray-worker.log").read_text() == name * 1000
        assert (workdir / "big" / name / "ray" / "raylet.out").read_text() == \
            f"Ray Event initialized for RAYLET on {name}\n"
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
                        f"executable file not found in $PATH: unknown (saved: containers/ray-worker.log "
                        f"({len(f'worker {bad} started') + 1} B))"]
    assert (workdir / "demo" / bad / "containers" / "ray-worker.log").read_bytes() == f"worker {bad} started\n".encode()
    for name in [HEAD, "demo-default-group-worker-aaaaa", "demo-gpu-group-worker-ccccc"]:
        assert (workdir / "demo" / name / "ray" / "raylet.out").exists()


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
        f"(saved: containers/ray-worker.log ({len('worker demo-gpu-group-worker-ccccc started') + 1} B))")
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


def test_out_dir_that_is_a_file_is_refused_before_any_request(emulator, cluster, tmp_path, workdir):
    path = tmp_path / "afile"
    path.write_text("x")
    result = emulator.run("log", "demo", "--out-dir", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: Path is not a directory. --out-dir {path} is a file; please give a directory\n"
    assert emulator.emu.requests_where(verb="list", resource="pods") == []


def test_missing_out_dir_is_created_with_its_parents(emulator, cluster, tmp_path, workdir):
    """Issue 15: the README's own `--out-dir /tmp/ray-logs` example failed on a fresh machine."""
    out = tmp_path / "fresh" / "ray-logs"
    result = emulator.run("log", "demo", "--node-type", "head", "--out-dir", str(out))
    assert result.exit_code == 0, result
    assert files_under(out) == expected_pod_files(HEAD, True)
    assert result.stdout.endswith(f" to {out}\n")


def test_missing_out_dir_is_not_created_when_there_is_nothing_to_save(emulator, tmp_path, workdir):
    out = tmp_path / "fresh"
    result = emulator.run("log", "nope", "--out-dir", str(out))
    assert result.exit_code == 1 and 'rayclusters.ray.io "nope" not found' in result.stderr
    assert not out.exists()


def test_out_dir_that_cannot_be_created_is_one_error_line(emulator, cluster, tmp_path, workdir):
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "logs"
    result = emulator.run("log", "demo", "--out-dir", str(out))
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot create directory {out}: Not a directory\n"


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
    assert (workdir / "demo" / HEAD / "containers" / "ray-head.log").exists()


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
    "../ into a sibling pod": ([("../../demo-worker-good/containers/ray-worker.log", "file", b"pwned", "")],
                               ["skipping path outside the destination "
                                "'../../demo-worker-good/containers/ray-worker.log'"]),
    "../ into its own container logs": ([("../containers/ray-worker.log", "file", b"pwned", "")],
                                        ["skipping path outside the destination '../containers/ray-worker.log'"]),
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
    assert (workdir / "demo" / good / "containers" / "ray-worker.log").read_text() == f"{good}\n"
    assert set(os.listdir("/etc")) == etc_before
    for skip in skips:
        assert f"warning: {evil}: {skip.replace('ABS', str(workdir))}" in result.stderr.splitlines()
    assert (workdir / "demo" / evil / "ray" / "raylet.out").read_text() == "fine\n"
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
        target = workdir / "slow" / "slow-worker-0" / "ray" / "raylet.out"
        while not (target.exists() and target.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists(), proc.stderr.read() if proc.poll() is not None else "download never started"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130  # responsive, not hanging: a bound, not a measurement
        assert not target.exists(), "the partly written file is removed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_is_not_held_up_by_a_stalled_container_log(emulator, workdir):
    """A log stream the server stalls (64 KiB chunks at 1 KB/s) blocks its worker in a read: Ctrl-C still ends."""
    import signal
    import subprocess
    import sys

    emu = emulator.emu
    emu.add(ray_cluster("slow", NS))
    emu.add(pod("slow-worker-0", "worker", "g", ["ray-worker"], cluster="slow"))

    def stalled():
        yield b"first line\n"
        for _ in range(100):
            yield b"y" * 65536

    emu.pod_logs[(NS, "slow-worker-0", "ray-worker")] = stalled
    emu.stream_rate = 1000.0
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_ray", "log", "slow", "--kubeconfig", emulator.kubeconfig],
                            cwd=workdir, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        target = workdir / "slow" / "slow-worker-0" / "containers" / "ray-worker.log"
        deadline = time.monotonic() + 60  # a bound for a hung test, not a measurement
        while not (target.exists() and target.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists(), proc.stderr.read() if proc.poll() is not None else "download never started"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130  # the stalled worker is left behind after a grace period
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
    assert (workdir / "demo" / "demo-head-x" / "ray" / "raylet.out").read_bytes() == b"still growing\n"
    assert result.stderr.splitlines()[1] == ("[1/1] demo-head-x: containers/ray-head.log (3 B), 1 Ray log file (14 B); "
                                             "tar reported "
                                             "files that changed while being copied: tar: ./raylet.out: file changed "
                                             "as we read it")


def test_a_folder_with_unrelated_files_is_not_overwritten_without_the_flag(emulator, tmp_path):
    """`--out-dir ~` must not clobber an unrelated folder that happens to share a pod's name."""
    from kubectl_ray.kube.podlogs import OWNER_MARKER

    emu = emulator.emu
    emu.add(pod("demo-head-abc", "head", "headgroup", ["ray-head"]))
    emu.pod_logs[(NS, "demo-head-abc", "ray-head")] = "fresh\n"
    emu.pod_files[(NS, "demo-head-abc")] = {RAY_LOGS: str(make_ray_logs(tmp_path, "demo-head-abc"))}
    out = tmp_path / "out"
    (out / "demo-head-abc").mkdir(parents=True)
    precious = out / "demo-head-abc" / "containers" / "ray-head.log"
    precious.parent.mkdir()
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


# --- issue 14: layout, entries that cannot be written, sparse entries, disk errors -----------------------


def two_pod_cluster(emu, tmp_path, evil_stream: bytes, containers: tuple[str, ...] = ("ray-worker",)) -> tuple[str, str]:
    """RayCluster demo with a pod serving `evil_stream` as its log folder and a well-behaved one."""
    emu.add(ray_cluster("demo", NS))
    evil, good = "demo-worker-evil", "demo-worker-good"
    emu.add(pod(evil, "worker", "g", list(containers)))
    emu.add(pod(good, "worker", "g", ["ray-worker"]))
    for container in containers:
        emu.pod_logs[(NS, evil, container)] = f"{container} of {evil}\n"
    emu.pod_logs[(NS, good, "ray-worker")] = f"{good}\n"
    emu.pod_files[(NS, good)] = {RAY_LOGS: str(make_ray_logs(tmp_path, good))}
    emu.exec_streams = {(NS, evil): evil_stream}
    return evil, good


def test_ray_files_named_like_container_logs_or_the_marker_overwrite_nothing(emulator, tmp_path, workdir):
    """Issue 14: Ray's monitor.log / stdout.log / the marker used to overwrite container logs silently."""
    stream = tar_stream([(name, "file", f"ray's {name}\n".encode(), "") for name in
                         ("monitor.log", "stdout.log", ".kubectl-ray-log", "ray-worker.log", "monitor.out")])
    evil, _ = two_pod_cluster(emulator.emu, tmp_path, stream, containers=("ray-worker", "monitor"))
    result = emulator.run("log", "demo")
    assert result.exit_code == 0, result
    folder = workdir / "demo" / evil
    assert files_under(folder) == {
        ".kubectl-ray-log": b"written by kubectl ray log\n",
        "containers/ray-worker.log": f"ray-worker of {evil}\n".encode(),
        "containers/monitor.log": f"monitor of {evil}\n".encode(),
        **{f"ray/{name}": f"ray's {name}\n".encode() for name in
           ("monitor.log", "stdout.log", ".kubectl-ray-log", "ray-worker.log", "monitor.out")},
    }


def test_entries_that_cannot_be_written_are_named_and_fail_their_pod_only(emulator, tmp_path, workdir):
    long_name = "x" * 300 + ".log"
    stream = tar_stream([(long_name, "file", b"lost", ""), ("a", "file", b"a file", ""), ("a/b", "file", b"lost", ""),
                         ("raylet.out", "file", b"kept\n", "")])
    evil, good = two_pod_cluster(emulator.emu, tmp_path, stream)
    result = emulator.run("log", "demo", "--max-concurrency", "1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"warning: {evil}: cannot write {long_name!r}: File name too long; skipped" in lines
    assert f"warning: {evil}: cannot write 'a/b': 'a' exists and is not a directory; skipped" in lines
    progress = [line for line in lines if line.startswith("[") and evil in line]
    assert progress == [f"[1/2] {evil}: FAILED: 2 Ray log entries could not be written (named above) "
                        f"(saved: containers/ray-worker.log ({len(f'ray-worker of {evil}') + 1} B), "
                        "2 Ray log files (11 B))"]
    assert lines[-1] == f"error: 1 of 2 pods failed: {evil} (see the lines above)"
    assert result.stdout.startswith("Saved the logs of 1 of 2 pods")
    assert (workdir / "demo" / evil / "ray" / "raylet.out").read_bytes() == b"kept\n"
    assert (workdir / "demo" / evil / "ray" / "a").read_bytes() == b"a file"
    assert (workdir / "demo" / good / "ray" / "raylet.out").exists()


def test_a_sparse_entry_stays_sparse_on_disk(emulator, tmp_path, workdir):
    """Issue 14: a sparse entry used to become a fully allocated file (1 GiB of zeros here)."""
    import shutil
    import subprocess

    if shutil.which("tar") is None:
        pytest.skip("GNU tar is needed to build a sparse archive")
    source = tmp_path / "sparse-src"
    source.mkdir()
    with open(source / "core.dump", "wb") as fh:
        fh.truncate(1 << 30)
        fh.seek(1 << 29)
        fh.write(b"island")
    stream = subprocess.run(["tar", "--format=gnu", "--sparse", "-cf", "-", "-C", str(source), "."],
                            check=True, capture_output=True).stdout
    evil, _ = two_pod_cluster(emulator.emu, tmp_path, stream)
    result = emulator.run("log", "demo")
    assert result.exit_code == 0, result
    copy = workdir / "demo" / evil / "ray" / "core.dump"
    assert copy.stat().st_size == 1 << 30
    assert copy.stat().st_blocks * 512 < 1 << 20
    with open(copy, "rb") as fh:
        fh.seek(1 << 29)
        assert fh.read(6) == b"island"


def run_plugin(args: list[str], cwd: Path, kubeconfig: str, prefix: list[str] | None = None,
               preexec: Any = None, stdout: Any = None) -> Any:
    """The plugin as its own process (for resource limits, mounts and real stdout files)."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*(prefix or []), sys.executable, "-m", "kubectl_ray", *args, "--kubeconfig", kubeconfig],
                          cwd=cwd, env=env, preexec_fn=preexec, stdout=stdout or subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def big_log_cluster(emu, tmp_path, pods: int = 2, size: int = 3 << 20) -> list[str]:
    emu.add(ray_cluster("big", NS))
    logs = tmp_path / "big-logs"
    logs.mkdir()
    (logs / "raylet.out").write_bytes(b"r" * size)
    names = [f"big-worker-{i}" for i in range(pods)]
    for name in names:
        emu.add(pod(name, "worker", "g", ["ray-worker"], cluster="big"))
        emu.pod_logs[(NS, name, "ray-worker")] = "small\n"
        emu.pod_files[(NS, name)] = {RAY_LOGS: str(logs)}
    return names


def assert_one_error_line(stderr: str, expected: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [expected], stderr
    assert "unexpected" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr


def test_file_too_large_is_one_error_line_and_leaves_no_partial_file(emulator, tmp_path, workdir):
    """EFBIG without root: RLIMIT_FSIZE in the child (Python ignores SIGXFSZ, so write() fails)."""
    import resource

    first = big_log_cluster(emulator.emu, tmp_path)[0]
    out = tmp_path / "out"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    result = run_plugin(["log", "big", "--out-dir", str(out), "--max-concurrency", "1"], workdir,
                        emulator.kubeconfig, preexec=limit)
    assert result.returncode == 1
    target = out / first / "ray" / "raylet.out"
    assert_one_error_line(result.stderr, f"error: cannot write {target}: File too large")
    assert not target.exists(), "the partial file must be removed"
    assert result.stdout == ""


def test_no_space_left_is_one_error_line_and_leaves_no_partial_file(emulator, tmp_path, workdir):
    """ENOSPC on a real (2 MiB) tmpfs, mounted in a user and mount namespace: no root needed."""
    import shutil
    import subprocess

    names = big_log_cluster(emulator.emu, tmp_path, pods=3)
    out = tmp_path / "small-disk"
    out.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=2m none {out}"],
                           capture_output=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (unshare -rm is not allowed)")
    script = 'mount -t tmpfs -o size=2m none "$0" && "$@"; code=$?; find "$0" -type f | sort >&2; exit $code'
    result = run_plugin(["log", "big", "--out-dir", str(out), "--max-concurrency", "1"], workdir,
                        emulator.kubeconfig, prefix=["unshare", "-rm", "sh", "-c", script, str(out)])
    assert result.returncode == 1
    target = out / names[0] / "ray" / "raylet.out"
    assert_one_error_line(result.stderr, f"error: cannot write {target}: No space left on device")
    left = [line for line in result.stderr.splitlines() if line.startswith(str(out))]
    assert str(target) not in left, "the partial file must be removed"
    assert left == [str(out / names[0] / ".kubectl-ray-log"), str(out / names[0] / "containers" / "ray-worker.log")]


def test_a_full_stdout_is_one_error_line(emulator, cluster, workdir):
    with open("/dev/full", "w") as full:
        result = run_plugin(["log", "demo", "--node-type", "head"], workdir, emulator.kubeconfig, stdout=full)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "error: cannot write to standard output: No space left on device")


# --- issue 15: --link gke as upstream has it ------------------------------------------------------------


GKE_CONTEXT = "gke_my-project_us-central1-a_my-cluster"
QUERY_ALL = ("resource.type%3D%22k8s_container%22%0Aresource.labels.namespace_name%3D%22default%22%0A"
             "labels.%22k8s-pod%2Fray_io%2Fcluster%22%3D%22test-cluster%22%0A"
             "labels.%22k8s-pod%2Fray_io%2Fis-ray-node%22%3D%22yes%22")
CONSOLE = "https://console.cloud.google.com/logs/query;query="
FLUENTBIT_WARNING = ("Warning: The head pod does not have a 'fluentbit' container. Logs might not be exported to "
                     "Google Cloud Logging.")
CONTEXT_WARNING = ("Warning: The current kubectl context does not appear to be a GKE cluster. The generated link may "
                   "not work.")


@pytest.fixture
def gke(emulator, tmp_path):
    """The emulator under a GKE-style current context, with a test-cluster RayCluster."""
    from tests.emulator import kubeconfig, write_kubeconfig

    contexts = {name: {"namespace": NS} for name in (GKE_CONTEXT, "minikube", "gke_other-project_europe-west1_c2")}
    doc = kubeconfig(emulator.url, contexts=contexts, current=GKE_CONTEXT)
    emulator.kubeconfig = write_kubeconfig(tmp_path / "gke-kubeconfig", doc)
    emulator.emu.add(ray_cluster("test-cluster", NS))
    return emulator


@pytest.mark.parametrize("containers, args, stdout, stderr", [  # upstream's TestGCPLogLink cases
    (["ray-head", "fluentbit"], [], f"{CONSOLE}{QUERY_ALL}?project=my-project\n", ""),
    (["ray-head"], [], f"{CONSOLE}{QUERY_ALL}?project=my-project\n", FLUENTBIT_WARNING + "\n"),
    (None, ["--context", "minikube"], f"{CONSOLE}{QUERY_ALL}\n", CONTEXT_WARNING + "\n"),
])
def test_link_gke_prints_upstreams_cloud_logging_url(gke, workdir, containers, args, stdout, stderr):
    if containers:
        gke.emu.add(pod("head-pod", "head", "headgroup", containers, cluster="test-cluster"))
    result = gke.run("log", "test-cluster", "--link", "gke", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, stdout, stderr)
    assert os.listdir(workdir) == []
    assert gke.emu.requests_where(verb="exec") == [] and gke.emu.requests_where(resource="pods/log") == []


@pytest.mark.parametrize("node_type", ["head", "worker"])
def test_link_gke_narrows_to_a_node_type(gke, workdir, node_type):
    result = gke.run("log", "test-cluster", "--link", "gke", "--node-type", node_type)
    assert result.exit_code == 0
    assert result.stdout == (f"{CONSOLE}{QUERY_ALL.rsplit('%0A', 1)[0]}%0Alabels.%22k8s-pod%2Fray_io%2Fnode-type%22"
                             f"%3D%22{node_type}%22?project=my-project\n")


def test_link_gke_takes_the_project_from_the_context_flag(gke, workdir):
    """Upstream reads the kubeconfig's current-context even when --context names another (its bug #13)."""
    result = gke.run("log", "test-cluster", "--link", "gke", "--context", "gke_other-project_europe-west1_c2")
    assert result.exit_code == 0
    assert result.stdout.endswith("?project=other-project\n")


def test_link_gke_resolves_a_rayjob_to_its_cluster(gke, workdir):
    gke.emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "job1", "namespace": NS},
                 "spec": {}, "status": {"rayClusterName": "test-cluster"}})
    result = gke.run("log", "rayjob/job1", "--link", "gke")
    assert result.exit_code == 0
    assert result.stdout == f"{CONSOLE}{QUERY_ALL}?project=my-project\n"


@pytest.mark.parametrize("args, message", [
    (["--link", "aws"], 'error: unsupported link type "aws", only "gke" is supported'),
    (["--link", "gke", "--out-dir", "x"], "error: --out-dir is incompatible with --link"),
    (["--link", "gke", "--worker-group", "g"], "error: --worker-group is incompatible with --link"),
    (["--link", "gke", "--previous"], "error: --previous is incompatible with --link"),
])
def test_link_flag_errors(gke, workdir, args, message):
    result = gke.run("log", "test-cluster", *args)
    assert (result.exit_code, result.stderr) == (2, message + "\n")
    assert gke.emu.request_count == 0
