"""Run a command in a pod over the exec WebSocket, with nothing but the standard library.

    with open_exec(kube, pod, namespace, ["tar", "-cf", "-", "."], container="ray-head") as session:
        for view in session.stdout(cancel):   # memoryviews, valid only until the next one is asked for
            out.write(view)
    session.failure()   # None, or the server's message (non-zero exit code, exec error)
    session.stderr      # the command's stderr (the first 64 KiB)

The protocol is client-go's (tools/remotecommand/websocket.go, as kubectl >= 1.30 speaks it): a GET
on pods/NAME/exec upgraded to a WebSocket that offers v5.channel.k8s.io, then v4.channel.k8s.io.
Every binary message starts with a channel byte: 1 stdout, 2 stderr, 3 the final Status as JSON
(v5 adds 255, "close this stream", which only a client with stdin sends). No stdin, no TTY.

Why not the `kubernetes` package's WSClient: its pure-Python frame loop copies every payload
several times (and keeps a second copy of all output for read_all()), and importing it costs
~250 ms. The frames are read by kubectl_ray/websocket.py in place (memoryview slices of one large
recv_into buffer, no copy between the socket and the file); silence is met with pings every 5 s and
given up after 61 s without any byte, like client-go.

The connection itself (TLS context, proxy, credentials) comes from the native transport through
one adapter, `_connect`.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import quote, urlencode

from kubectl_ray import websocket
from kubectl_ray.kube.errors import ApiError, ConnectionFailed, RequestInfo
from kubectl_ray.websocket import BINARY, TEXT, Cancelled, FrameReader, WebSocketError

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3
MAX_STDERR = 64 << 10
MAX_STATUS = 64 << 10
__all__ = ["Cancelled", "ExecSession", "open_exec"]


class ExecSession:
    """One running command: read stdout with `stdout()`, then look at `failure()` and `stderr`."""

    def __init__(self, sock: socket.socket, initial: bytes, protocol: str, where: str) -> None:
        self.protocol = protocol
        self.stderr = b""
        self._where = where
        self._status = bytearray()
        self._frames = FrameReader(sock, initial)

    def __enter__(self) -> "ExecSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stdout(self, cancel: threading.Event | None = None) -> Iterator[memoryview]:
        """stdout as it arrives; each view is only valid until the next one is requested."""
        channel, need_channel = 0, False
        try:
            for opcode, piece in self._frames.payloads(cancel):
                # a message's first byte names its channel (text frames are taken as binary)
                need_channel = need_channel or opcode in (TEXT, BINARY)
                if need_channel:
                    if not piece:
                        continue
                    channel, piece, need_channel = piece[0], piece[1:], False
                    if not piece:
                        continue
                if channel == STDOUT:
                    yield piece
                elif channel == STDERR:
                    if len(self.stderr) < MAX_STDERR:
                        self.stderr += bytes(piece[:MAX_STDERR - len(self.stderr)])
                elif channel == ERROR:
                    if len(self._status) < MAX_STATUS:
                        self._status += piece[:MAX_STATUS - len(self._status)]
        except WebSocketError as exc:
            raise ConnectionFailed(f"exec into pod {self._where}: {exc}") from None

    def drain(self, cancel: threading.Event | None = None) -> int:
        """Read to the end (the final status comes last); returns how many stdout bytes were dropped."""
        return sum(len(view) for view in self.stdout(cancel))

    def failure(self) -> str | None:
        """None if the command succeeded, else the server's message (exit code or exec error)."""
        import json

        if not self._status:
            return None
        try:
            status = json.loads(bytes(self._status))
        except ValueError:
            return self._status.decode("utf-8", "replace").strip() or None
        if not isinstance(status, dict) or status.get("status") == "Success":
            return None
        return str(status.get("message") or status.get("reason") or "command failed")

    def close(self) -> None:
        self._frames.close()


def open_exec(kube: "KubeClient", pod: str, namespace: str, command: list[str],
              container: str | None = None) -> ExecSession:
    """Start `command` in a pod with stdout and stderr only (no stdin, no TTY); errors as kubectl words them."""
    from kubectl_ray.kube.resources import PODS

    query: list[tuple[str, str]] = [("command", part) for part in command]
    if container:
        query.append(("container", container))
    query += [("stdout", "true"), ("stderr", "true")]
    path = PODS.path(namespace, pod, "exec") + "?" + urlencode(query, quote_via=quote)
    info = RequestInfo("create", "pods/exec", namespace, pod)
    where = f"{namespace}/{pod}"
    refreshed = False
    while True:
        sock, target, headers, refresh = _connect(kube, quote(path, safe="/:@?&=%"))
        try:
            try:
                answer = websocket.upgrade(sock, target, headers, PROTOCOLS)
                if answer.status == 401 and not refreshed and refresh():
                    refreshed = True
                    sock.close()
                    continue
                if answer.status != 101:
                    raise ApiError.from_response(answer.status, websocket.error_body(sock, answer), info)
                protocol = websocket.accepted_protocol(answer, PROTOCOLS)
            except WebSocketError as exc:
                raise ConnectionFailed(f"exec into pod {where}: {exc}") from None
            except OSError as exc:
                raise ConnectionFailed(f"exec into pod {where} failed: {exc.strerror or type(exc).__name__}") from None
        except BaseException:
            sock.close()
            raise
        return ExecSession(sock, answer.rest, protocol, where)


# --- the connection: one adapter onto the native transport ------------------------------------------


def _connect(kube: "KubeClient", path: str) -> tuple[socket.socket, str, list[tuple[str, str]], Callable[[], bool]]:
    """A connected (TLS, proxied) socket, the request target, the headers, and how to refresh
    credentials after a 401 (True if they changed), all from the transport's own setup.

    This is the only function that knows the transport's insides: whoever reshapes
    kube/transport.py adapts it here.
    """
    from kubectl_ray.kube.deadline import Deadline
    from kubectl_ray.kube.transport import USER_AGENT, HttpTransport

    transport = kube.transport if isinstance(kube.transport, HttpTransport) else HttpTransport(kube.config)
    deadline = Deadline(kube.config.timeout or 30.0)
    credentials = transport.request_headers(deadline)  # before connecting, as for every request
    sock = transport.open_connection(deadline)  # proxies are tunnelled (CONNECT/SOCKS5) even for http
    endpoint = transport.endpoint
    headers = [("Host", endpoint.netloc), ("User-Agent", USER_AGENT)]
    headers += [(name, value.decode("latin-1")) for name, value in credentials]  # bytes kept as sent

    def refresh() -> bool:
        if not transport.auth.refresh():
            return False
        transport._reset_tls()  # an exec plugin may have issued a new client certificate too
        return True

    return sock, endpoint.base_path + path, headers, refresh
