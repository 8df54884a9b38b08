"""A tiny TCP proxy in front of the Ray dashboard that records each connection's HTTP request line.

Our dashboard client opens one connection per request, so the first line a connection sends is
that request's `METHOD PATH HTTP/1.1`. WebSocket upgrades pass through untouched.
"""

from __future__ import annotations

import socket
import threading


class RecordingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.requests: list[str] = []  # "PUT /api/packages/gcs/_ray_pkg_x.zip"
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="dashboard-proxy", daemon=True)
        self._thread.start()

    def requests_matching(self, method: str, path_prefix: str) -> list[str]:
        with self._lock:
            return [r for r in self.requests if r.startswith(f"{method} {path_prefix}")]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        first = True

        def record(data: bytes) -> None:
            nonlocal first
            if first:
                first = False
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                method, _, rest = line.partition(" ")
                with self._lock:
                    self.requests.append(f"{method} {rest.rsplit(' ', 1)[0]}")

        threading.Thread(target=_pump, args=(upstream, client, None), daemon=True).start()
        _pump(client, upstream, record)


def _pump(src: socket.socket, dst: socket.socket, tap) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if tap is not None:
                tap(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
