"""`kubectl ray session` with the stand-in kubectl: flags, URL lines, reconnect, port in use, signals."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ray_cluster
from tests.fake_kubectl import Backend, FakeKubectl, free_port, listening, pid_alive, wait_for_reconnect

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def backend():
    with Backend() as server:
        yield server


def add_cluster(emu, name: str = "demo", namespace: str = "default") -> None:
    obj = ray_cluster(name, namespace)
    obj["status"] = {"state": "ready", "head": {"serviceName": f"{name}-head-svc"}}
    emu.add(obj)


def head_status(name: str) -> dict:
    return {"head": {"serviceName": f"{name}-head-svc"}}


def add_job_and_service(emu) -> None:
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "job1", "namespace": "default"},
             "spec": {"entrypoint": "python x.py"},
             "status": {"rayClusterName": "job1-abc", "rayClusterStatus": head_status("job1-abc")}})
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "svc1", "namespace": "default"},
             "spec": {}, "status": {"activeServiceStatus": {"rayClusterName": "svc1-xyz",
                                                            "rayClusterStatus": head_status("svc1-xyz")}}})


def forbidden_plan() -> list[dict]:
    """Makes the stand-in fail at once, so an in-process run returns and its argv can be inspected."""
    return [{"fail": "forbidden"}]


# --- in-process runs that end quickly -----------------------------------------------------------------


def test_every_connection_flag_is_passed_to_kubectl(emulator, tmp_path, backend):
    emu = emulator.emu
    add_cluster(emu, "demo", "team")
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=forbidden_plan())
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("x")
    result = emulator.run(
        "session", "demo", "-n", "team", "--context", "emulator", "--cluster", "emulator", "--user", "emulator",
        "--server", emulator.url, "--token", "tok-123", "--as", "alice", "--as-group", "devs", "--as-group", "ops",
        "--as-uid", "u-1", "--certificate-authority", str(tmp_path / "ca.crt"),
        "--client-certificate", str(tmp_path / "client.crt"), "--client-key", str(tmp_path / "client.key"),
        "--tls-server-name", "api.example", "--request-timeout", "30s",
        env=fake.env())
    assert result.exit_code == 1, result
    runs = fake.runs()
    assert len(runs) == 1
    assert runs[0]["argv"] == [
        f"--kubeconfig={emulator.kubeconfig}", "--context=emulator", "--cluster=emulator", "--user=emulator",
        f"--server={emulator.url}", "--token=tok-123", "--as=alice", "--as-uid=u-1",
        f"--certificate-authority={tmp_path / 'ca.crt'}", f"--client-certificate={tmp_path / 'client.crt'}",
        f"--client-key={tmp_path / 'client.key'}", "--tls-server-name=api.example", "--request-timeout=30s",
        "--as-group=devs", "--as-group=ops",
        "port-forward", "-n", "team", "--address", "127.0.0.1", "service/demo-head-svc", "8265:8265", "10001:10001"]


def test_insecure_skip_tls_verify_is_passed(emulator, tmp_path, backend):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=forbidden_plan())
    emulator.run("session", "demo", "--insecure-skip-tls-verify", env=fake.env())
    assert "--insecure-skip-tls-verify=true" in fake.runs()[0]["argv"]


def test_forbidden_is_one_line_exit_1_and_no_retry(emulator, tmp_path, backend):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=forbidden_plan())
    result = emulator.run("session", "demo", env=fake.env())
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        'error: kubectl port-forward failed: error: error upgrading connection: pods "demo-head-svc-pod" is '
        'forbidden: User "alice" cannot create resource "pods/portforward" in API group "" in the namespace '
        '"default"\n')
    assert len(fake.runs()) == 1


def test_service_not_found_is_permanent(emulator, tmp_path, backend):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=[{"fail": "not-found"}])
    result = emulator.run("session", "demo", env=fake.env())
    assert result.exit_code == 1
    assert result.stderr == ('error: kubectl port-forward failed: Error from server (NotFound): services '
                             '"demo-head-svc" not found\n')
    assert len(fake.runs()) == 1


def test_missing_cluster_fails_before_running_kubectl(emulator, tmp_path, backend):
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    result = emulator.run("session", "nope", env=fake.env())
    assert result.exit_code == 1
    assert result.stderr == 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'
    assert fake.runs() == []


def test_port_in_use_exits_1_with_the_port_and_no_retry_loop(emulator, tmp_path, backend):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = emulator.run("session", "demo", "--port", f"{port}:8265", "--port", "0:10001", env=fake.env())
    assert result.exit_code == 1
    assert result.stderr == (
        f'error: local port {port} on 127.0.0.1 is already in use; another "kubectl ray session" may hold it '
        f"(use --port 0:8265 for a free local port, or --port LOCAL:8265)\n")
    runs = fake.runs()
    assert len(runs) == 1  # no retry loop: kubectl ran once
    assert not pid_alive(runs[0]["pid"])


@pytest.mark.parametrize("target, ports", [
    ("demo", ["8265:8265", "10001:10001"]),
    ("raycluster/demo", ["8265:8265", "10001:10001"]),
    ("RayCluster/demo", ["8265:8265", "10001:10001"]),
    ("rayjob/job1", ["8265:8265"]),
    ("RAYJOB/job1", ["8265:8265"]),
    ("rayservice/svc1", ["8265:8265", "8000:8000"]),
    ("RayService/svc1", ["8265:8265", "8000:8000"]),
])
def test_ports_and_head_service_per_type(emulator, tmp_path, backend, target, ports):
    add_cluster(emulator.emu)
    add_job_and_service(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=forbidden_plan())
    emulator.run("session", target, env=fake.env())
    argv = fake.runs()[0]["argv"]
    service = {"demo": "demo-head-svc", "job1": "job1-abc-head-svc", "svc1": "svc1-xyz-head-svc"}[target.split("/")[-1]]
    assert argv[argv.index("port-forward") + 5:] == [f"service/{service}", *ports]


def test_port_flags_override_defaults_and_add_ports(emulator, tmp_path, backend):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=forbidden_plan())
    emulator.run("session", "demo", "--port", "0:8265", "--port", "9999:8080", "--port", ":6379", env=fake.env())
    assert fake.runs()[0]["argv"][-4:] == [":8265", "10001:10001", "9999:8080", ":6379"]


@pytest.mark.parametrize("args, message", [
    (["--port", "x:8265"], "error: invalid argument 'x:8265' for --port: use LOCAL:REMOTE with ports 1-65535 "
                           "(LOCAL 0 or empty picks a free port)"),
    (["--port", "1:8265", "--port", "1:10001"], "error: local port 1 is given for more than one remote port"),
    (["--address", " "], "error: --address must not be empty"),
])
def test_bad_flags_exit_2_before_any_kubectl(emulator, tmp_path, backend, args, message):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    result = emulator.run("session", "demo", *args, env=fake.env())
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert fake.runs() == []


def test_unsupported_type_is_a_usage_error(emulator):
    result = emulator.run("session", "pod/x")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unsupported resource type 'pod'")


def test_kubectl_missing(emulator, tmp_path):
    add_cluster(emulator.emu)
    result = emulator.run("session", "demo", env={"PATH": str(tmp_path), "KUBECTL_PATH": None})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: kubectl not found on PATH: port-forwarding runs `kubectl port-forward`")


def test_kubectl_path_wins_over_path(emulator, tmp_path, backend):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=forbidden_plan())
    env = fake.env()
    env["PATH"] = os.path.dirname(sys.executable)  # no kubectl on PATH at all
    env["KUBECTL_PATH"] = str(REPO / "tests" / "fake_kubectl" / "kubectl")
    result = emulator.run("session", "demo", env=env)
    assert result.exit_code == 1
    assert len(fake.runs()) == 1


def test_rayjob_without_head_service_times_out_with_the_reason(emulator, tmp_path, backend):
    emulator.emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "young", "namespace": "default"},
                      "spec": {"entrypoint": "python x.py"}})
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    result = emulator.run("session", "rayjob/young", "--timeout", "1.5s", env=fake.env())
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        'error: port-forward to the Ray head service was not ready within 1.5s (RayJob "young" has no head service '
        "in its status yet; wait for the cluster to come up or run: kubectl ray debug rayjob/young)")
    assert "retrying in 1s" in result.stderr.splitlines()[0]
    assert fake.runs() == []


# --- the real command in a subprocess --------------------------------------------------------------------


class SessionProcess:
    """`python -m kubectl_ray session ...` with its stdout read line by line on a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kubectl_ray", "session", *args], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def read_lines(self, count: int, timeout: float = 20.0) -> list[str]:
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while len(lines) < count:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"session printed {lines!r} then nothing; stderr: {self.proc.stderr.read()}")
            if line is None:
                raise AssertionError(f"session exited {self.proc.wait()}: {self.proc.stderr.read()}")
            lines.append(line)
        return lines

    def finish(self, sig: int, timeout: float = 10.0) -> tuple[int, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def session_proc():
    started: list[SessionProcess] = []

    def start(args: list[str], env: dict[str, str]) -> SessionProcess:
        proc = SessionProcess(args, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def test_url_lines_show_the_bound_ports_and_sigint_exits_130_leaving_nothing(emulator, tmp_path, backend,
                                                                             session_proc):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    fixed = free_port()
    proc = session_proc(["demo", "--kubeconfig", emulator.kubeconfig, "--port", "0:8265", "--port", f"{fixed}:10001"],
                        fake.env())
    lines = proc.read_lines(4)
    dashboard = int(lines[1].rsplit(":", 1)[1])
    assert lines == ["Forwarding ports to service demo-head-svc",
                     f"Ray Dashboard: http://127.0.0.1:{dashboard}",
                     f"Ray Interactive Client: ray://127.0.0.1:{fixed}",
                     ""]
    assert dashboard != 8265 and dashboard > 0
    assert get(f"http://127.0.0.1:{dashboard}") == b"dashboard ok"
    child = fake.runs()[0]["pid"]
    assert pid_alive(child)
    code, stderr = proc.finish(signal.SIGINT, timeout=60)  # responsive, not hanging: a bound, not a measurement
    assert code == 130
    assert stderr == "\n"  # click ends the ^C line, as a shell would
    assert not pid_alive(child)
    assert not listening(dashboard) and not listening(fixed)


def test_reconnects_after_kubectl_dies_and_requests_succeed_again(emulator, tmp_path, backend, session_proc):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port, plan=[{"die_after": 5.0}, {}])
    proc = session_proc(["demo", "--kubeconfig", emulator.kubeconfig, "--port", "0:8265"], fake.env())
    lines = proc.read_lines(2)
    url = lines[1].split(": ", 1)[1]
    assert get(url) == b"dashboard ok"
    first = fake.runs()[0]["pid"]
    body = wait_for_reconnect(first, url)
    assert body == b"dashboard ok"
    runs = fake.runs()
    assert len(runs) == 2
    assert runs[1]["argv"][-2:] == [url.rsplit(":", 1)[1] + ":8265", "10001:10001"]
    code, stderr = proc.finish(signal.SIGINT)
    assert code == 130
    assert stderr == ("Lost connection to service/demo-head-svc (exit 1: error: lost connection to pod); "
                      "reconnecting in 1s\n\n")
    assert not pid_alive(runs[1]["pid"])


def test_sigterm_stops_kubectl_and_exits_143(emulator, tmp_path, backend, session_proc):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    proc = session_proc(["demo", "--kubeconfig", emulator.kubeconfig, "--port", "0:8265", "--port", "0:10001"],
                        fake.env())
    proc.read_lines(3)
    child = fake.runs()[0]["pid"]
    code, stderr = proc.finish(signal.SIGTERM)
    assert code == 143
    assert stderr == "error: stopped by SIGTERM; port-forward terminated\n"
    assert not pid_alive(child)


def test_verbose_prints_the_kubectl_command_with_the_token_masked(emulator, tmp_path, backend, session_proc):
    add_cluster(emulator.emu)
    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    proc = session_proc(["demo", "--kubeconfig", emulator.kubeconfig, "--token", "s3cret-token", "--port", "0:8265",
                         "--port", "0:10001", "-v"], fake.env())
    proc.read_lines(3)
    code, stderr = proc.finish(signal.SIGINT)
    assert code == 130
    kubectl = str(REPO / "tests" / "fake_kubectl" / "kubectl")
    assert stderr == (f"Running: {kubectl} --kubeconfig={emulator.kubeconfig} --token=*** port-forward -n default "
                      "--address 127.0.0.1 service/demo-head-svc :8265 :10001\n\n")
    assert json.dumps(fake.runs()[0]["argv"]).count("s3cret-token") == 1  # kubectl itself still gets it


def test_unreachable_api_server_fails_at_once(tmp_path, backend):
    from tests.conftest import run_cli
    from tests.emulator import kubeconfig, write_kubeconfig

    fake = FakeKubectl(tmp_path, backend_port=backend.port)
    kc = write_kubeconfig(tmp_path / "kc", kubeconfig(f"http://127.0.0.1:{free_port()}"))
    result = run_cli("session", "demo", "--kubeconfig", kc, env=fake.env())
    assert result.exit_code == 1
    assert result.stderr.startswith("error: The connection to the server 127.0.0.1:")
    assert "retrying" not in result.stderr  # at once: no retry loop
    assert fake.runs() == []
