"""--request-timeout is a deadline for the whole request, like kubectl's: a server that trickles its
headers or its body, a dashboard that does the same, and an exec plugin that never exits all end in
one `error:` line (exit 1; `debug`: 3) instead of a hang.

No wall-time asserts: the pytest timeout is the guard, the error line and exit code are the checks
(timing figures: see the helper's report / benchmarks).
"""

from __future__ import annotations

import base64
import socket
import ssl
import stat
import sys
import threading
from typing import Iterator

import pytest
import trustme

from tests.conftest import run_cli
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig

TIMEOUT = "1s"
RAYJOB = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "nightly", "namespace": "default"},
          "spec": {"jobId": "raysubmit_1", "entrypoint": "python x.py"}, "status": {"jobId": "raysubmit_1"}}


class TrickleServer:
    """Accepts HTTP requests and answers too slowly: the status line and headers one byte at a time
    (`headers`), or headers at once and then the body one byte at a time (`body`)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        body = b'{"items": []}' + b" " * 10_000
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        try:
            conn.recv(65536)
            slow, fast = (head + body, b"") if self.mode == "headers" else (body, head)
            conn.sendall(fast)
            for byte in slow:
                if self.stop.wait(0.2):
                    break
                conn.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(params=["headers", "body"])
def trickle(request) -> Iterator[TrickleServer]:
    server = TrickleServer(request.param)
    yield server
    server.close()


COMMANDS = {
    "get": (["get", "cluster"], 1),
    "version": (["version"], 1),
    "debug": (["debug", "demo"], 3),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_api_server_trickling_ends_in_one_line(tmp_path, trickle, command):
    args, code = COMMANDS[command]
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(trickle.url))
    result = run_cli(*args, "--kubeconfig", path, "--request-timeout", TIMEOUT)
    assert result.exit_code == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result
    assert "after 1s (--request-timeout)" in lines[0], result
    assert "unexpected" not in result.stderr


@pytest.mark.timeout(60)
def test_dashboard_trickling_ends_in_one_line(emulator, trickle):
    emulator.emu.add(RAYJOB)
    result = emulator.run("job", "logs", "nightly", "--address", trickle.url, "--request-timeout", TIMEOUT)
    assert result.exit_code == 1, result
    assert result.stderr.strip() == f"error: the Ray dashboard at {trickle.url} did not answer within 1s", result


# --- an exec plugin that never exits -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[tuple[Emulator, str, str]]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    emu = Emulator()
    emu.add(RAYJOB)
    with EmulatorServer(emu, ssl_context=ctx) as server:
        yield emu, server.url, base64.b64encode(ca.cert_pem.bytes()).decode()


@pytest.fixture
def hanging_plugin_kubeconfig(tmp_path, tls_cluster) -> str:
    _, url, ca_data = tls_cluster
    plugin = tmp_path / "hang"
    plugin.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(3600)\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}
    return write_kubeconfig(tmp_path / "cfg", kubeconfig(url, user=user, cluster_extra={"certificate-authority-data": ca_data}))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", [*sorted(COMMANDS), "job logs"])
def test_exec_plugin_that_never_exits_ends_in_one_line(hanging_plugin_kubeconfig, command):
    args, code = COMMANDS.get(command, (["job", "logs", "nightly", "--address", "http://127.0.0.1:1"], 1))
    result = run_cli(*args, "--kubeconfig", hanging_plugin_kubeconfig, "--request-timeout", TIMEOUT)
    assert result.exit_code == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("error: ") and "hang did not finish within 1s (--request-timeout); it was stopped" in lines[0]
