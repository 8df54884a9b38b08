"""The dashboard client, the log follower and `job logs/stop` details that a healthy Ray head cannot show:
Ray's error texts, token auth, a WebSocket that fails or breaks. A small aiohttp app plays the
dashboard here (the real one runs in tests/e2e/)."""

from __future__ import annotations

import asyncio
import base64
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from aiohttp import web

from kubectl_ray.errors import UsageError
from kubectl_ray.ray.dashboard import DashboardClient, DashboardUnreachable, parse_address, ray_message
from kubectl_ray.ray.logtail import LogFollower
from tests.conftest import EmulatorHandle, run_cli

NESTED_TRACEBACK = """Traceback (most recent call last):
  File "/ray/dashboard/modules/job/job_head.py", line 412, in submit_job
    resp = await job_agent_client.submit_job_internal(submit_request)
RuntimeError: Request failed with status code 400: Traceback (most recent call last):
  File "/ray/dashboard/modules/job/job_agent.py", line 45, in submit_job
    submission_id = await self.get_job_manager().submit_job(
                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/ray/dashboard/modules/job/job_manager.py", line 553, in submit_job
    raise ValueError(
ValueError: Job with submission_id raysubmit_x already exists. Please use a different submission_id.
.
"""


@pytest.mark.parametrize("body, expected", [
    (NESTED_TRACEBACK, "ValueError: Job with submission_id raysubmit_x already exists. Please use a different "
                       "submission_id."),
    ("TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument 'nope'",
     "TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument 'nope'"),
    ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n    g()\nRuntimeError: Failed to store "
     "package.\n  - GCS URI: gcs://x.zip\n", "RuntimeError: Failed to store package.; - GCS URI: gcs://x.zip"),
    ("Unauthorized: Missing authentication token", "Unauthorized: Missing authentication token"),
    ("x" * 1500, "x" * 1000 + "..."),
])
def test_ray_message_is_what_ray_said_on_one_line(body: str, expected: str) -> None:
    assert ray_message(body) == expected


@pytest.mark.parametrize("text, url", [
    ("127.0.0.1:8265", "http://127.0.0.1:8265"),
    ("http://head:8265/", "http://head:8265"),
    ("https://ray.example.com/prefix//", "https://ray.example.com/prefix"),
    ("http://[::1]:8265", "http://[::1]:8265"),
])
def test_addresses_are_normalised_like_rays_client(text: str, url: str) -> None:
    assert parse_address(text).url == url


@pytest.mark.parametrize("text", ["", "ray://head:10001", "http://:8265", "http://h:99999", "http://h/x?y=1"])
def test_bad_addresses_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_address(text)


# --- a scriptable dashboard --------------------------------------------------------------------------

@dataclass
class FakeJob:
    chunks: list[str]  # log chunks, released one per poll or per WebSocket message
    statuses: list[str]  # status after each release; the last one sticks
    released: int = 0
    message: str = ""
    error_type: str | None = None

    @property
    def log(self) -> str:
        return "".join(self.chunks[:self.released])

    @property
    def status(self) -> str:
        return self.statuses[min(self.released, len(self.statuses) - 1)]


@dataclass
class FakeDashboard:
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    # ok | refuse (HTTP 500, like an old proxy) | break (close after one message) | stall (never closes)
    websocket: str = "ok"
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/version", self.version)
        app.router.add_get("/api/jobs/{id}", self.get_job)
        app.router.add_get("/api/jobs/{id}/logs", self.logs)
        app.router.add_get("/api/jobs/{id}/logs/tail", self.tail)
        app.router.add_post("/api/jobs/{id}/stop", self.stop)
        return app

    def _record(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path, dict(request.headers)))

    async def version(self, request: web.Request) -> web.Response:
        self._record(request)
        if request.headers.get("Authorization") not in (None, "Bearer s3cret-token"):
            return web.Response(status=403, text="Forbidden: Invalid authentication token")
        return web.json_response({"version": "4", "ray_version": "2.60.0"})

    async def get_job(self, request: web.Request) -> web.Response:
        self._record(request)
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return web.Response(status=404, text=f"Job {request.match_info['id']} does not exist")
        return web.json_response({"submission_id": request.match_info["id"], "status": job.status,
                                  "message": job.message, "error_type": job.error_type})

    async def logs(self, request: web.Request) -> web.Response:
        self._record(request)
        job = self.jobs[request.match_info["id"]]
        if job.released < len(job.chunks):
            job.released += 1
        return web.json_response({"logs": job.log})

    async def stop(self, request: web.Request) -> web.Response:
        self._record(request)
        job = self.jobs[request.match_info["id"]]
        running = job.status == "RUNNING"
        job.statuses = job.statuses[:job.released] + ["STOPPED"]
        return web.json_response({"stopped": running})

    async def tail(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if self.websocket == "refuse":
            return web.Response(status=500, text="Internal Server Error")
        job = self.jobs[request.match_info["id"]]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        while job.released < len(job.chunks):
            job.released += 1
            await ws.send_str(job.chunks[job.released - 1])
            if self.websocket == "break":
                await ws.close(code=1011)
                return ws
            await asyncio.sleep(0.01)
        if self.websocket == "stall":  # the job ended, the stream stays open (a proxy that keeps it)
            await asyncio.sleep(30)
        await ws.close()
        return ws


@pytest.fixture
def fake_dashboard() -> Iterator[FakeDashboard]:
    fake = FakeDashboard()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        runner = web.AppRunner(fake.app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        fake.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await state["stop"].wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield fake
    state["loop"].call_soon_threadsafe(state["stop"].set)
    thread.join(10)


def follow(fake: FakeDashboard, job_id: str, *, websocket: bool = True) -> tuple[str, list[str], dict[str, Any]]:
    out: list[str] = []
    notes: list[str] = []
    follower = LogFollower(DashboardClient(fake.url), job_id, out.append, note=notes.append, poll_interval=0.01)
    final = follower.follow(websocket=websocket)
    return "".join(out), notes, final


def test_websocket_tail_prints_each_chunk_once(fake_dashboard: FakeDashboard) -> None:
    fake_dashboard.jobs["j"] = FakeJob(["a\n", "b\n", "c"], ["RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"])

    text, notes, final = follow(fake_dashboard, "j")

    assert (text, notes, final["status"]) == ("a\nb\nc", [], "SUCCEEDED")


def test_refused_websocket_falls_back_to_polling_new_text_only(fake_dashboard: FakeDashboard) -> None:
    fake_dashboard.websocket = "refuse"
    fake_dashboard.jobs["j"] = FakeJob(["one\n", "two\n", "three\n"], ["RUNNING", "RUNNING", "RUNNING", "FAILED"])

    text, notes, final = follow(fake_dashboard, "j")

    assert text == "one\ntwo\nthree\n"
    assert notes == ["log stream over WebSocket unavailable (HTTP 500); polling the logs every 0.01s instead"]
    assert final["status"] == "FAILED"
    polls = [r for r in fake_dashboard.requests if r[1] == "/api/jobs/j/logs"]
    assert len(polls) >= 3


def test_broken_websocket_continues_by_polling_without_repeating(fake_dashboard: FakeDashboard) -> None:
    fake_dashboard.websocket = "break"
    fake_dashboard.jobs["j"] = FakeJob(["first\n", "second\n", "third\n"], ["RUNNING"] * 3 + ["SUCCEEDED"])

    text, _notes, final = follow(fake_dashboard, "j")

    assert text == "first\nsecond\nthird\n"
    assert final["status"] == "SUCCEEDED"


def test_a_tail_left_open_after_the_job_ended_is_noticed_by_asking_the_job(fake_dashboard: FakeDashboard,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from kubectl_ray import websocket
    from kubectl_ray.ray import logtail

    monkeypatch.setattr(websocket, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(logtail, "WS_IDLE_CHECK", 0.3)
    fake_dashboard.websocket = "stall"
    fake_dashboard.jobs["j"] = FakeJob(["x\n", "y\n"], ["RUNNING", "RUNNING", "SUCCEEDED"])

    text, notes, final = follow(fake_dashboard, "j")

    assert (text, notes, final["status"]) == ("x\ny\n", [], "SUCCEEDED")
    assert len([r for r in fake_dashboard.requests if r[1] == "/api/jobs/j"]) >= 1


def test_unreachable_dashboard_while_following_is_retried_then_reported() -> None:
    clock = iter(range(0, 1000, 30))
    notes: list[str] = []
    follower = LogFollower(DashboardClient("http://127.0.0.1:9"), "j", lambda _t: None, note=notes.append,
                           sleep=lambda _s: None, clock=lambda: float(next(clock)))

    with pytest.raises(DashboardUnreachable):
        follower.follow(websocket=False)

    assert notes == ["lost the connection to the Ray dashboard (cannot reach the Ray dashboard at http://127.0.0.1:9: "
                     "connection refused); retrying"]


# --- token auth through `job logs` / `job stop` -----------------------------------------------------

def add_token_cluster(emulator: EmulatorHandle, token: str = "s3cret-token") -> None:
    emu = emulator.emu
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "auth-c", "namespace": "default"},
             "spec": {"authOptions": {"mode": "token", "secretName": "auth-secret"}},
             "status": {"state": "ready", "head": {"serviceName": "auth-c-head-svc"}}})
    emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "auth-secret", "namespace": "default"},
             "data": {"auth_token": base64.b64encode(token.encode()).decode()}})
    emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "auth-job", "namespace": "default"},
             "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_auth"},
             "status": {"rayClusterName": "auth-c", "jobId": "raysubmit_auth"}})


def test_token_from_the_clusters_secret_is_sent_and_never_printed(emulator: EmulatorHandle,
                                                                 fake_dashboard: FakeDashboard) -> None:
    add_token_cluster(emulator)
    fake_dashboard.jobs["raysubmit_auth"] = FakeJob(["hello from an authenticated cluster\n"], ["SUCCEEDED"])

    result = run_cli("job", "logs", "auth-job", "--address", fake_dashboard.url, "--kubeconfig", emulator.kubeconfig)

    assert result.exit_code == 0, result
    assert result.stdout == "hello from an authenticated cluster\n"
    assert "s3cret" not in result.stdout + result.stderr
    assert {headers.get("Authorization") for _, _, headers in fake_dashboard.requests} == {"Bearer s3cret-token"}


def test_user_authorization_header_wins_over_the_secret(emulator: EmulatorHandle, fake_dashboard: FakeDashboard) -> None:
    add_token_cluster(emulator, token="wrong-token")
    fake_dashboard.jobs["raysubmit_auth"] = FakeJob(["x\n"], ["RUNNING"])

    result = run_cli("job", "stop", "auth-job", "--no-wait", "--address", fake_dashboard.url,
                     "--headers", '{"Authorization": "Bearer s3cret-token"}', "--kubeconfig", emulator.kubeconfig)

    assert result.exit_code == 0, result
    assert result.stdout == "Ray job raysubmit_auth (RayJob auth-job): stop requested\n"
    assert emulator.emu.requests_where(verb="get", resource="secrets") == []


def test_wrong_token_shows_rays_answer_and_a_hint(emulator: EmulatorHandle, fake_dashboard: FakeDashboard) -> None:
    add_token_cluster(emulator, token="wrong-token")

    result = run_cli("job", "logs", "auth-job", "--address", fake_dashboard.url, "--kubeconfig", emulator.kubeconfig)

    assert result.exit_code == 1
    assert result.stderr.startswith("error: reading the Ray version failed: the Ray dashboard answered 403: Forbidden: "
                                    "Invalid authentication token; the Ray cluster uses token authentication")
    assert "wrong-token" not in result.stderr


def test_unreadable_token_secret_is_one_clear_line(emulator: EmulatorHandle, fake_dashboard: FakeDashboard) -> None:
    add_token_cluster(emulator)
    emulator.emu.forbid("get", "secrets")

    result = run_cli("job", "logs", "auth-job", "--address", fake_dashboard.url, "--kubeconfig", emulator.kubeconfig)

    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith('error: RayCluster "auth-c" uses token authentication but its Secret '
                                    '"default/auth-secret" cannot be read (Error from server (Forbidden):')


def test_logs_of_an_unknown_rayjob(emulator: EmulatorHandle) -> None:
    result = run_cli("job", "logs", "nope", "--kubeconfig", emulator.kubeconfig)

    assert (result.exit_code, result.stderr) == (1, 'Error from server (NotFound): rayjobs.ray.io "nope" not found\n')


def test_follow_exit_status_is_the_jobs(emulator: EmulatorHandle, fake_dashboard: FakeDashboard) -> None:
    add_token_cluster(emulator)
    fake_dashboard.jobs["raysubmit_auth"] = FakeJob(["working\n", "oops\n"], ["RUNNING", "RUNNING", "FAILED"],
                                                    error_type="JOB_ENTRYPOINT_COMMAND_ERROR",
                                                    message="Job entrypoint command failed with exit code 1, last "
                                                            "available logs (truncated to 20,000 chars):\noops\n")

    result = run_cli("job", "logs", "auth-job", "-f", "--address", fake_dashboard.url, "--kubeconfig",
                     emulator.kubeconfig)

    assert result.exit_code == 1
    assert result.stdout == "working\noops\n"
    assert result.stderr.splitlines()[-1] == ("error: job raysubmit_auth failed: JOB_ENTRYPOINT_COMMAND_ERROR: Job "
                                              "entrypoint command failed with exit code 1")
