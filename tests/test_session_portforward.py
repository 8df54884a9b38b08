"""The shared port-forwarder (kubectl_ray/kube/portforward.py) against the stand-in kubectl."""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.kube import portforward
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.portforward import BoundPort, PortForwarder, PortForwardError, PortInUse, PortSpec, \
    classify_exit, find_kubectl, format_command, mask_secrets
from kubectl_ray.kube.targets import TargetNotReady
from tests.fake_kubectl import Backend, FakeKubectl, free_port, listening, pid_alive, wait_for_reconnect

LOST = "error: lost connection to pod"
PENDING = "error: unable to forward port because pod is not running. Current status=Pending"


# --- pure pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, remote, local", [
    ("8265", 8265, 8265),
    (":8265", 8265, 0),
    ("0:8265", 8265, 0),
    ("9000:8265", 8265, 9000),
    (" 18265:8265 ", 8265, 18265),
])
def test_port_spec_parse(text, remote, local):
    assert PortSpec.parse(text) == PortSpec(remote=remote, local=local)


@pytest.mark.parametrize("text", ["", ":", "abc", "1:abc", "70000:8265", "8265:0", "-1:8265", "1:2:3", "+5:8265"])
def test_port_spec_parse_rejects_with_the_flag_and_value(text):
    with pytest.raises(UsageError) as exc:
        PortSpec.parse(text)
    assert exc.value.message.startswith(f"invalid argument {text!r} for --port")


def test_port_spec_kubectl_arg():
    assert PortSpec(8265).kubectl_arg() == ":8265"
    assert PortSpec(8265, 9000).kubectl_arg() == "9000:8265"


def test_bound_port_urls():
    assert BoundPort(41234, 8265, "127.0.0.1").url() == "http://127.0.0.1:41234"
    assert BoundPort(41234, 10001, "0.0.0.0").url("ray") == "ray://127.0.0.1:41234"
    assert BoundPort(41234, 8265, "localhost").url() == "http://127.0.0.1:41234"
    assert BoundPort(41234, 8265, "::1").url() == "http://[::1]:41234"


PORT_IN_USE = [
    "Unable to listen on port 8265: Listeners failed to create with the following errors: [unable to create "
    "listener: Error listen tcp4 127.0.0.1:8265: bind: address already in use]",
    "error: unable to listen on any of the requested ports: [{8265 8265}]",
]


def test_classify_port_in_use_is_permanent_and_names_the_port():
    reason = classify_exit(PORT_IN_USE, 1)
    assert isinstance(reason.permanent, PortInUse)
    assert reason.permanent.local_port == 8265
    assert reason.permanent.message == ('local port 8265 on 127.0.0.1 is already in use; another '
                                        '"kubectl ray session" may hold it')


def test_classify_only_the_summary_line_of_port_in_use():
    reason = classify_exit(["error: unable to listen on any of the requested ports: [{18265 8265}]"], 1)
    assert isinstance(reason.permanent, PortInUse) and reason.permanent.local_port == 18265


@pytest.mark.parametrize("line", [
    'Error from server (NotFound): services "demo-head-svc" not found',
    'Error from server (NotFound): namespaces "nope" not found',
    'error: error upgrading connection: pods "demo-head-x" is forbidden: User "alice" cannot create resource '
    '"pods/portforward" in API group "" in the namespace "default"',
    "Error from server (Forbidden): services \"x\" is forbidden: User \"bob\" cannot get resource \"services\"",
    "error: You must be logged in to the server (Unauthorized)",
    'error: context "nope" does not exist',
    "error: unknown flag: --frobnicate",
    "error: cannot attach to *v1.Service: invalid service 'x': Service is defined without a selector",
])
def test_classify_permanent_errors(line):
    reason = classify_exit(["I1123 10:00:00.000000     1 some.go:1] noise", line], 1)
    assert isinstance(reason.permanent, PortForwardError)
    assert reason.permanent.message == f"kubectl port-forward failed: {line}"


@pytest.mark.parametrize("lines, code, summary", [
    ([LOST], 1, f"exit 1: {LOST}"),
    ([PENDING], 1, f"exit 1: {PENDING}"),
    (["error: error upgrading connection: the body of the request was in an unknown format"], 1,
     "exit 1: error: error upgrading connection: the body of the request was in an unknown format"),
    ([LOST, "E1123 10:00:00.000000   123 portforward.go:413] an error occurred forwarding 8265 -> 8265: EOF"], 1,
     f"exit 1: {LOST}"),
    ([], 0, "exit 0"),
    ([], -9, "killed by SIGKILL"),
])
def test_classify_temporary_errors(lines, code, summary):
    reason = classify_exit(lines, code)
    assert reason.permanent is None
    assert reason.summary == summary


def test_mask_secrets_and_format_command():
    argv = ["kubectl", "--token=abc", "--server=https://x", "--token", "def", "port-forward", "a b"]
    assert mask_secrets(argv) == ["kubectl", "--token=***", "--server=https://x", "--token", "***", "port-forward", "a b"]
    assert format_command(argv) == "kubectl --token=*** --server=https://x --token *** port-forward 'a b'"


def test_find_kubectl_prefers_kubectl_path(tmp_path):
    exe = tmp_path / "my-kubectl"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert find_kubectl({"KUBECTL_PATH": str(exe), "PATH": "/nonexistent"}) == str(exe)


def test_find_kubectl_errors(tmp_path):
    with pytest.raises(KubectlRayError) as exc:
        find_kubectl({"PATH": str(tmp_path)})
    assert exc.value.message.startswith("kubectl not found on PATH")
    assert "KUBECTL_PATH" in exc.value.message
    with pytest.raises(KubectlRayError) as exc:
        find_kubectl({"KUBECTL_PATH": str(tmp_path / "absent"), "PATH": ""})
    assert exc.value.message == f"KUBECTL_PATH={tmp_path / 'absent'} is not an executable file; point it at kubectl or unset it"


def test_command_passes_every_connection_flag_namespace_address_and_ports():
    flags = ConnectionFlags(kubeconfig="/k", context="c", cluster="cl", user="u", namespace="ignored-here",
                            server="https://s", token="t", as_user="a", as_groups=("g1", "g2"), as_uid="uid",
                            certificate_authority="/ca", client_certificate="/cc", client_key="/ck",
                            tls_server_name="tls", request_timeout="5s", insecure_skip_tls_verify=True)
    fwd = PortForwarder(flags, "team", lambda: "demo-head-svc", [PortSpec(8265), PortSpec(10001, 10001)],
                        address="0.0.0.0")
    assert fwd.command("demo-head-svc") == [
        "kubectl", "--kubeconfig=/k", "--context=c", "--cluster=cl", "--user=u", "--server=https://s", "--token=t",
        "--as=a", "--as-uid=uid", "--certificate-authority=/ca", "--client-certificate=/cc", "--client-key=/ck",
        "--tls-server-name=tls", "--request-timeout=5s", "--as-group=g1", "--as-group=g2",
        "--insecure-skip-tls-verify=true",
        "port-forward", "-n", "team", "--address", "0.0.0.0", "service/demo-head-svc", ":8265", "10001:10001"]


def test_constructor_rejects_duplicate_ports():
    with pytest.raises(UsageError, match="remote port 8265 is given more than once"):
        PortForwarder(ConnectionFlags(), "ns", lambda: "s", [PortSpec(8265), PortSpec(8265, 1)])
    with pytest.raises(UsageError, match="local port 9000 is given for more than one remote port"):
        PortForwarder(ConnectionFlags(), "ns", lambda: "s", [PortSpec(8265, 9000), PortSpec(10001, 9000)])


# --- against the stand-in kubectl ---------------------------------------------------------------------


@pytest.fixture
def backend():
    with Backend() as server:
        yield server


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(portforward, "INITIAL_BACKOFF", 0.1)
    monkeypatch.setattr(portforward, "MAX_BACKOFF", 0.4)


def use_fake(monkeypatch, tmp_path: Path, backend_port: int, plan=None) -> FakeKubectl:
    fake = FakeKubectl(tmp_path, backend_port=backend_port, plan=plan)
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KUBECTL_PATH", raising=False)
    return fake


def get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def forwarder(ports, events: list[str], resolve=lambda: "service/demo-head-svc", **kwargs) -> PortForwarder:
    return PortForwarder(ConnectionFlags(kubeconfig="/tmp/kc"), "default", resolve, ports, on_event=events.append,
                         **kwargs)


def test_start_learns_the_free_port_and_forwards(monkeypatch, tmp_path, backend):
    fake = use_fake(monkeypatch, tmp_path, backend.port)
    events: list[str] = []
    with forwarder([PortSpec(8265), PortSpec(10001)], events) as fwd:
        bound = fwd.start(10)
        assert [b.remote for b in bound] == [8265, 10001]
        assert all(b.local > 0 for b in bound)
        assert fwd.local_port(8265) == bound[0].local
        assert get(fwd.url(8265)) == b"dashboard ok"
        assert fwd.running()
        run = fake.runs()[0]
        assert run["argv"][-3:] == ["service/demo-head-svc", ":8265", ":10001"]
    assert not pid_alive(run["pid"])
    assert not listening(bound[0].local) and not listening(bound[1].local)
    assert events == []


def test_reconnects_on_the_same_local_port_after_kubectl_dies(monkeypatch, tmp_path, backend):
    fake = use_fake(monkeypatch, tmp_path, backend.port, plan=[{"die_after": 0.5}, {}])
    events: list[str] = []
    resolved: list[int] = []

    def resolve() -> str:
        resolved.append(1)
        return "service/demo-head-svc"

    with forwarder([PortSpec(8265)], events, resolve=resolve) as fwd:
        fwd.start(10)
        port = fwd.local_port(8265)
        first = fake.runs()[0]
        body = wait_for_reconnect(first["pid"], f"http://127.0.0.1:{port}")
        assert body == b"dashboard ok", "no successful request after kubectl died"
        runs = fake.runs()
        assert len(runs) == 2
        assert runs[1]["argv"][-1] == f"{port}:8265"  # the learned port, explicitly
    assert events == [f"Lost connection to service/demo-head-svc (exit 1: {LOST}); reconnecting in 1s"]
    assert len(resolved) == 2  # re-resolved before the restart


def test_restart_follows_a_moved_head_service(monkeypatch, tmp_path, backend):
    fake = use_fake(monkeypatch, tmp_path, backend.port, plan=[{"die_after": 0.3}, {}])
    names = iter(["service/old-head-svc", "service/new-head-svc"])
    events: list[str] = []
    with forwarder([PortSpec(8265)], events, resolve=lambda: next(names)) as fwd:
        fwd.start(10)
        runs = fake.wait_for_runs(2)
        assert [r["argv"][-2] for r in runs] == ["service/old-head-svc", "service/new-head-svc"]
        assert fwd.target == "service/new-head-svc"


def test_backoff_doubles_to_the_cap_and_resets_after_healthy_time(monkeypatch, tmp_path, backend, fast_backoff):
    monkeypatch.setattr(portforward, "HEALTHY_RESET_SECONDS", 0.6)
    fail = {"fail": "stderr", "stderr": PENDING}
    plan = [{"die_after": 0.2}, fail, fail, fail, {"die_after": 3.0}, {}]  # 3 s: healthy (> 0.6 s) even on a busy machine
    fake = use_fake(monkeypatch, tmp_path, backend.port, plan=plan)
    events: list[str] = []
    with forwarder([PortSpec(8265)], events) as fwd:
        fwd.start(10)
        fake.wait_for_runs(6, timeout=60)
        deadline = time.monotonic() + 60  # bounds for a hung test; they end as soon as the events are in
        while len(events) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    delays = [re.search(r"in ([\d.]+s)$", e).group(1) for e in events]
    assert delays == ["0.1s", "0.2s", "0.4s", "0.4s", "0.1s"]
    assert events[0] == f"Lost connection to service/demo-head-svc (exit 1: {LOST}); reconnecting in 0.1s"
    assert events[1] == f"Could not reconnect to service/demo-head-svc (exit 1: {PENDING}); reconnecting in 0.2s"


def test_permanent_error_after_start_stops_without_retrying(monkeypatch, tmp_path, backend):
    not_found = 'Error from server (NotFound): services "demo-head-svc" not found'
    fake = use_fake(monkeypatch, tmp_path, backend.port, plan=[{"die_after": 0.3, "stderr": not_found}, {}])
    events: list[str] = []
    with forwarder([PortSpec(8265)], events) as fwd:
        fwd.start(10)
        with pytest.raises(PortForwardError) as exc:
            fwd.wait()
        assert exc.value.message == f"kubectl port-forward failed: {not_found}"
        assert not fwd.running()
        assert fwd.failure is exc.value
    time.sleep(0.3)
    assert len(fake.runs()) == 1
    assert events == []


def test_port_in_use_fails_at_once_and_leaves_no_process(monkeypatch, tmp_path, backend):
    fake = use_fake(monkeypatch, tmp_path, backend.port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with forwarder([PortSpec(8265, port)], []) as fwd, pytest.raises(PortInUse) as exc:
            fwd.start(30)
    assert exc.value.local_port == port
    assert exc.value.message == f'local port {port} on 127.0.0.1 is already in use; another "kubectl ray session" may hold it'
    runs = fake.runs()
    assert len(runs) == 1
    assert not pid_alive(runs[0]["pid"])


def test_one_port_of_two_in_use_is_still_a_failure(monkeypatch, tmp_path, backend):
    """kubectl keeps forwarding the ports it could bind; we do not accept half a session."""
    fake = use_fake(monkeypatch, tmp_path, backend.port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with forwarder([PortSpec(8265), PortSpec(10001, port)], []) as fwd, pytest.raises(PortInUse):
            fwd.start(10)
    runs = fake.runs()
    assert len(runs) == 1
    assert not pid_alive(runs[0]["pid"])


def test_start_retries_temporary_failures_then_succeeds(monkeypatch, tmp_path, backend, fast_backoff):
    fake = use_fake(monkeypatch, tmp_path, backend.port, plan=[{"fail": "stderr", "stderr": PENDING}, {}])
    events: list[str] = []
    with forwarder([PortSpec(8265)], events) as fwd:
        fwd.start(10)
        assert get(fwd.url(8265)) == b"dashboard ok"
    assert len(fake.runs()) == 2
    assert events == [f"Port-forward to service/demo-head-svc failed (exit 1: {PENDING}); retrying in 0.1s"]


def test_start_gives_up_at_the_timeout_with_the_last_reason(monkeypatch, tmp_path, backend, fast_backoff):
    use_fake(monkeypatch, tmp_path, backend.port, plan=[{"fail": "stderr", "stderr": PENDING}])
    with forwarder([PortSpec(8265)], []) as fwd, pytest.raises(PortForwardError) as exc:
        fwd.start(1.0)
    # The last reason is kubectl's error, or, when the deadline falls while an attempt is still starting
    # (a busy machine may not even finish the first one in 1 s), that it is still running.
    assert exc.value.message in (f"port-forward to service/demo-head-svc was not ready within 1s (exit 1: {PENDING})",
                                 "port-forward to service/demo-head-svc was not ready within 1s (still running "
                                 "(no 'Forwarding from' line yet))")


def test_target_errors_from_the_resolver(monkeypatch, tmp_path, backend, fast_backoff):
    fake = use_fake(monkeypatch, tmp_path, backend.port)
    calls: list[int] = []

    def not_found() -> str:
        calls.append(1)
        raise KubectlRayError('RayCluster "nope" not found in namespace "default"')

    with forwarder([PortSpec(8265)], [], resolve=not_found) as fwd, pytest.raises(KubectlRayError) as exc:
        fwd.start(5)
    assert exc.value.message == 'RayCluster "nope" not found in namespace "default"'
    assert calls == [1] and fake.runs() == []

    answers = iter([TargetNotReady('RayJob "j" has no head service in its status yet'), "service/j-head-svc"])

    def not_ready_then_ok() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    events: list[str] = []
    with forwarder([PortSpec(8265)], events, resolve=not_ready_then_ok) as fwd:
        fwd.start(5)
        assert fwd.target == "service/j-head-svc"
    assert events == ['Port-forward to the head service failed (RayJob "j" has no head service in its status yet); '
                      "retrying in 0.1s"]


def test_missing_kubectl_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("KUBECTL_PATH", raising=False)
    with forwarder([PortSpec(8265)], []) as fwd, pytest.raises(KubectlRayError, match="^kubectl not found on PATH"):
        fwd.start(5)


def test_stop_frees_the_port_and_is_idempotent(monkeypatch, tmp_path, backend):
    fake = use_fake(monkeypatch, tmp_path, backend.port)
    port = free_port()
    fwd = forwarder([PortSpec(8265, port)], [])
    fwd.start(10)
    assert listening(port)
    fwd.stop()
    fwd.stop()
    assert not listening(port)
    assert not pid_alive(fake.runs()[0]["pid"])
    fwd.wait()  # returns at once after stop, without error


def test_verbose_reports_the_command_with_the_token_masked(monkeypatch, tmp_path, backend):
    use_fake(monkeypatch, tmp_path, backend.port)
    events: list[str] = []
    fwd = PortForwarder(ConnectionFlags(token="s3cret"), "default", lambda: "demo-head-svc", [PortSpec(8265)],
                        on_event=events.append, verbose=True)
    with fwd:
        fwd.start(10)
    assert len(events) == 1
    assert events[0].startswith("Running: ") and "--token=*** port-forward -n default --address 127.0.0.1 " \
        "service/demo-head-svc :8265" in events[0]
    assert "s3cret" not in events[0]
