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
~250 ms. Here server frames, which are never masked, are parsed in place: one large recv_into
buffer, payloads handed on as memoryview slices, no copy between the socket and the file.
Control frames are answered (pong, close); client frames are masked as RFC 6455 requires.
Silence is met with pings every 5 s and given up after 61 s without any byte, like client-go.

The connection itself (TLS context, proxy, credentials) comes from the native transport through
one adapter, `_connect`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import quote, urlencode

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.kube.errors import ApiError, ConnectionFailed, RequestInfo

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3
# One recv_into can bring many frames; the kernel's socket buffer (left to TCP autotuning: setting
# SO_RCVBUF would switch that off and usually cap it lower) is what absorbs bursts.
RECV_BUFFER = 1 << 20
POLL_SECONDS = 1.0
PING_AFTER_SECONDS = 5.0
GIVE_UP_AFTER_SECONDS = 61.0  # client-go: pingPeriod * 12 + 1 s
MAX_HANDSHAKE_BYTES = 64 << 10
MAX_ERROR_BODY = 1 << 20
MAX_STDERR = 64 << 10
MAX_STATUS = 64 << 10
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class Cancelled(Exception):
    """The caller asked the stream to stop (Ctrl-C)."""


class ExecSession:
    """One running command: read stdout with `stdout()`, then look at `failure()` and `stderr`."""

    def __init__(self, sock: socket.socket, initial: bytes, protocol: str, where: str) -> None:
        self.protocol = protocol
        self.stderr = b""
        self._sock = sock
        self._where = where
        self._status = bytearray()
        self._buffer = bytearray(max(RECV_BUFFER, len(initial)))
        self._view = memoryview(self._buffer)
        self._view[:len(initial)] = initial
        self._start, self._end = 0, len(initial)
        self._closed = False

    def __enter__(self) -> "ExecSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ------------------------------------------------------------------------------

    def stdout(self, cancel: threading.Event | None = None) -> Iterator[memoryview]:
        """stdout as it arrives; each view is only valid until the next one is requested."""
        channel, need_channel = 0, False
        for first, piece in self._payloads(cancel):
            need_channel = need_channel or first
            if need_channel:  # a message's first byte names its channel
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
        if self._closed:
            return
        self._closed = True
        try:
            self._send(_CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass

    # --- frames -------------------------------------------------------------------------------

    def _payloads(self, cancel: threading.Event | None) -> Iterator[tuple[bool, memoryview]]:
        """(first piece of a message?, payload piece) for every data frame.

        Payloads are yielded in pieces as they arrive, so a frame of any size needs no more
        memory than the receive buffer.
        """
        view = self._view
        while not self._closed:
            header = self._frame_header(cancel)
            if header is None:
                return
            opcode, length = header
            if opcode >= _CLOSE:
                self._control(opcode, self._read_exact(length, cancel))
                continue
            first = opcode != _CONTINUATION  # text frames are taken as binary: the channel byte comes first
            if length == 0 and first:
                yield True, view[0:0]
            while length:
                if self._start == self._end and not self._fill(cancel):
                    raise self._lost("in the middle of a frame")
                take = min(length, self._end - self._start)
                piece = view[self._start:self._start + take]
                self._start += take
                length -= take
                yield first, piece
                first = False

    def _frame_header(self, cancel: threading.Event | None) -> tuple[int, int] | None:
        """The next frame's (opcode, payload length), or None at a clean end of stream.

        Fragmented messages need no FIN bookkeeping: a continuation frame stays on its message's channel.
        """
        while self._end - self._start < 2:
            if not self._fill(cancel):
                if self._start == self._end:
                    return None
                raise self._lost("in the middle of a frame header")
        b0, b1 = self._buffer[self._start], self._buffer[self._start + 1]
        if b0 & 0x70:
            raise self._protocol("a frame with reserved bits set (no extension was negotiated)")
        if b1 & 0x80:
            raise self._protocol("a masked frame (servers must not mask)")
        length, size = b1 & 0x7F, 2
        if length == 126:
            size = 4
        elif length == 127:
            size = 10
        while self._end - self._start < size:
            if not self._fill(cancel):
                raise self._lost("in the middle of a frame header")
        if size == 4:
            length = struct.unpack_from("!H", self._buffer, self._start + 2)[0]
        elif size == 10:
            length = struct.unpack_from("!Q", self._buffer, self._start + 2)[0]
            if length >> 63:
                raise self._protocol("a frame longer than 2^63 bytes")
        opcode = b0 & 0x0F
        if opcode >= _CLOSE and (length > 125 or not b0 & 0x80):
            raise self._protocol("a fragmented or oversized control frame")
        if opcode not in (_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG):
            raise self._protocol(f"a frame with unknown opcode {opcode}")
        self._start += size
        return opcode, length

    def _read_exact(self, length: int, cancel: threading.Event | None) -> bytes:
        while self._end - self._start < length:
            if not self._fill(cancel):
                raise self._lost("in the middle of a frame")
        data = bytes(self._view[self._start:self._start + length])
        self._start += length
        return data

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == _PING:
            self._send(_PONG, payload)
        elif opcode == _CLOSE:
            self.close()

    def _fill(self, cancel: threading.Event | None) -> bool:
        """Receive more bytes after the unread ones; False at end of stream."""
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buffer):  # only a partial frame header is left: move it to the front
            left = self._end - self._start
            self._view[:left] = self._view[self._start:self._end]
            self._start, self._end = 0, left
        silent_since = time.monotonic()
        last_ping = silent_since
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                count = self._sock.recv_into(self._view[self._end:])
            except (socket.timeout, TimeoutError):
                now = time.monotonic()
                if now - silent_since >= GIVE_UP_AFTER_SECONDS:
                    raise ConnectionFailed(f"exec into pod {self._where}: no data from the server for "
                                           f"{GIVE_UP_AFTER_SECONDS:g}s; giving up") from None
                if now - last_ping >= PING_AFTER_SECONDS:
                    last_ping = now
                    self._send(_PING, b"")
                continue
            except OSError as exc:
                if self._closed:
                    return False
                raise self._lost(f"({exc.strerror or type(exc).__name__})") from None
            if count == 0:
                return False
            self._end += count
            return True

    def _send(self, opcode: int, payload: bytes) -> None:
        """A masked client frame (control frames only: this client never sends data)."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def _lost(self, when: str) -> ConnectionFailed:
        return ConnectionFailed(f"exec into pod {self._where}: the server closed the connection {when}")

    def _protocol(self, what: str) -> ConnectionFailed:
        return ConnectionFailed(f"exec into pod {self._where}: the server sent {what}")


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
            status, response_headers, rest, key = _handshake(sock, target, headers, where)
            if status == 401 and not refreshed and refresh():
                refreshed = True
                sock.close()
                continue
            if status != 101:
                body = _error_body(sock, response_headers, rest)
                raise ApiError.from_response(status, body, info)
            protocol = _accept(response_headers, key, where)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(POLL_SECONDS)
        return ExecSession(sock, rest, protocol, where)


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


# --- the upgrade --------------------------------------------------------------------------------------


def _handshake(sock: socket.socket, target: str, headers: list[tuple[str, str]],
               where: str) -> tuple[int, dict[str, str], bytes, str]:
    """Send the upgrade request; (status, lower-cased headers, bytes read past the headers, the key sent)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {target} HTTP/1.1"]
    for name, value in headers + [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                  ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
                                  ("Sec-WebSocket-Protocol", ", ".join(PROTOCOLS))]:
        if any(c in value for c in "\r\n\0"):
            raise KubectlRayError(f"the {name} header would contain a line break or NUL; check the credentials "
                                  "and --as/--as-group/--token values (not shown)")
        lines.append(f"{name}: {value}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    received = bytearray()
    try:
        sock.sendall(request)
        while b"\r\n\r\n" not in received:
            if len(received) > MAX_HANDSHAKE_BYTES:
                raise ConnectionFailed(f"exec into pod {where}: the server's answer has more than "
                                       f"{MAX_HANDSHAKE_BYTES} bytes of headers")
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionFailed(f"exec into pod {where}: the server closed the connection during the upgrade")
            received += chunk
    except OSError as exc:
        raise ConnectionFailed(f"exec into pod {where} failed: {exc.strerror or type(exc).__name__}") from None
    head, rest = bytes(received).split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionFailed(f"exec into pod {where}: the server did not answer with HTTP")
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return int(parts[1]), parsed, rest, key


def _accept(response: dict[str, str], key: str, where: str) -> str:
    """Check the server really switched to a WebSocket with one of our protocols; returns the protocol."""
    expected = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
    if response.get("upgrade", "").lower() != "websocket" or response.get("sec-websocket-accept") != expected:
        raise ConnectionFailed(f"exec into pod {where}: the server's WebSocket upgrade is not valid")
    protocol = response.get("sec-websocket-protocol", "")
    if protocol not in PROTOCOLS:
        raise ConnectionFailed(f"exec into pod {where}: the server offered no supported streaming protocol "
                               f"(asked for {', '.join(PROTOCOLS)}, got {protocol or 'none'})")
    return protocol


def _error_body(sock: socket.socket, headers: dict[str, str], rest: bytes) -> bytes:
    """The body of a refused upgrade (a Status object), read whole up to 1 MiB."""
    body = bytearray(rest)
    length = headers.get("content-length", "")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    want = int(length) if length.isdigit() else MAX_ERROR_BODY
    try:
        sock.settimeout(10)
        while len(body) < min(want, MAX_ERROR_BODY):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
            if chunked and body.endswith(b"0\r\n\r\n"):
                break
    except OSError:
        pass
    data = bytes(body[:min(want, MAX_ERROR_BODY)])
    return _unchunk(data) if chunked else data


def _unchunk(data: bytes) -> bytes:
    out, position = bytearray(), 0
    while position < len(data):
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            break
        try:
            size = int(data[position:line_end].split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += data[line_end + 2:line_end + 2 + size]
        position = line_end + 2 + size + 2
    return bytes(out)

