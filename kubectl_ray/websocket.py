"""A small WebSocket client (RFC 6455) on a socket the caller connected: the upgrade and the frames.

Two users: pod exec (kube/podexec.py: binary messages with a channel byte) and the Ray dashboard's
job log tail (ray/logtail.py: text messages). Both only read: this client sends nothing but control
frames (pong, ping while the server is silent, close), masked as clients must.

Server frames are never masked, so they are parsed in place: one large `recv_into` buffer, payloads
handed on as memoryview slices valid until the next one is asked for, no copy between the socket and
the reader. Errors are `WebSocketError` with a phrase the caller puts after its own subject
("exec into pod ns/p: <phrase>").
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
import time
from typing import Callable, Iterator

# One recv_into can bring many frames; the kernel's socket buffer (left to TCP autotuning: setting
# SO_RCVBUF would switch that off and usually cap it lower) is what absorbs bursts.
RECV_BUFFER = 1 << 20
POLL_SECONDS = 1.0
PING_AFTER_SECONDS = 5.0
GIVE_UP_AFTER_SECONDS = 61.0  # client-go: pingPeriod * 12 + 1 s
MAX_HANDSHAKE_BYTES = 64 << 10
MAX_ERROR_BODY = 1 << 20
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocketError(Exception):
    """The server broke the protocol or the connection; the text completes "<subject>: ..."."""


class Cancelled(Exception):
    """The caller asked the stream to stop (Ctrl-C)."""


class Upgrade:
    """The server's answer to the upgrade request."""

    def __init__(self, status: int, headers: dict[str, str], rest: bytes, key: str) -> None:
        self.status = status
        self.headers = headers  # lower-cased names
        self.rest = rest  # bytes read past the headers: the first frames, or an error body
        self.key = key


def upgrade(sock: socket.socket, target: str, headers: list[tuple[str, str]],
            protocols: tuple[str, ...] = ()) -> Upgrade:
    """Send the upgrade request for `target` (with Host among `headers`) and read the answer's head."""
    key = base64.b64encode(os.urandom(16)).decode()
    extra = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
             ("Sec-WebSocket-Version", "13")]
    if protocols:
        extra.append(("Sec-WebSocket-Protocol", ", ".join(protocols)))
    lines = [f"GET {target} HTTP/1.1"]
    for name, value in headers + extra:
        if any(c in value for c in "\r\n\0"):
            raise WebSocketError(f"the {name} header would contain a line break or NUL (not shown)")
        lines.append(f"{name}: {value}")
    received = bytearray()
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace"))
    while b"\r\n\r\n" not in received:
        if len(received) > MAX_HANDSHAKE_BYTES:
            raise WebSocketError(f"the server's answer has more than {MAX_HANDSHAKE_BYTES} bytes of headers")
        chunk = sock.recv(65536)
        if not chunk:
            raise WebSocketError("the server closed the connection during the upgrade")
        received += chunk
    head, rest = bytes(received).split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise WebSocketError("the server did not answer with HTTP")
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Upgrade(int(parts[1]), parsed, rest, key)


def accepted_protocol(answer: Upgrade, protocols: tuple[str, ...] = ()) -> str:
    """Check the server really switched to a WebSocket (with one of `protocols`, if any were asked)."""
    expected = base64.b64encode(hashlib.sha1(answer.key.encode() + _GUID).digest()).decode()
    if answer.headers.get("upgrade", "").lower() != "websocket" or \
            answer.headers.get("sec-websocket-accept") != expected:
        raise WebSocketError("the server's WebSocket upgrade is not valid")
    protocol = answer.headers.get("sec-websocket-protocol", "")
    if protocols and protocol not in protocols:
        raise WebSocketError(f"the server offered no supported streaming protocol "
                             f"(asked for {', '.join(protocols)}, got {protocol or 'none'})")
    return protocol


def error_body(sock: socket.socket, answer: Upgrade) -> bytes:
    """The body of a refused upgrade (e.g. a Kubernetes Status), read whole up to 1 MiB."""
    body = bytearray(answer.rest)
    length = answer.headers.get("content-length", "")
    chunked = "chunked" in answer.headers.get("transfer-encoding", "").lower()
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


class FrameReader:
    """Data frames from a connected WebSocket, in pieces as they arrive.

    `on_silence(seconds)` is called at every poll while no data frame comes (seconds since the last
    one; pongs keep the connection alive but are not data); it may return True to end the stream
    quietly (e.g. "the job ended meanwhile"). Without any byte for GIVE_UP_AFTER_SECONDS (pinging
    every PING_AFTER_SECONDS), the stream is given up.
    """

    def __init__(self, sock: socket.socket, initial: bytes = b"",
                 on_silence: Callable[[float], bool] | None = None) -> None:
        self.closed = False
        self._sock = sock
        self._on_silence = on_silence
        self._buffer = bytearray(max(RECV_BUFFER, len(initial)))
        self._view = memoryview(self._buffer)
        self._view[:len(initial)] = initial
        self._start, self._end = 0, len(initial)
        self._last_data = time.monotonic()
        sock.settimeout(POLL_SECONDS)

    def payloads(self, cancel: threading.Event | None = None) -> Iterator[tuple[int, memoryview]]:
        """(opcode of the message, payload piece) for every data frame; the opcode is TEXT or BINARY
        on a message's first piece and CONTINUATION on the rest. Ends at a close frame or end of
        stream. A frame of any size needs no more memory than the receive buffer."""
        view = self._view
        while not self.closed:
            header = self._frame_header(cancel)
            if header is None:
                return
            opcode, length = header
            if opcode >= CLOSE:
                self._control(opcode, self._read_exact(length, cancel))
                continue
            self._last_data = time.monotonic()
            if length == 0 and opcode != CONTINUATION:
                yield opcode, view[0:0]
            while length:
                if self._start == self._end and not self._fill(cancel):
                    raise WebSocketError("the server closed the connection in the middle of a frame")
                take = min(length, self._end - self._start)
                piece = view[self._start:self._start + take]
                self._start += take
                length -= take
                yield opcode, piece
                opcode = CONTINUATION

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.send(CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass

    def send(self, opcode: int, payload: bytes) -> None:
        """A masked client frame (control frames: this client never sends data)."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    # --- frames -------------------------------------------------------------------------------

    def _frame_header(self, cancel: threading.Event | None) -> tuple[int, int] | None:
        """The next frame's (opcode, payload length), or None at a clean end of stream.

        Fragmented messages need no FIN bookkeeping: a continuation frame belongs to its message.
        """
        while self._end - self._start < 2:
            if not self._fill(cancel):
                if self._start == self._end:
                    return None
                raise WebSocketError("the server closed the connection in the middle of a frame header")
        b0, b1 = self._buffer[self._start], self._buffer[self._start + 1]
        if b0 & 0x70:
            raise WebSocketError("the server sent a frame with reserved bits set (no extension was negotiated)")
        if b1 & 0x80:
            raise WebSocketError("the server sent a masked frame (servers must not mask)")
        length, size = b1 & 0x7F, 2
        if length == 126:
            size = 4
        elif length == 127:
            size = 10
        while self._end - self._start < size:
            if not self._fill(cancel):
                raise WebSocketError("the server closed the connection in the middle of a frame header")
        if size == 4:
            length = struct.unpack_from("!H", self._buffer, self._start + 2)[0]
        elif size == 10:
            length = struct.unpack_from("!Q", self._buffer, self._start + 2)[0]
            if length >> 63:
                raise WebSocketError("the server sent a frame longer than 2^63 bytes")
        opcode = b0 & 0x0F
        if opcode >= CLOSE and (length > 125 or not b0 & 0x80):
            raise WebSocketError("the server sent a fragmented or oversized control frame")
        if opcode not in (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG):
            raise WebSocketError(f"the server sent a frame with unknown opcode {opcode}")
        self._start += size
        return opcode, length

    def _read_exact(self, length: int, cancel: threading.Event | None) -> bytes:
        while self._end - self._start < length:
            if not self._fill(cancel):
                raise WebSocketError("the server closed the connection in the middle of a frame")
        data = bytes(self._view[self._start:self._start + length])
        self._start += length
        return data

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == PING:
            self.send(PONG, payload)
        elif opcode == CLOSE:
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
                if self._on_silence is not None and self._on_silence(now - self._last_data):
                    self.close()
                    return False
                if now - silent_since >= GIVE_UP_AFTER_SECONDS:
                    raise WebSocketError(f"no data from the server for {GIVE_UP_AFTER_SECONDS:g}s; giving up") from None
                if now - last_ping >= PING_AFTER_SECONDS:
                    last_ping = now
                    self.send(PING, b"")
                continue
            except OSError as exc:
                if self.closed:
                    return False
                raise WebSocketError(f"the server closed the connection "
                                     f"({exc.strerror or type(exc).__name__})") from None
            if count == 0:
                return False
            self._end += count
            return True
