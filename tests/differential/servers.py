"""Recording servers on loopback for the differential suite: API servers (HTTPS with optional client
certificates, a second certificate for another name, plain HTTP, IPv6), an HTTP CONNECT/forward proxy
and a SOCKS5 proxy. Each records what reached it; none checks credentials (they only observe).

Every server answers just enough of the Kubernetes API for `kubectl get rayclusters` (legacy
discovery and an empty RayClusterList) and for `kubectl ray get cluster`.
"""

from __future__ import annotations

import json
import select
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

RAY_RESOURCES = [{"name": n, "singularName": n[:-1], "namespaced": True, "kind": k, "verbs": ["get", "list"]}
                 for n, k in (("rayclusters", "RayCluster"), ("rayjobs", "RayJob"), ("rayservices", "RayService"))]
_DISCOVERY: dict[str, Any] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"]}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "ray.io", "versions": [{"groupVersion": "ray.io/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "ray.io/v1", "version": "v1"}}]},
    "/apis/ray.io/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "ray.io/v1",
                        "resources": RAY_RESOURCES},
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
}


@dataclass
class Request:
    endpoint: str
    method: str
    path: str
    headers: dict[str, list[str]]
    sni: str | None
    client_cn: str | None

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass
class Recorder:
    """Everything the servers saw, in order; cleared before each run."""

    requests: list[Request] = field(default_factory=list)
    tls_failures: list[tuple[str, str | None, str]] = field(default_factory=list)  # endpoint, SNI, error class
    proxied: list[tuple[str, str, str | None]] = field(default_factory=list)  # kind, target, credentials
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: int = 0  # connections being handled (a handshake's outcome is recorded when it ends)

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every connection the run opened has been handled (and its outcome recorded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.active == 0:
                    return
            time.sleep(0.01)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.tls_failures.clear()
            self.proxied.clear()

    def add(self, bucket: list, item: Any) -> None:
        with self.lock:
            bucket.append(item)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: Any, family: int = socket.AF_INET) -> None:
        self.address_family = family
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that rejects our certificate is an expected outcome, not something to print."""


def _serve(server: socketserver.BaseServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return thread


class ApiServer:
    """A recording Kubernetes API stand-in; TLS when given a context (client certificates optional)."""

    def __init__(self, name: str, recorder: Recorder, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.name = name
        owner = self

        class Handler(_ApiHandler):
            server_owner = owner

        self.recorder = recorder
        self.tls = tls
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.server = _Server((host, 0), Handler, family)
        self.host = host
        self.port = self.server.server_address[1]
        if tls is not None:
            tls.sni_callback = _remember_sni
        self.thread = _serve(self.server)

    @property
    def netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.netloc}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _remember_sni(sock: Any, name: str | None, _context: Any) -> None:
    sock.sni_name = name


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: ApiServer

    def setup(self) -> None:
        owner = self.server_owner
        with owner.recorder.lock:
            owner.recorder.active += 1
        self.sni: str | None = None
        self.client_cn: str | None = None
        self.request.settimeout(30)
        if owner.tls is not None:
            try:
                self.request = owner.tls.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                owner.recorder.add(owner.recorder.tls_failures, (owner.name, None, type(exc).__name__))
                self._done()  # finish() does not run when setup() fails
                raise
            self.sni = getattr(self.request, "sni_name", None)
            self.client_cn = _common_name(self.request.getpeercert())
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._done()

    def _done(self) -> None:
        owner = self.server_owner
        with owner.recorder.lock:
            owner.recorder.active -= 1

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        owner = self.server_owner
        headers: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            headers.setdefault(key.lower(), []).append(value)
        owner.recorder.add(owner.recorder.requests,
                           Request(owner.name, "GET", self.path, headers, self.sni, self.client_cn))
        self._answer(_route(self.path.split("?", 1)[0]))

    def _answer(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _route(path: str) -> Any:
    if path.startswith("/prefix/"):
        path = path[len("/prefix"):]
    if path in _DISCOVERY:
        return _DISCOVERY[path]
    if path.endswith("/rayclusters"):
        return {"apiVersion": "ray.io/v1", "kind": "RayClusterList", "metadata": {"resourceVersion": "1"}, "items": []}
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}


def _common_name(cert: dict[str, Any] | None) -> str | None:
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


# --- proxies -----------------------------------------------------------------------------------------


class _ProxyBase:
    kind = ""

    def __init__(self, recorder: Recorder, resolve: Callable[[str, int], tuple[str, int]]) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(30)
                try:
                    owner.handle(self.request)
                except OSError:
                    pass

        self.recorder = recorder
        self.resolve = resolve  # any host name the proxy is asked for -> a loopback server
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = _serve(self.server)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpProxy(_ProxyBase):
    """CONNECT tunnels and absolute-URI forwarding, recording target and Proxy-Authorization."""

    def handle(self, conn: socket.socket) -> None:
        if conn.recv(1, socket.MSG_PEEK) in (b"\x16", b""):  # a TLS hello: this proxy speaks plain HTTP only
            return
        head = _read_until(conn, b"\r\n\r\n")
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.decode("latin-1").partition(":") for line in rest.split(b"\r\n") if line)}
        auth = headers.get("proxy-authorization")
        if method == "CONNECT":
            self.recorder.add(self.recorder.proxied, ("connect", target, auth))
            upstream = socket.create_connection(self.resolve(*_split(target)), timeout=10)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(conn, upstream)
            return
        url = target.split("://", 1)[1]
        netloc, _, path = url.partition("/")
        self.recorder.add(self.recorder.proxied, ("forward", netloc, auth))
        upstream = socket.create_connection(self.resolve(*_split(netloc)), timeout=10)
        kept = [line for line in rest.split(b"\r\n") if line and not line.lower().startswith((b"proxy-", b"connection"))]
        upstream.sendall(f"{method} /{path} {version}\r\n".encode() + b"\r\n".join(kept + [b"Connection: close"]) + b"\r\n\r\n")
        _pipe(conn, upstream)


class Socks5Proxy(_ProxyBase):
    """RFC 1928 CONNECT with no auth or RFC 1929 user/password, recording target and credentials."""

    def handle(self, conn: socket.socket) -> None:
        _, count = _exact(conn, 2)
        methods = _exact(conn, count)
        credentials = None
        if 2 in methods:
            conn.sendall(b"\x05\x02")
            _exact(conn, 1)
            user = _exact(conn, _exact(conn, 1)[0]).decode()
            password = _exact(conn, _exact(conn, 1)[0]).decode()
            credentials = f"{user}:{password}"
            conn.sendall(b"\x01\x00")
        else:
            conn.sendall(b"\x05\x00")
        _, _, _, atyp = _exact(conn, 4)
        if atyp == 3:
            host = _exact(conn, _exact(conn, 1)[0]).decode()
        else:
            raw = _exact(conn, 4 if atyp == 1 else 16)
            host = socket.inet_ntop(socket.AF_INET if atyp == 1 else socket.AF_INET6, raw)
        port = int.from_bytes(_exact(conn, 2), "big")
        self.recorder.add(self.recorder.proxied, ("socks5", f"{host}:{port}", credentials))
        upstream = socket.create_connection(self.resolve(host, port), timeout=10)
        conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
        _pipe(conn, upstream)


def _split(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host.strip("[]"), int(port)


def _read_until(conn: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _exact(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until either side closes."""
    try:
        sockets = [a, b]
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                return
            for src in readable:
                data = src.recv(65536)
                if not data:
                    return
                (b if src is a else a).sendall(data)
    finally:
        b.close()
