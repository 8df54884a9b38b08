"""Helpers around the stand-in `kubectl` in this folder (see its docstring for what it can do).

    fake = FakeKubectl(tmp_path, backend_port=web.port, plan=[{"die_after": 1}, {}])
    monkeypatch.setenv(...) for k, v in fake.env().items()   # or pass fake.env() to a subprocess
    ...
    fake.runs()  # [{"argv": [...], "pid": N}, ...]
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

FAKE_DIR = Path(__file__).resolve().parent
FAKE_KUBECTL = FAKE_DIR / "kubectl"


class FakeKubectl:
    def __init__(self, tmp_path: Path, *, backend_port: int | None = None, plan: list[dict[str, Any]] | None = None,
                 backends: dict[int, int] | None = None) -> None:
        self.log = tmp_path / "kubectl-argv.log"
        self.backend_port = backend_port
        self.backends = backends or {}
        self.plan = plan or [{}]

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Variables that put the stand-in first on PATH (with this Python next, for its shebang)."""
        base = dict(os.environ if base is None else base)
        base.pop("KUBECTL_PATH", None)
        path = os.pathsep.join([str(FAKE_DIR), os.path.dirname(sys.executable), base.get("PATH", "")])
        env = {"PATH": path, "FAKE_KUBECTL_LOG": str(self.log), "FAKE_KUBECTL_PLAN": json.dumps(self.plan)}
        if self.backend_port:
            env["FAKE_KUBECTL_BACKEND"] = f"127.0.0.1:{self.backend_port}"
        if self.backends:
            env["FAKE_KUBECTL_BACKENDS"] = json.dumps({str(k): f"127.0.0.1:{v}" for k, v in self.backends.items()})
        return env

    def runs(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def wait_for_runs(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.runs()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.runs()


class Backend:
    """A tiny HTTP server on 127.0.0.1 answering every GET with `body` (the 'Ray dashboard')."""

    def __init__(self, body: bytes = b"dashboard ok") -> None:
        payload = body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Backend":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def listening(port: int) -> bool:
    """Whether any socket listens on the TCP port (what `lsof -i :PORT` would show), from /proc/net."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state = fields[1], fields[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_reconnect(pid: int, url: str, patience: float = 60.0) -> bytes | None:
    """Once kubectl `pid` has died, poll `url` until the restarted forward answers; None if it never
    does within `patience` (a bound for a hung test, not a speed requirement: that is measured in
    benchmarks/)."""
    import urllib.request

    deadline = time.monotonic() + patience
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.05)
    return None
