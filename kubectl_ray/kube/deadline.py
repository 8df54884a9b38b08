"""A whole-request deadline (connect + proxy + TLS + headers + body), like Go's http.Client.Timeout.

A socket timeout alone bounds each read; a server that trickles one byte every half second never
trips it. `DeadlineSocket` re-arms the socket timeout with the time left before every operation,
so the sum of all waits stays within the deadline.
"""

from __future__ import annotations

import io
import socket
import time
from typing import Any


class DeadlineExceeded(TimeoutError):
    """The request's deadline passed."""


class Deadline:
    """A point in time (monotonic) by which a request must be done; None = no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (None: unlimited); DeadlineExceeded once it passed."""
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline exceeded")
        return left


class DeadlineSocket:
    """Wraps a connected socket (plain or TLS) so every send/recv waits at most the time left.

    http.client only calls makefile/sendall/close/settimeout on a connection's socket, so this small
    surface is all it needs. `deadline` is swapped per request; `idle` bounds each read when there is
    no deadline (a stream after it was established).
    """

    def __init__(self, sock: socket.socket, deadline: Deadline, idle: float | None = None) -> None:
        self.sock = sock
        self.deadline = deadline
        self.idle = idle
        self._readers = 0  # like socket.makefile: close() waits until the response's reader is closed
        self._closed = False

    def _arm(self) -> None:
        left = self.deadline.remaining()
        limits = [t for t in (left, self.idle) if t is not None]
        self.sock.settimeout(min(limits) if limits else None)

    def sendall(self, data: Any) -> None:
        self._arm()
        self.sock.sendall(data)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        self._arm()
        return self.sock.recv_into(buffer, nbytes)

    def makefile(self, mode: str = "rb", buffering: int | None = None, **_kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self), buffering or io.DEFAULT_BUFFER_SIZE)

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self.sock.close()

    def settimeout(self, _timeout: float | None) -> None:
        """http.client may set a timeout of its own; the deadline decides instead."""

    def setsockopt(self, *args: Any) -> None:
        self.sock.setsockopt(*args)

    def fileno(self) -> int:
        return self.sock.fileno()

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        """What http.client calls when the server says "close": the body may still be read."""
        self._closed = True
        if self._readers <= 0:
            self.sock.close()

    def abort(self) -> None:
        """Close now, whoever still reads (errors, Ctrl-C, a stream the caller stopped)."""
        self._closed = True
        self.sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, owner: DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.reader_closed()
        super().close()
