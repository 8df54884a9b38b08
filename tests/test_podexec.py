"""The native pod exec client (kubectl_ray/kube/podexec.py): against the emulator, and against a raw
WebSocket server on loopback for what the emulator cannot send (fragments, pings, broken frames)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from kubectl_ray.kube import connect
from kubectl_ray.kube.errors import ApiError, ConnectionFailed
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.podexec import Cancelled, open_exec

NS = "default"
RAY_LOGS = "/tmp/ray/session_latest/logs"
TAR = ["tar", "-cf", "-", "-C", RAY_LOGS, "."]


def add_pod(emu: Any, name: str = "p", phase: str = "Running") -> None:
    emu.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
             "spec": {"containers": [{"name": "ray-head"}]}, "status": {"phase": phase}})


def read_all(session: Any, cancel: threading.Event | None = None) -> bytes:
    return b"".join(bytes(view) for view in session.stdout(cancel))


# --- against the emulator ------------------------------------------------------------------------------


@pytest.mark.parametrize("offered, expected", [
    (None, "v5.channel.k8s.io"),
    (("v4.channel.k8s.io",), "v4.channel.k8s.io"),
])
def test_negotiates_v5_and_falls_back_to_v4(emulator, tmp_path, offered, expected):
    emu = emulator.emu
    add_pod(emu)
    if offered:
        emu.exec_protocols = offered
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "raylet.out").write_bytes(b"hello\n")
    emu.pod_files[(NS, "p")] = {RAY_LOGS: str(logs)}
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    with open_exec(kube, "p", NS, TAR, "ray-head") as session:
        data = read_all(session)
    assert session.protocol == expected
    assert session.failure() is None
    assert b"hello\n" in data and data[:512].startswith(b"./")
    request = emu.requests_where(verb="exec", name="p")[0]
    assert request.query["command"] == TAR and request.q("container") == "ray-head"
    assert request.q("stdout") == "true" and request.q("stderr") == "true" and request.q("stdin") is None


def test_no_common_protocol_is_one_clear_error(emulator):
    emu = emulator.emu
    add_pod(emu)
    emu.exec_protocols = ("v3.channel.k8s.io",)
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    with pytest.raises(ConnectionFailed, match="offered no supported streaming protocol"):
        open_exec(kube, "p", NS, TAR, "ray-head")


@pytest.mark.parametrize("pod, phase, rendered", [
    ("nope", None, 'Error from server (NotFound): pods "nope" not found'),
    ("p", "Pending", 'Error from server (BadRequest): unable to upgrade connection: container not found ("ray-head")'),
])
def test_a_refused_upgrade_reads_like_kubectl(emulator, pod, phase, rendered):
    if phase:
        add_pod(emulator.emu, phase=phase)
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    with pytest.raises(ApiError) as caught:
        open_exec(kube, pod, NS, TAR, "ray-head")
    assert caught.value.render() == rendered


def test_stderr_and_the_exit_status_are_kept(emulator):
    emu = emulator.emu
    add_pod(emu)

    async def failing(emu_, namespace, pod_name, container, command):
        yield 1, b"partial"
        yield 2, b"tar: oops\n"
        yield 3, {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                  "message": "command terminated with non-zero exit code: exit code 2"}

    emu.exec_handler = failing
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    with open_exec(kube, "p", NS, TAR, "ray-head") as session:
        assert read_all(session) == b"partial"
    assert session.stderr == b"tar: oops\n"
    assert session.failure() == "command terminated with non-zero exit code: exit code 2"


def test_frames_larger_than_the_receive_buffer_stream_in_pieces(emulator):
    """A 5 MiB frame arrives whole and in order, in pieces no larger than the 1 MiB receive buffer."""
    from kubectl_ray.websocket import RECV_BUFFER

    emu = emulator.emu
    add_pod(emu)
    big = os.urandom(5 << 20)

    async def one_big_frame(emu_, namespace, pod_name, container, command):
        yield 1, big
        yield 1, b"tail"

    emu.exec_handler = one_big_frame
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    digest, size, largest = hashlib.sha256(), 0, 0
    with open_exec(kube, "p", NS, TAR, "ray-head") as session:
        for view in session.stdout():
            digest.update(view)
            size += len(view)
            largest = max(largest, len(view))
    assert size == len(big) + 4
    assert digest.hexdigest() == hashlib.sha256(big + b"tail").hexdigest()
    assert largest <= RECV_BUFFER, "a frame was collected whole in memory"


def test_cancel_stops_a_silent_stream(emulator):
    import asyncio

    emu = emulator.emu
    add_pod(emu)

    async def stall(emu_, namespace, pod_name, container, command):
        yield 1, b"first"
        await asyncio.sleep(60)

    emu.exec_handler = stall
    kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
    cancel = threading.Event()
    with open_exec(kube, "p", NS, TAR, "ray-head") as session:
        with pytest.raises(Cancelled):
            for view in session.stdout(cancel):
                assert bytes(view) == b"first"
                cancel.set()


# --- against a raw WebSocket server ---------------------------------------------------------------------


def frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = False) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if len(payload) < 126:
        head += bytes([mask_bit | len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", len(payload))
    if masked:
        head += b"\0\0\0\0"
    return head + payload


def status_frame(ok: bool = True) -> bytes:
    body = b'{"metadata":{},"status":"Success"}' if ok else b'{"status":"Failure","message":"boom"}'
    return frame(2, b"\x03" + body)


class RawServer:
    """Accepts one WebSocket upgrade on 127.0.0.1 and plays `script(conn)`; records what the client sent."""

    def __init__(self, script: Callable[[socket.socket], None], protocol: str = "v5.channel.k8s.io") -> None:
        self.script = script
        self.protocol = protocol
        self.received = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "RawServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.thread.join(10)

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:  # closed before the client connected (it gave up first)
            return
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return  # the client gave up before its request was complete
                request += chunk
            key = [line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: " +
                         self.protocol.encode() + b"\r\n\r\n")
            self.script(conn)
            conn.shutdown(socket.SHUT_WR)  # the end of what the server says
            conn.settimeout(2)
            try:
                while chunk := conn.recv(4096):
                    self.received += chunk
            except OSError:
                pass


def raw_exec(server: RawServer) -> Any:
    kube = connect(ConnectionFlags(server=server.url, token="t", namespace=NS))
    return open_exec(kube, "p", NS, TAR)


def test_fragments_pings_and_byte_by_byte_delivery():
    def script(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = (frame(2, b"\x01hel", fin=False) + frame(9, b"are you there") + frame(0, b"lo ", fin=False)
                + frame(0, b"world", fin=True) + frame(2, b"\x02to stderr") + frame(2, b"\x01" + b"x" * 70000)
                + frame(2, b"", fin=False) + frame(0, b"\x01!", fin=True)  # the channel byte in a continuation
                + status_frame() + frame(8, struct.pack("!H", 1000)))
        for i in range(0, 200):
            conn.sendall(data[i:i + 1])  # the first frames one byte at a time
        conn.sendall(data[200:])

    with RawServer(script) as server:
        session = raw_exec(server)
        data = read_all(session)
        session.close()
    assert data == b"hello world" + b"x" * 70000 + b"!"
    assert session.stderr == b"to stderr" and session.failure() is None
    # the client answered the ping with a masked pong carrying the same payload, then closed
    pong = server.received[:2 + 4 + 13]
    assert pong[0] == 0x8A and pong[1] == 0x80 | 13
    unmasked = bytes(b ^ pong[2 + i % 4] for i, b in enumerate(pong[6:]))
    assert unmasked == b"are you there"
    assert server.received[len(pong)] == 0x88  # close


@pytest.mark.parametrize("tail, message", [
    (frame(2, b"\x01abc", masked=True), "sent a masked frame"),
    (bytes([0x82 | 0x40, 3]) + b"\x01ab", "reserved bits set"),
    (bytes([0x89, 126]) + struct.pack("!H", 200) + b"x" * 200, "fragmented or oversized control frame"),
    (bytes([0x83, 1]) + b"x", "unknown opcode 3"),
    (frame(2, b"\x01" + b"y" * 1000)[:500], "closed the connection in the middle of a frame"),
    (b"\x82", "in the middle of a frame header"),
])
def test_broken_frames_are_one_clear_error(tail, message):
    with RawServer(lambda conn: conn.sendall(frame(2, b"\x01ok") + tail)) as server:
        session = raw_exec(server)
        with pytest.raises(ConnectionFailed, match=message):
            read_all(session)
        session.close()


def test_a_silent_server_is_pinged_then_given_up(monkeypatch):
    from kubectl_ray import websocket

    monkeypatch.setattr(websocket, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(websocket, "PING_AFTER_SECONDS", 0.2)
    monkeypatch.setattr(websocket, "GIVE_UP_AFTER_SECONDS", 1.0)
    release = threading.Event()
    with RawServer(lambda conn: release.wait(30)) as server:
        session = raw_exec(server)
        with pytest.raises(ConnectionFailed, match=r"no data from the server for 1s; giving up"):
            read_all(session)
        session.close()
        release.set()
    assert b"\x89\x80" in server.received, "the client pinged while it waited"


def test_credentials_with_line_breaks_are_refused_without_being_shown():
    from kubectl_ray.errors import KubectlRayError

    with RawServer(lambda conn: None) as server:
        # https: credentials are only ever sent over TLS, and are checked before anything is sent
        kube = connect(ConnectionFlags(server=server.url.replace("http://", "https://"), token="secret\r\nX-Evil: 1",
                                       namespace=NS, insecure_skip_tls_verify=True))
        with pytest.raises(KubectlRayError) as caught:
            open_exec(kube, "p", NS, TAR)
    assert "secret" not in caught.value.render() and "X-Evil" not in caught.value.render()
    assert server.received == b""


def test_the_exec_path_does_not_import_the_kubernetes_package(tmp_path: Path):
    """Start-up: `log` must not pay for importing the kubernetes client any more."""
    import subprocess
    import sys

    code = ("import sys; import kubectl_ray.kube.podexec, kubectl_ray.kube.podlogs, kubectl_ray.safetar; "
            "print(any(m == 'kubernetes' or m.startswith('kubernetes.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the connection comes from the native transport: TLS, credentials, proxy ------------------------------


def test_exec_over_tls_with_a_token_through_a_connect_proxy(tmp_path):
    """The adapter hands exec the transport's TLS context, auth headers and proxy tunnel."""
    import base64 as b64
    import socketserver
    import ssl

    import trustme

    from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig

    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    emu = Emulator()
    emu.tokens = {"exec-token": "alice"}
    add_pod(emu)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "raylet.out").write_bytes(b"through the tunnel\n")
    emu.pod_files[(NS, "p")] = {RAY_LOGS: str(logs)}
    tunnels: list[str] = []

    class ConnectProxy(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            target = self.rfile.readline().decode().split(" ")[1]
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            tunnels.append(target)
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            pipes = [threading.Thread(target=_pipe, args=pair) for pair in
                     ((self.connection, upstream), (upstream, self.connection))]
            for pipe in pipes:
                pipe.start()
            for pipe in pipes:
                pipe.join()

    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), ConnectProxy)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        with EmulatorServer(emu, ssl_context=ctx) as server:
            cfg = kubeconfig(server.url, token="exec-token", cluster_extra={
                "certificate-authority-data": b64.b64encode(ca.cert_pem.bytes()).decode(),
                "proxy-url": f"http://127.0.0.1:{proxy.server_address[1]}"})
            kube = connect(ConnectionFlags(kubeconfig=write_kubeconfig(tmp_path / "cfg", cfg)))
            with open_exec(kube, "p", NS, TAR, "ray-head") as session:
                data = read_all(session)
            assert b"through the tunnel\n" in data and session.failure() is None
            assert tunnels == [server.url.split("//", 1)[1]]
            assert emu.requests_where(verb="exec", name="p")[0].user == "alice"
    finally:
        proxy.shutdown()
        proxy.server_close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_a_401_at_the_upgrade_refreshes_exec_plugin_credentials_once(secure_emulator, tmp_path):
    import json
    import stat
    import sys

    from tests.emulator import write_kubeconfig

    runs = tmp_path / "runs"
    plugin = tmp_path / "credential-plugin"
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": "exec-token"}}
    plugin.write_text(f"#!{sys.executable}\nimport pathlib\np = pathlib.Path({str(runs)!r})\n"
                      f"p.write_text(p.read_text() + 'x' if p.exists() else 'x')\nprint({json.dumps(credential)!r})\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                     "interactiveMode": "Never"}}
    emu = secure_emulator.emu  # exec plugins run only for https servers, as in kubectl
    emu.tokens = {"exec-token": "dave"}
    add_pod(emu)
    logs = tmp_path / "logs"
    logs.mkdir()
    emu.pod_files[(NS, "p")] = {RAY_LOGS: str(logs)}
    emu.fault(verb="exec", status=401, times=1)
    cfg = yaml.safe_load(Path(secure_emulator.kubeconfig).read_text())
    cfg["users"][0]["user"] = user
    kube = connect(ConnectionFlags(kubeconfig=write_kubeconfig(tmp_path / "cfg", cfg)))
    with open_exec(kube, "p", NS, TAR, "ray-head") as session:
        read_all(session)
    assert session.failure() is None
    assert runs.read_text() == "xx", "the plugin ran again after the 401"
    assert [r.user for r in emu.requests_where(verb="exec")][-1] == "dave"
