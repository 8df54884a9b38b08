"""Run the CLI once per case in a forked child of a warm worker: a hang is killed at a bound, the child's
peak RSS is measured, and nothing a case does can hurt the test process.

The worker (`python -m tests.reliability.forkrun`) imports kubectl_ray and every command module once,
then for each request line forks a child that runs `kubectl_ray.cli.main(args)` with its own
environment, working directory and stdio, and answers with the exit code, the first bytes of stdout
and stderr, the child's peak RSS (`ru_maxrss` from wait4) and whether it had to be killed. Forking
from a single-threaded process that already imported everything costs milliseconds, so hundreds of
cases fit in a CI minute; the test process itself runs threads (the emulator) and must not fork.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUTPUT_KEPT = 64 * 1024  # bytes of stdout/stderr sent back per case
ADDRESS_SPACE = 3 << 30  # a runaway allocation ends in MemoryError (a failure), never in the OOM killer


@dataclass
class CaseResult:
    exit_code: int
    stdout: str
    stderr: str
    max_rss_mb: float
    timed_out: bool
    seconds: float

    def __repr__(self) -> str:  # what an assertion failure shows
        return (f"CaseResult(exit_code={self.exit_code}, timed_out={self.timed_out}, rss={self.max_rss_mb:.0f} MB, "
                f"stdout={self.stdout[:2000]!r}, stderr={self.stderr[:2000]!r})")


class ForkRunner:
    """The test side: starts the worker, sends cases, stops it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.forkrun"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline()  # type: ignore[union-attr]
        if ready.strip() != "ready":
            raise RuntimeError(f"the fork worker did not start: {ready!r}")

    def run(self, args: list[str], *, env: dict[str, str | None] | None = None, cwd: str | None = None,
            timeout: float = 30.0, stdin: str = "", stdout: str = "", file_size_limit: int | None = None) -> CaseResult:
        """stdout: "" (captured), a path (e.g. /dev/full; appended to) or "closed-pipe" (EPIPE on the
        first write that reaches it); file_size_limit: RLIMIT_FSIZE in bytes (writes past it get EFBIG)."""
        request = {"args": args, "env": env or {}, "cwd": cwd, "timeout": timeout, "stdin": stdin, "stdout": stdout,
                   "fsize": file_size_limit}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the fork worker died")
        return CaseResult(**json.loads(answer))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the worker side -------------------------------------------------------------------------------

def _warm_up() -> None:
    import importlib

    import yaml  # noqa: F401 - imported once here so children do not pay for it

    from kubectl_ray.cli import registry
    from kubectl_ray.cli.root import cli  # noqa: F401

    for module, *_ in registry.COMMANDS.values():
        if registry.module_exists(module):
            importlib.import_module(module)


def _child(request: dict[str, Any], out: str, err: str, stdin_path: str) -> None:
    os.setsid()  # its own process group: a killed case takes its exec plugins and kubectl with it
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    for key, value in request["env"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    tempfile.tempdir = None  # the worker's choice is cached: let $TMPDIR of this case count
    if request.get("cwd"):
        os.chdir(request["cwd"])
    if request.get("fsize") is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
    target = request.get("stdout") or out
    for fd, path, mode in ((0, stdin_path, os.O_RDONLY), (1, target, os.O_WRONLY | os.O_APPEND),
                           (2, err, os.O_WRONLY)):
        if path == "closed-pipe":
            reader, handle = os.pipe()
            os.close(reader)
        else:
            handle = os.open(path, mode)
        os.dup2(handle, fd)
        os.close(handle)
    code = 99
    try:
        from kubectl_ray import cli

        code = cli.main(list(request["args"]))
    except BaseException:  # noqa: BLE001 - the report must show what escaped the CLI
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed or full stdout is the CLI's business
                pass
        os._exit(int(code) if isinstance(code, int) else 98)


def _wait(pid: int, timeout: float) -> tuple[int, Any, bool]:
    """Reap the child (a pidfd says when it ended), killing its process group at the timeout."""
    import select

    fd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    timed_out = not ready
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status, usage = os.wait4(pid, 0)
    return status, usage, timed_out


def _read(path: str) -> str:
    with open(path, "rb") as fh:
        return fh.read(OUTPUT_KEPT).decode("utf-8", "replace")


def _serve() -> None:
    _warm_up()
    print("ready", flush=True)
    with tempfile.TemporaryDirectory(prefix="forkrun-") as folder:
        out, err, stdin_path = (os.path.join(folder, name) for name in ("out", "err", "in"))
        for line in sys.stdin:
            request = json.loads(line)
            for path in (out, err):
                open(path, "wb").close()
            with open(stdin_path, "w", encoding="utf-8") as fh:
                fh.write(request.get("stdin") or "")
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:
                _child(request, out, err, stdin_path)
            status, usage, timed_out = _wait(pid, float(request["timeout"]))
            code = os.waitstatus_to_exitcode(status)
            result = {"exit_code": code, "stdout": _read(out), "stderr": _read(err),
                      "max_rss_mb": usage.ru_maxrss / 1024, "timed_out": timed_out,
                      "seconds": time.monotonic() - started}
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    _serve()
