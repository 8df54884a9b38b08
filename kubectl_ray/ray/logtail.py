"""Follow a Ray job's logs until it ends: the dashboard's WebSocket tail, else polling.

`GET /api/jobs/<id>/logs/tail` is a WebSocket on which Ray sends the driver log from its first
byte, chunk by chunk, and closes it once the job has ended and the file is drained. If the
WebSocket cannot be opened or breaks (an old proxy, a dropped port-forward), we poll
`GET /api/jobs/<id>/logs` every second and print only the text after what was already printed:
the log file only grows, so the printed text is always a prefix of the next answer.

The caller's `write` gets exactly the job's text; status goes through `note` (stderr).
The WebSocket client is kubectl_ray/websocket.py (the one pod exec uses), imported when a tail starts.
"""

from __future__ import annotations

import codecs
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kubectl_ray.ray.dashboard import DashboardClient, DashboardError, DashboardUnreachable
from kubectl_ray.shapes import text

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
POLL_INTERVAL = 1.0
WS_CONNECT_TIMEOUT = 10.0
WS_IDLE_CHECK = 10.0  # seconds of silence after which we ask the job's status over HTTP
RECONNECT_BUDGET = 120.0  # seconds we keep retrying an unreachable dashboard while following
_CHECK_CHARS = 256  # tail of printed text compared before a catch-up, to never print twice

Write = Callable[[str], None]
Note = Callable[[str], None]
Sleep = Callable[[float], None]


@dataclass
class LogFollower:
    """Prints a job's log once, whatever mix of WebSocket and polling it takes."""

    client: DashboardClient
    job_id: str
    write: Write
    note: Note = lambda _m: None
    poll_interval: float = POLL_INTERVAL
    sleep: Sleep = time.sleep
    clock: Callable[[], float] = time.monotonic
    printed: int = 0  # characters of the log printed so far
    _tail: str = field(default="", repr=False)

    def follow(self, *, websocket: bool = True) -> dict[str, Any]:
        """Print the log until the job ends; returns the job's final info (status, message, ...)."""
        if websocket:
            try:
                self._websocket()
            except _TailBroken as exc:
                self.note(f"log stream over WebSocket unavailable ({exc}); polling the logs every "
                          f"{self.poll_interval:g}s instead")
        return self._poll_until_done()

    def print_once(self) -> dict[str, Any]:
        """Print the whole log as it is now (no following); returns the job's info."""
        info = self._call(self.client.get_job, self.job_id)
        self._emit(self._call(self.client.job_logs, self.job_id))
        return info

    # --- WebSocket -------------------------------------------------------------------------------

    def _websocket(self) -> None:
        from kubectl_ray import websocket

        target, headers = self.client.websocket_request(f"/api/jobs/{self.job_id}/logs/tail")
        try:
            sock = self.client.open_socket(WS_CONNECT_TIMEOUT)
        except OSError as exc:
            raise _TailBroken(exc.strerror or str(exc) or type(exc).__name__) from None
        try:
            answer = websocket.upgrade(sock, target, headers)
            if answer.status == 404:
                raise DashboardError(f"Ray job {self.job_id} does not exist on the cluster at {self.client.address}",
                                     status=404)
            if answer.status != 101:
                raise _TailBroken(f"HTTP {answer.status}")
            websocket.accepted_protocol(answer)
        except (OSError, websocket.WebSocketError) as exc:
            sock.close()
            raise _TailBroken(str(exc) or type(exc).__name__) from None
        except BaseException:
            sock.close()
            raise
        # a silent stream: every WS_IDLE_CHECK seconds without text, make sure the job is still running
        checked_at = [0.0]

        def job_over(silent_for: float) -> bool:
            if silent_for < checked_at[0]:  # text came in between
                checked_at[0] = 0.0
            if silent_for - checked_at[0] < WS_IDLE_CHECK:
                return False
            checked_at[0] = silent_for
            return self._job_ended()

        frames = websocket.FrameReader(sock, answer.rest, on_silence=job_over)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character may span two frames
        message = websocket.TEXT
        try:
            for opcode, piece in frames.payloads():
                if opcode != websocket.CONTINUATION:
                    message = opcode
                    self._emit_chunk(decoder.decode(b"", final=True))
                if message == websocket.TEXT:  # Ray sends the log as text messages
                    self._emit_chunk(decoder.decode(bytes(piece)))
            self._emit_chunk(decoder.decode(b"", final=True))
        except websocket.WebSocketError as exc:
            raise _TailBroken(str(exc)) from None
        finally:
            frames.close()

    def _job_ended(self) -> bool:
        try:
            return text(self.client.get_job(self.job_id), "status") in TERMINAL
        except DashboardUnreachable as exc:
            raise _TailBroken(str(exc)) from None

    # --- polling -----------------------------------------------------------------------------------

    def _poll_until_done(self) -> dict[str, Any]:
        """Catch up and keep polling until the job is terminal; then one last read of the log."""
        while True:
            info = self._call(self.client.get_job, self.job_id)
            logs = self._call(self.client.job_logs, self.job_id)
            self._emit(logs)
            if text(info, "status") in TERMINAL:
                self._emit(self._call(self.client.job_logs, self.job_id))  # text written as it ended
                return info
            self.sleep(self.poll_interval)

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """Retry while the dashboard is unreachable (a port-forward being restarted), within a budget."""
        deadline: float | None = None
        told = False
        while True:
            try:
                return method(*args)
            except DashboardUnreachable as exc:
                now = self.clock()
                deadline = deadline or now + RECONNECT_BUDGET
                if now >= deadline:
                    raise
                if not told:
                    self.note(f"lost the connection to the Ray dashboard ({exc.message}); retrying")
                    told = True
                self.sleep(min(2.0, self.poll_interval * 2))

    # --- output --------------------------------------------------------------------------------

    def _emit_chunk(self, text: str) -> None:
        if text:
            self.write(text)
            self.printed += len(text)
            self._tail = (self._tail + text)[-_CHECK_CHARS:]

    def _emit(self, full_log: str) -> None:
        """Print what is new in a full copy of the log, if it continues what we printed."""
        if len(full_log) <= self.printed:
            return
        start = max(0, self.printed - len(self._tail))
        if full_log[start:self.printed] != self._tail:
            return  # not the text we printed (rotated or replaced): printing would duplicate or garble
        self._emit_chunk(full_log[self.printed:])


class _TailBroken(Exception):
    """The WebSocket could not be used; fall back to polling."""
