"""`kubectl ray job submit|logs|stop` end to end: a real Ray 2.x head on 127.0.0.1 runs the jobs, the API
emulator plays KubeRay (its KubeRay player in instant mode, tests/e2e/operator.py), and a recording proxy
sits in front of the dashboard.

Jobs are short (about 1-3 s); one Ray head serves the whole session. Every process a test starts
is stopped by that test.
"""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from kubectl_ray.ray.dashboard import DashboardClient, JobNotFound
from tests.conftest import REPO, CliResult, EmulatorHandle, run_cli
from tests.e2e.operator import cluster_name_for, play_kuberay
from tests.e2e.proxy import RecordingProxy

pytestmark = pytest.mark.e2e

FAKE_KUBECTL = REPO / "tests" / "fake_kubectl" / "kubectl"


def submit(emulator: EmulatorHandle, *flags: str, entrypoint: list[str], env: dict | None = None) -> CliResult:
    """`kubectl ray job submit FLAGS --kubeconfig K -- ENTRYPOINT` in-process."""
    return run_cli("job", "submit", *flags, "--kubeconfig", emulator.kubeconfig, "--", *entrypoint, env=env)


def rayjob(emulator: EmulatorHandle, name: str) -> dict | None:
    return emulator.emu.get("rayjobs", "default", name)


def submission_id_of(emulator: EmulatorHandle, name: str) -> str:
    job = rayjob(emulator, name)
    assert job is not None, f"RayJob {name} is missing"
    return job["spec"]["jobId"]


def wait_status(client: DashboardClient, job_id: str, statuses: tuple[str, ...], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_job(job_id)
        if info["status"] in statuses or time.monotonic() > deadline:
            return info
        time.sleep(0.3)


@pytest.fixture
def kuberay(emulator: EmulatorHandle) -> EmulatorHandle:
    play_kuberay(emulator.emu)
    return emulator


@pytest.fixture
def ray(dashboard: RecordingProxy) -> DashboardClient:
    return DashboardClient(dashboard.url)


# --- submit ------------------------------------------------------------------------------------------

def test_entrypoint_with_quotes_and_semicolon_runs_exactly_as_typed(kuberay: EmulatorHandle, dashboard: RecordingProxy,
                                                                      ray: DashboardClient) -> None:
    words = ["python", "-c", "import sys; print(\"it's a 'quoted'; text\", sys.argv[1:])", "two words", "a;b"]
    result = submit(kuberay, "--name", "quotes", "--address", dashboard.url, entrypoint=words)

    assert result.exit_code == 0, result
    assert "it's a 'quoted'; text ['two words', 'a;b']\n" in result.stdout
    job_id = submission_id_of(kuberay, "quotes")
    assert job_id.startswith("raysubmit_") and len(job_id) == len("raysubmit_") + 16
    assert rayjob(kuberay, "quotes")["spec"]["entrypoint"] == shlex.join(words)
    assert ray.get_job(job_id)["entrypoint"] == shlex.join(words)
    assert f"Job {job_id} finished with status SUCCEEDED." in result.stderr
    assert f'RayCluster "{cluster_name_for("quotes")}" is ready' in result.stderr


def test_working_dir_module_and_data_file_are_used_and_not_uploaded_twice(
        kuberay: EmulatorHandle, dashboard: RecordingProxy, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "helper.py").write_text("def greet(name):\n    return f'hello {name} from helper'\n")
    (project / "data" / "input.txt").write_text(f"data-{os.getpid()}-{time.time_ns()}\n")  # a fresh package
    (project / "ignored.log").write_text("not uploaded\n")
    (project / ".gitignore").write_text("*.log\n")
    script = "import helper, os; print(helper.greet(open('data/input.txt').read().strip()), os.path.exists('ignored.log'))"
    dashboard.clear()

    first = submit(kuberay, "--name", "wd1", "--address", dashboard.url, "--working-dir", str(project),
                   entrypoint=["python", "-c", script])

    assert first.exit_code == 0, first
    expected = (project / "data" / "input.txt").read_text().strip()
    assert f"hello {expected} from helper False\n" in first.stdout
    puts = dashboard.requests_matching("PUT", "/api/packages/gcs/_ray_pkg_")
    gets = dashboard.requests_matching("GET", "/api/packages/gcs/_ray_pkg_")
    assert len(puts) == 1 and len(gets) == 1, dashboard.requests
    assert puts[0].split()[1] == gets[0].split()[1]

    second = submit(kuberay, "--name", "wd2", "--address", dashboard.url, "--working-dir", str(project),
                    entrypoint=["python", "-c", script])

    assert second.exit_code == 0, second
    assert f"hello {expected} from helper False\n" in second.stdout
    assert len(dashboard.requests_matching("PUT", "/api/packages/")) == 1, dashboard.requests
    assert len(dashboard.requests_matching("GET", "/api/packages/gcs/_ray_pkg_")) == 2
    assert "is already on the cluster" in second.stderr


def test_runtime_env_file_with_relative_working_dir_and_py_modules(kuberay: EmulatorHandle, dashboard: RecordingProxy,
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main_data.txt").write_text("from the working dir\n")
    (tmp_path / "libs" / "mylib").mkdir(parents=True)
    (tmp_path / "libs" / "mylib" / "__init__.py").write_text(f"VALUE = 'mylib {time.time_ns()}'\n")
    (tmp_path / "env.yaml").write_text("working_dir: code\npy_modules: [libs/mylib]\nenv_vars: {GREETING: hi}\n")
    monkeypatch.chdir(tmp_path)  # a relative working_dir is relative to the CWD, as in Ray

    result = submit(kuberay, "--name", "renv", "--address", dashboard.url, "--runtime-env", "env.yaml",
                    entrypoint=["python", "-c", "import os, mylib; print(open('main_data.txt').read().strip(), "
                                "mylib.VALUE.split()[0], os.environ['GREETING'])"])

    assert result.exit_code == 0, result
    assert "from the working dir mylib hi\n" in result.stdout


def test_failing_job_exits_1_with_rays_error_type_and_message(kuberay: EmulatorHandle, dashboard: RecordingProxy) -> None:
    result = submit(kuberay, "--name", "fails", "--address", dashboard.url,
                    entrypoint=["python", "-c", "import sys; print('about to fail'); sys.exit(3)"])

    assert result.exit_code == 1, result
    assert "about to fail\n" in result.stdout
    job_id = submission_id_of(kuberay, "fails")
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"error: job {job_id} failed: JOB_ENTRYPOINT_COMMAND_ERROR: Job entrypoint command failed with "
                    "exit code 3")
    assert rayjob(kuberay, "fails") is not None  # the job ran: its RayJob stays


def test_rays_own_http_error_is_shown_and_the_rayjob_deleted(kuberay: EmulatorHandle, dashboard: RecordingProxy,
                                                           ray: DashboardClient) -> None:
    taken = ray.submit_job({"entrypoint": "true"})

    result = submit(kuberay, "--name", "dupe", "--address", dashboard.url, "--submission-id", taken,
                    entrypoint=["true"])

    assert result.exit_code == 1, result
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: submitting the job failed: the Ray dashboard answered 500: ValueError: Job with submission_id "
        f"{taken} already exists. Please use a different submission_id.; deleted RayJob \"dupe\" created by this command")
    assert rayjob(kuberay, "dupe") is None


def test_no_wait_prints_the_submission_id_and_returns(kuberay: EmulatorHandle, dashboard: RecordingProxy,
                                                     ray: DashboardClient) -> None:
    result = submit(kuberay, "--name", "nowait", "--address", dashboard.url, "--no-wait",
                    "--metadata-json", '{"team": "ml"}', "--entrypoint-num-cpus", "0.5",
                    "--runtime-env-json", '{"env_vars": {"STAGE": "test"}}',
                    entrypoint=["python", "-c", "import time; time.sleep(1); print('done later')"])

    assert result.exit_code == 0, result
    job_id = submission_id_of(kuberay, "nowait")
    assert result.stdout == f"{job_id}\n"
    info = ray.get_job(job_id)
    assert info["metadata"] == {"team": "ml"}  # (Ray's answer does not echo entrypoint_num_cpus)
    assert info["runtime_env"]["env_vars"] == {"STAGE": "test"}
    assert "kubectl ray job logs nowait -f -n default" in result.stderr
    assert "kubectl ray job stop nowait -n default" in result.stderr
    assert wait_status(ray, job_id, ("SUCCEEDED", "FAILED"))["status"] == "SUCCEEDED"


def test_submit_through_a_port_forward_on_a_free_local_port(kuberay: EmulatorHandle, dashboard: RecordingProxy,
                                                            tmp_path: Path) -> None:
    log = tmp_path / "kubectl.log"
    env = {"KUBECTL_PATH": str(FAKE_KUBECTL), "FAKE_KUBECTL_BACKEND": dashboard.url.split("//", 1)[1],
           "FAKE_KUBECTL_LOG": str(log)}

    result = submit(kuberay, "--name", "pf", "-v", entrypoint=["echo", "through the forward"], env=env)

    assert result.exit_code == 0, result
    assert "through the forward\n" in result.stdout
    import json

    argv = json.loads(log.read_text().splitlines()[0])["argv"]
    assert argv[argv.index("port-forward"):] == ["port-forward", "-n", "default", "--address", "127.0.0.1",
                                                 f"service/{cluster_name_for('pf')}-head-svc", ":8265"]
    assert f"--kubeconfig={kuberay.kubeconfig}" in argv
    line = next(line for line in result.stderr.splitlines() if line.startswith("Ray dashboard forwarded to "))
    assert line.startswith("Ray dashboard forwarded to http://127.0.0.1:")
    assert int(line.rsplit(":", 1)[1]) != 8265  # a free local port, never the fixed one


# --- logs / stop -------------------------------------------------------------------------------------

def test_job_logs_follow_and_print_once(kuberay: EmulatorHandle, dashboard: RecordingProxy, ray: DashboardClient) -> None:
    script = "import time\nfor i in range(3):\n    print('tick', i, flush=True); time.sleep(0.5)"
    started = submit(kuberay, "--name", "follow", "--address", dashboard.url, "--no-wait",
                     entrypoint=["python", "-c", script])
    assert started.exit_code == 0, started

    followed = run_cli("job", "logs", "follow", "-f", "--address", dashboard.url, "--kubeconfig", kuberay.kubeconfig)

    assert followed.exit_code == 0, followed
    assert "tick 0\ntick 1\ntick 2\n" in followed.stdout
    assert followed.stdout.count("tick 2") == 1
    job_id = submission_id_of(kuberay, "follow")
    assert f"Job {job_id} finished with status SUCCEEDED." in followed.stderr

    once = run_cli("job", "logs", "rayjob/follow", "--address", dashboard.url, "--kubeconfig", kuberay.kubeconfig)
    assert once.exit_code == 0, once
    assert once.stdout == ray.job_logs(job_id)


def test_the_log_tail_websocket_of_a_real_ray_head_streams_text_without_polling(ray: DashboardClient) -> None:
    """Ray's own /logs/tail WebSocket, read by kubectl_ray/websocket.py: every chunk once, characters
    split across frames intact, the stream ended by Ray when the job ends (no fallback to polling)."""
    from kubectl_ray.ray.logtail import LogFollower

    script = ("import time\nfor i in range(3):\n    print('tick', i, 'h\u00e9llo \u2713', flush=True); time.sleep(0.7)\n"
              "print('x' * 70000, flush=True)")
    job_id = ray.submit_job({"entrypoint": shlex.join(["python", "-c", script])})
    written: list[str] = []
    notes: list[str] = []
    info = LogFollower(ray, job_id, written.append, notes.append).follow(websocket=True)

    text = "".join(written)
    assert notes == [], "the WebSocket tail was used to the end"
    assert info["status"] == "SUCCEEDED"
    assert all(f"tick {i} h\u00e9llo \u2713\n" in text for i in range(3)) and "x" * 70000 + "\n" in text
    assert text == ray.job_logs(job_id)


def test_job_stop_stops_the_ray_job(kuberay: EmulatorHandle, dashboard: RecordingProxy, ray: DashboardClient) -> None:
    started = submit(kuberay, "--name", "stopme", "--address", dashboard.url, "--no-wait",
                     entrypoint=["python", "-c", "import time; time.sleep(60)"])
    assert started.exit_code == 0, started
    job_id = submission_id_of(kuberay, "stopme")
    wait_status(ray, job_id, ("RUNNING",))

    result = run_cli("job", "stop", "stopme", "--address", dashboard.url, "--kubeconfig", kuberay.kubeconfig)

    assert result.exit_code == 0, result
    assert result.stdout == f"Ray job {job_id} (RayJob stopme) stopped: STOPPED\n"
    assert ray.get_job(job_id)["status"] == "STOPPED"
    again = run_cli("job", "stop", "stopme", "--address", dashboard.url, "--kubeconfig", kuberay.kubeconfig)
    assert again.stdout == f"Ray job {job_id} (RayJob stopme) had already finished: STOPPED\n"


# --- cleanup on timeout and Ctrl-C --------------------------------------------------------------------

def test_cluster_timeout_deletes_the_rayjob(emulator: EmulatorHandle, dashboard: RecordingProxy,
                                            ray: DashboardClient) -> None:
    play_kuberay(emulator.emu, ready=False)
    dashboard.clear()

    result = submit(emulator, "--name", "slow", "--address", dashboard.url, "--cluster-timeout", "2s",
                    "--submission-id", f"raysubmit_slow{time.time_ns()}", entrypoint=["echo", "never"])

    assert result.exit_code == 1, result
    cluster = cluster_name_for("slow")
    assert result.stderr.strip().splitlines()[-1] == (
        f'error: timed out after 2s waiting for RayCluster "{cluster}" of RayJob "slow" to be ready (last state: '
        "no state yet, HeadPodReady=False (ContainersNotReady: containers with unready status: [ray-head]), "
        "RayClusterProvisioned=False (RayClusterPodsProvisioning: RayCluster Pods are being provisioned for first time)); "
        "deleted RayJob \"slow\" created by this command")
    assert f'Waiting for RayCluster "{cluster}": no state yet' in result.stderr
    assert rayjob(emulator, "slow") is None
    deletes = emulator.emu.requests_where(verb="delete", resource="rayjobs")
    assert len(deletes) == 1
    assert dashboard.requests_matching("POST", "/api/jobs/") == []


class CliProcess:
    """`python -m kubectl_ray ...` in its own process, its output collected line by line."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kubectl_ray", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=str(REPO))
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, name in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            threading.Thread(target=self._read, args=(stream, name), daemon=True).start()

    def _read(self, stream, name: str) -> None:
        for line in iter(stream.readline, ""):
            (self.out if name == "out" else self.err).append(line)
            self.lines.put((name, line))

    def wait_for(self, stream: str, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        seen = "".join(self.out if stream == "out" else self.err)
        while text not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None and self.lines.empty():
                raise AssertionError(f"{text!r} not seen on std{stream}; stdout={''.join(self.out)!r} "
                                     f"stderr={''.join(self.err)!r}")
            try:
                self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                pass
            seen = "".join(self.out if stream == "out" else self.err)

    def interrupt_and_wait(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        time.sleep(0.1)  # let the readers take the last lines
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def cli_processes() -> Iterator[list[CliProcess]]:
    started: list[CliProcess] = []
    yield started
    for process in started:
        process.stop()


def test_ctrl_c_during_the_cluster_wait_deletes_the_rayjob(emulator: EmulatorHandle, dashboard: RecordingProxy,
                                                           cli_processes: list[CliProcess]) -> None:
    play_kuberay(emulator.emu, ready=False)
    process = CliProcess(["job", "submit", "--name", "waiting", "--address", dashboard.url,
                          "--kubeconfig", emulator.kubeconfig, "--", "echo", "never"])
    cli_processes.append(process)
    process.wait_for("err", f'Waiting for RayCluster "{cluster_name_for("waiting")}"')
    assert rayjob(emulator, "waiting") is not None

    code = process.interrupt_and_wait()

    assert code == 130, "".join(process.err)
    assert "".join(process.err).strip().splitlines()[-1] == \
        'error: interrupted; deleted RayJob "waiting" created by this command'
    assert rayjob(emulator, "waiting") is None


def test_ctrl_c_while_streaming_logs_leaves_the_job_running(kuberay: EmulatorHandle, dashboard: RecordingProxy,
                                                          ray: DashboardClient, cli_processes: list[CliProcess]) -> None:
    process = CliProcess(["job", "submit", "--name", "streaming", "--address", dashboard.url,
                          "--kubeconfig", kuberay.kubeconfig, "--",
                          "python", "-c", "import time; print('streaming now', flush=True); time.sleep(60)"])
    cli_processes.append(process)
    process.wait_for("out", "streaming now")

    code = process.interrupt_and_wait()

    err = "".join(process.err)
    assert code == 130, err
    assert "kubectl ray job logs streaming -f -n default" in err
    assert "kubectl ray job stop streaming -n default" in err
    assert "deleted" not in err
    assert rayjob(kuberay, "streaming") is not None
    job_id = submission_id_of(kuberay, "streaming")
    try:
        assert ray.get_job(job_id)["status"] == "RUNNING"
    finally:
        ray.stop_job(job_id)


def test_logs_of_a_job_that_was_never_submitted(kuberay: EmulatorHandle, dashboard: RecordingProxy) -> None:
    kuberay.emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "ghost", "namespace": "default"},
                     "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_neverSubmitted"},
                     "status": {"rayClusterName": "ghost-abc"}})

    result = run_cli("job", "logs", "ghost", "--address", dashboard.url, "--kubeconfig", kuberay.kubeconfig)

    assert result.exit_code == 1
    assert result.stderr == ('error: Ray job raysubmit_neverSubmitted of RayJob "ghost" is not on its cluster: it was '
                             "never submitted (an interrupted submit?) or the cluster was recreated\n")
    with pytest.raises(JobNotFound):
        DashboardClient(dashboard.url).get_job("raysubmit_neverSubmitted")
