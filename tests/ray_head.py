"""A real Ray head on 127.0.0.1 for tests that talk to the Ray dashboard (job submit, debug --deep).

Every listener is pinned to loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps Ray from replacing
127.0.0.1 with the machine's address) and to free ports, so two test runs can share a machine.
The head runs as `ray start --block` in its own process group; stopping it kills that group and
then any Ray process still using its temp dir, so no process outlives the fixture.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 90.0


@dataclass
class RayHead:
    dashboard_url: str  # http://127.0.0.1:<port>
    gcs_address: str  # 127.0.0.1:<port>
    temp_dir: str
    ray_version: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ray_executable() -> str | None:
    candidate = Path(sys.executable).parent / "ray"
    return str(candidate) if candidate.exists() else shutil.which("ray")


def _ray_env(temp_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    # a job's `python` is looked up on PATH: make it the interpreter that has ray (a venv not activated)
    env["PATH"] = os.pathsep.join([str(Path(ray_executable() or sys.executable).parent), env.get("PATH", "")])
    env.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
                "RAY_DISABLE_DOCKER_CPU_WARNING": "1", "RAY_TMPDIR": temp_dir})
    return env


def start_ray_head() -> tuple[RayHead, subprocess.Popen]:
    ray = ray_executable()
    if ray is None:
        pytest.skip("SKIPPED LOUDLY: the `ray` CLI is not installed; install the e2e extra: pip install -e '.[e2e]'")
    temp_dir = tempfile.mkdtemp(prefix="krt", dir="/tmp")  # short: Ray's unix sockets live under it
    ports = {name: free_port() for name in ("port", "dashboard-port", "ray-client-server-port",
                                             "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                             "metrics-export-port", "node-manager-port", "object-manager-port",
                                             "runtime-env-agent-port")}
    worker_base = free_port()
    args = [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1",
            "--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp_dir}",
            f"--min-worker-port={worker_base}", f"--max-worker-port={worker_base + 50}",
            *(f"--{name}={port}" for name, port in ports.items())]
    log = open(os.path.join(temp_dir, "ray-start.log"), "wb")
    proc = subprocess.Popen(args, env=_ray_env(temp_dir), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{ports['dashboard-port']}"
    deadline = time.monotonic() + START_TIMEOUT
    version = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url + "/api/version", timeout=2) as resp:
                version = json.loads(resp.read())["ray_version"]
            with urllib.request.urlopen(url + "/api/jobs/", timeout=2) as resp:
                resp.read()
            break
        except OSError:
            time.sleep(0.5)
    if version is None:
        stop_ray_head(proc, temp_dir)
        output = Path(temp_dir, "ray-start.log").read_text(errors="replace")[-2000:] if Path(temp_dir).exists() else ""
        raise RuntimeError(f"the Ray head did not come up within {START_TIMEOUT:.0f}s:\n{output}")
    return RayHead(url, f"127.0.0.1:{ports['port']}", temp_dir, version), proc


def stop_ray_head(proc: subprocess.Popen, temp_dir: str) -> None:
    """Kill the `ray start --block` process group, then any Ray process that still uses our temp dir.

    (`ray stop` would stop every Ray on the machine, including other test runs' heads.)
    """
    for sig in (signal.SIGINT, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(8)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    for _ in range(20):
        if not _kill_leftovers(temp_dir):
            break
        time.sleep(0.25)
    shutil.rmtree(temp_dir, ignore_errors=True)


def _kill_leftovers(temp_dir: str) -> int:
    """SIGKILL processes whose command line or environment mentions temp_dir (Linux /proc)."""
    marker = temp_dir.encode()
    killed = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
        except OSError:
            continue
        if marker in cmdline or marker in environ:
            try:
                os.kill(int(entry), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


_SHARED: dict = {}  # the one head, and how many fixture definitions use it


@pytest.fixture(scope="session")
def ray_head() -> RayHead:
    """One real Ray head for the whole session (starting one costs ~5 s, stopping ~6 s).

    Every module that imports this fixture gets its own session-scoped definition from pytest, so
    the head itself is shared here: started by the first user, stopped after the last one.
    """
    if "head" not in _SHARED:
        _SHARED["head"], _SHARED["proc"] = start_ray_head()
        _SHARED["users"] = 0
    _SHARED["users"] += 1
    try:
        yield _SHARED["head"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            head, proc = _SHARED.pop("head"), _SHARED.pop("proc")
            stop_ray_head(proc, head.temp_dir)
