"""Keep `kubectl port-forward` to a Ray head service up: the one forwarder every command shares.

`kubectl ray session`, `kubectl ray job submit` and `kubectl ray debug --deep` all reach the Ray head
through this class. It runs the user's own `kubectl port-forward` (the binary in $KUBECTL_PATH, else
`kubectl` on PATH) with every connection flag the user gave us, learns the local ports kubectl bound,
checks they accept connections, and restarts kubectl in the background when it exits.

API
---
    from kubectl_ray.kube.portforward import PortForwarder, PortSpec

    fwd = PortForwarder(env.flags, env.namespace, resolve_target=lambda: "service/demo-head-svc",
                        ports=[PortSpec(8265), PortSpec(10001, local=10001)],
                        address="127.0.0.1", on_event=print)
    with fwd:                                  # __exit__ calls stop()
        bound = fwd.start(timeout=60)          # -> [BoundPort(local=41234, remote=8265, ...), ...]
        url = f"http://127.0.0.1:{fwd.local_port(8265)}"
        ...                                    # use the URL; reconnects happen behind it
        fwd.wait()                             # block until stop() or a permanent failure (raised)

- `PortSpec(remote, local=0)`: local 0 means "a free port"; kubectl is given `:REMOTE` and the port
  it picks is read from its `Forwarding from 127.0.0.1:41234 -> 8265` line. Restarts pass the learned
  port explicitly, so URLs stay valid. `PortSpec.parse("LOCAL:REMOTE")` parses the `--port` flag.
- `resolve_target()` returns `service/NAME` (a bare NAME means a Service) and is called before the
  first start and before every restart, so a head service that moved is followed. It may raise
  KubectlRayError: ConnectionFailed, TargetNotReady and 5xx ApiErrors count as temporary, anything
  else (not found, forbidden) stops the forwarder.
- `start(timeout)` retries temporary failures (backoff as below, one `on_event` line each) until
  `timeout` seconds have passed and raises a one-line KubectlRayError otherwise. Ready means kubectl
  printed a `Forwarding from` line for every port and a TCP connect to each local port succeeded.
- After start: `local_port(remote)`, `url(remote, scheme="http")`, `bound_ports`, `target` (the
  `service/NAME` in use), `ports` (the PortSpecs given), `running()`.
- After start, a background thread restarts kubectl when it exits: backoff 1 s doubling to 10 s,
  back to 1 s after 60 s of healthy forwarding, re-resolving the target each time. `on_event` gets
  one line per reconnect (`Lost connection to service/x (exit 1: <kubectl's last stderr line>);
  reconnecting in 2s`); without it the line goes to stderr.
- Permanent failures stop the forwarder without retrying: local port in use (PortInUse), service or
  namespace not found, RBAC forbidden, unauthorized, bad kubeconfig/flags. `start()` raises them;
  after start they are not printed: `wait()` raises them, `failure` holds them and `running()`
  turns False.
- `stop()` terminates kubectl's whole process group (it runs in its own session, so a Ctrl-C in the
  terminal reaches only us and we decide), waits for it, and frees the ports. Idempotent.
- `verbose=True` sends `Running: kubectl ...` (with --token masked) to `on_event` before each start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.kube.flags import ConnectionFlags

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
HEALTHY_RESET_SECONDS = 60.0
RESTART_READY_TIMEOUT = 90.0  # kubectl itself waits up to 60 s (--pod-running-timeout) for the pod
STOP_GRACE_SECONDS = 3.0

_FORWARDING = re.compile(r"^Forwarding from (\[[^\]]*\]|[^\s\[\]]+):(\d+) -> (\d+)")
_UNABLE_TO_LISTEN = re.compile(r"Unable to listen on port (\d+)")
_NO_PORTS = re.compile(r"unable to listen on any of the requested ports: \[\{(\d+) (\d+)\}")
_SECRET_FLAGS = ("--token", "--password")
_WILDCARD_ADDRESSES = ("0.0.0.0", "::", "[::]")


class PortForwardError(KubectlRayError):
    """A failure that retrying will not fix; the forwarder has stopped."""


class PortInUse(PortForwardError):
    """The local port is taken, typically by another `kubectl ray session`."""

    def __init__(self, message: str, local_port: int | None) -> None:
        super().__init__(message)
        self.local_port = local_port


@dataclass(frozen=True)
class PortSpec:
    remote: int
    local: int = 0  # 0: any free port

    @classmethod
    def parse(cls, text: str, flag: str = "--port") -> "PortSpec":
        """`LOCAL:REMOTE`, `:REMOTE` or `0:REMOTE` (free local port), or `PORT` (same port both sides)."""
        value = text.strip()
        local_text, sep, remote_text = value.rpartition(":")
        if not sep:
            local_text = remote_text
        remote = _port_number(flag, text, remote_text, allow_zero=False)
        local = _port_number(flag, text, local_text, allow_zero=True) if local_text else 0
        return cls(remote=remote, local=local)

    def kubectl_arg(self) -> str:
        return f"{self.local}:{self.remote}" if self.local else f":{self.remote}"


def _port_number(flag: str, whole: str, text: str, *, allow_zero: bool) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not (0 if allow_zero else 1) <= number <= 65535 or not text.isdigit():
        raise UsageError(f"invalid argument {whole!r} for {flag}: use LOCAL:REMOTE with ports 1-65535 "
                         "(LOCAL 0 or empty picks a free port)")
    return number


@dataclass(frozen=True)
class BoundPort:
    local: int
    remote: int
    address: str

    @property
    def host(self) -> str:
        """Where a client on this machine connects: the bind address, loopback for wildcard binds."""
        return connect_host(self.address)

    def url(self, scheme: str = "http") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.local}"


def connect_host(address: str) -> str:
    first = address.split(",")[0].strip()
    if first in ("", "localhost") or first in _WILDCARD_ADDRESSES:
        return "127.0.0.1"
    return first.strip("[]")


def find_kubectl(env: dict[str, str] | None = None) -> str:
    """$KUBECTL_PATH (kubectl sets it for plugins), else `kubectl` on PATH; a clear error otherwise."""
    environ = os.environ if env is None else env
    explicit = environ.get("KUBECTL_PATH")
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise KubectlRayError(f"KUBECTL_PATH={explicit} is not an executable file; point it at kubectl or unset it")
    found = shutil.which("kubectl", path=environ.get("PATH"))
    if not found:
        raise KubectlRayError("kubectl not found on PATH: port-forwarding runs `kubectl port-forward`; install kubectl "
                              "(https://kubernetes.io/docs/tasks/tools/) or set KUBECTL_PATH to its location")
    return found


def mask_secrets(argv: Sequence[str]) -> list[str]:
    """The command line with credential values replaced, for -v output."""
    masked, hide_next = [], False
    for arg in argv:
        if hide_next:
            masked.append("***")
            hide_next = False
            continue
        name, eq, _ = arg.partition("=")
        if name in _SECRET_FLAGS:
            if eq:
                arg = f"{name}=***"
            else:
                hide_next = True
        masked.append(arg)
    return masked


def format_command(argv: Sequence[str]) -> str:
    """A shell-quoted command line with secrets masked (the mask itself is left unquoted)."""
    import shlex

    return " ".join(a if a.endswith("***") else shlex.quote(a) for a in mask_secrets(argv))


# --- what kubectl's stderr means -------------------------------------------------------------------


@dataclass(frozen=True)
class ExitReason:
    summary: str  # "exit 1: error: lost connection to pod"
    permanent: KubectlRayError | None = None


_PERMANENT_MARKERS = (
    "(NotFound)",          # Error from server (NotFound): services "x" not found
    "(Forbidden)",
    " is forbidden: ",      # error upgrading connection: pods "p" is forbidden: User ... cannot create ...
    "You must be logged in to the server",
    "(Unauthorized)",
    "does not exist",       # error: context "x" does not exist
    "unknown flag",
    "unknown shorthand flag",
    "cannot attach to",     # a Service without a selector
    "invalid port",
)


def classify_exit(stderr_lines: Sequence[str], returncode: int | None, address: str = "127.0.0.1") -> ExitReason:
    """Why kubectl stopped, and whether trying again could help. Pure: tests feed it kubectl's texts."""
    lines = [line.strip() for line in stderr_lines if line.strip()]
    in_use = port_in_use(lines, address)
    if in_use is not None:
        return ExitReason(_summary(lines, returncode), in_use)
    for line in reversed(lines):
        if any(marker in line for marker in _PERMANENT_MARKERS):
            return ExitReason(_summary(lines, returncode), PortForwardError(f"kubectl port-forward failed: {line}"))
    return ExitReason(_summary(lines, returncode))


def port_in_use(lines: Iterable[str], address: str) -> PortInUse | None:
    for line in lines:
        match = _UNABLE_TO_LISTEN.search(line) if "address already in use" in line else None
        match = match or _NO_PORTS.search(line)
        if match:
            port = int(match.group(1))
            return PortInUse(f'local port {port} on {connect_host(address)} is already in use; another '
                             f'"kubectl ray session" may hold it', port)
    return None


def _summary(lines: Sequence[str], returncode: int | None) -> str:
    if returncode is None:
        status = "still running"
    elif returncode < 0:
        try:
            status = f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            status = f"killed by signal {-returncode}"
    else:
        status = f"exit {returncode}"
    last = next((line for line in reversed(lines) if not _is_klog(line)), lines[-1] if lines else "")
    return f"{status}: {last}" if last else status


def _is_klog(line: str) -> bool:
    """klog's `E1123 10:00:00.000000   123 portforward.go:413] ...` lines; the last plain line says more."""
    return bool(re.match(r"^[IWEF]\d{4} \d\d:\d\d:\d\d", line))


# --- one kubectl child ---------------------------------------------------------------------------------


class _Child:
    """One `kubectl port-forward` process with its output read on two threads."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.forwarded: dict[int, int] = {}  # remote -> local, from "Forwarding from" lines
        self.stderr_tail: deque[str] = deque(maxlen=30)
        self.changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(stream, is_err), daemon=True,
                                          name=f"kubectl-port-forward-{'err' if is_err else 'out'}")
                         for stream, is_err in ((self.proc.stdout, False), (self.proc.stderr, True))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, is_err: bool) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.changed:
                if is_err:
                    self.stderr_tail.append(line)
                else:
                    match = _FORWARDING.match(line)
                    if match:
                        self.forwarded.setdefault(int(match.group(3)), int(match.group(2)))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def reader_done(self) -> bool:
        return not any(reader.is_alive() for reader in self._readers)

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def finish_reading(self, timeout: float = 2.0) -> None:
        """After exit, let the readers drain the pipes so the last stderr line is known."""
        for reader in self._readers:
            reader.join(timeout)

    def stderr_lines(self) -> list[str]:
        with self.changed:
            return list(self.stderr_tail)

    def terminate(self) -> None:
        """SIGTERM to kubectl's process group, SIGKILL if it lingers; always reaped."""
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
        self.finish_reading()
        if self.reader_done():  # a grandchild may still hold the pipes: never close under a reader
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# --- the forwarder ----------------------------------------------------------------------------------


class PortForwarder:
    def __init__(self, flags: ConnectionFlags, namespace: str, resolve_target: Callable[[], str],
                 ports: Sequence[PortSpec], address: str = "127.0.0.1",
                 on_event: Callable[[str], None] | None = None, *, verbose: bool = False) -> None:
        if not ports:
            raise UsageError("nothing to forward: no ports given")
        remotes = [p.remote for p in ports]
        duplicate = next((r for r in remotes if remotes.count(r) > 1), None)
        if duplicate is not None:
            raise UsageError(f"remote port {duplicate} is given more than once")
        locals_ = [p.local for p in ports if p.local]
        clash = next((port for port in locals_ if locals_.count(port) > 1), None)
        if clash is not None:
            raise UsageError(f"local port {clash} is given for more than one remote port")
        self.flags = flags
        self.namespace = namespace
        self.resolve_target = resolve_target
        self.ports = list(ports)
        self.address = address
        self.on_event = on_event or _stderr_line
        self.verbose = verbose
        self.target: str | None = None
        self._local_ports: dict[int, int] = {p.remote: p.local for p in ports}
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._failure: KubectlRayError | None = None
        self._supervisor: threading.Thread | None = None
        self._kubectl: str | None = None
        self._ready_at = 0.0
        self._bound: list[BoundPort] = []

    # --- public ---------------------------------------------------------------------------------

    def __enter__(self) -> "PortForwarder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def command(self, target: str) -> list[str]:
        """The kubectl command line for one start (local ports learned so far are passed explicitly)."""
        specs = [PortSpec(p.remote, self._local_ports[p.remote]) for p in self.ports]
        return [self._kubectl or "kubectl", *self.flags.kubectl_args(include_namespace=False), "port-forward",
                "-n", self.namespace, "--address", self.address, _as_resource(target),
                *(spec.kubectl_arg() for spec in specs)]

    def start(self, timeout: float = 60.0) -> list[BoundPort]:
        """Start kubectl and wait until every port forwards; retry temporary failures until `timeout`."""
        if self._supervisor is not None:
            raise RuntimeError("PortForwarder.start() was already called")
        self._kubectl = find_kubectl()
        deadline = time.monotonic() + timeout
        backoff = INITIAL_BACKOFF
        while True:
            child, reason = self._attempt(deadline)
            if child is not None:
                break
            if reason.permanent is not None or self._stopping.is_set():
                self._finish()
                raise reason.permanent or PortForwardError("port-forward stopped before it was ready")
            if time.monotonic() + backoff >= deadline:
                self._finish()
                where = self.target or "the Ray head service"
                raise PortForwardError(f"port-forward to {where} was not ready within {_seconds(timeout)} "
                                       f"({reason.summary})")
            self._emit(f"Port-forward to {self.target or 'the head service'} failed ({reason.summary}); "
                       f"retrying in {_seconds(backoff)}")
            if self._stopping.wait(backoff):
                self._finish()
                raise PortForwardError("port-forward stopped before it was ready")
            backoff = min(backoff * 2, MAX_BACKOFF)
        self._supervisor = threading.Thread(target=self._supervise, name="port-forward-supervisor", daemon=True)
        self._supervisor.start()
        return list(self._bound)

    @property
    def bound_ports(self) -> list[BoundPort]:
        return list(self._bound)

    def local_port(self, remote: int) -> int:
        port = self._local_ports.get(remote)
        if not port:
            raise KeyError(f"remote port {remote} is not forwarded (yet)")
        return port

    def url(self, remote: int, scheme: str = "http") -> str:
        return BoundPort(self.local_port(remote), remote, self.address).url(scheme)

    def wait(self, poll_seconds: float = 0.5) -> None:
        """Block until stop() or a permanent failure, which is raised. Ctrl-C interrupts it."""
        while not self._done.wait(poll_seconds):
            pass
        if self._failure is not None:
            raise self._failure

    @property
    def failure(self) -> KubectlRayError | None:
        return self._failure

    def running(self) -> bool:
        return self._supervisor is not None and not self._done.is_set()

    def stop(self) -> None:
        """Terminate kubectl (its whole process group) and the supervisor; ports are free afterwards."""
        self._terminate_child()
        supervisor = self._supervisor
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(STOP_GRACE_SECONDS + 5)
        self._done.set()

    # --- internals ----------------------------------------------------------------------------------

    def _attempt(self, deadline: float) -> tuple[_Child | None, ExitReason]:
        """Resolve the target, start kubectl, wait for readiness. (child, _) on success."""
        resolved = self._resolve()
        if isinstance(resolved, ExitReason):
            return None, resolved
        self.target = resolved
        argv = self.command(resolved)
        if self.verbose:
            self._emit("Running: " + format_command(argv))
        with self._lock:
            if self._stopping.is_set():
                return None, ExitReason("stopped")
            try:
                child = _Child(argv)
            except OSError as exc:
                return None, ExitReason(str(exc), PortForwardError(f"cannot run {argv[0]}: {exc.strerror or exc}"))
            self._child = child
        reason = self._await_ready(child, deadline)
        if reason is None:
            return child, ExitReason("ready")
        with self._lock:
            if self._child is child:
                self._child = None
        child.terminate()
        return None, reason

    def _resolve(self) -> str | ExitReason:
        try:
            return self.resolve_target()
        except KubectlRayError as exc:
            if _temporary(exc):
                return ExitReason(exc.render().removeprefix("error: "))
            return ExitReason(str(exc), exc)

    def _await_ready(self, child: _Child, deadline: float) -> ExitReason | None:
        """None when every port forwards and accepts a TCP connection; else why not."""
        wanted = {p.remote for p in self.ports}
        with child.changed:
            while True:
                in_use = port_in_use(child.stderr_tail, self.address)
                if in_use is not None:  # kubectl keeps running with the other ports; we do not
                    return ExitReason(_summary(list(child.stderr_tail), None), in_use)
                if wanted <= child.forwarded.keys():
                    break
                if self._stopping.is_set():
                    return ExitReason("stopped")
                if child.exited() and child.reader_done():
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return ExitReason(_summary(list(child.stderr_tail), None) + " (no 'Forwarding from' line yet)")
                child.changed.wait(min(remaining, 0.2))
            forwarded = dict(child.forwarded)
        if not wanted <= forwarded.keys():
            child.finish_reading()
            return classify_exit(child.stderr_lines(), child.proc.poll(), self.address)
        bound = [BoundPort(forwarded[p.remote], p.remote, self.address) for p in self.ports]
        for port in bound:
            problem = _wait_accepting(port, deadline, child)
            if problem:
                child.finish_reading()
                reason = classify_exit(child.stderr_lines(), child.proc.poll(), self.address)
                return reason if reason.permanent or child.exited() else ExitReason(problem)
        self._local_ports.update({b.remote: b.local for b in bound})
        self._bound = bound
        self._ready_at = time.monotonic()
        return None

    def _supervise(self) -> None:
        try:
            self._supervise_loop()
        except Exception as exc:  # noqa: BLE001 - never die silently with the forward half-down
            self._fail(KubectlRayError(f"port-forward supervisor failed: {type(exc).__name__}: {exc}"))

    def _supervise_loop(self) -> None:
        backoff = INITIAL_BACKOFF
        child = self._child
        while child is not None:
            child.proc.wait()
            child.finish_reading()
            if self._stopping.is_set():
                return
            if time.monotonic() - self._ready_at >= HEALTHY_RESET_SECONDS:
                backoff = INITIAL_BACKOFF
            reason = classify_exit(child.stderr_lines(), child.proc.returncode, self.address)
            with self._lock:
                if self._child is child:
                    self._child = None
            child.terminate()
            message = f"Lost connection to {self.target}"
            while True:
                if reason.permanent is not None:
                    self._fail(reason.permanent)
                    return
                self._emit(f"{message} ({reason.summary}); reconnecting in {_seconds(backoff)}")
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF)
                child, reason = self._attempt(time.monotonic() + RESTART_READY_TIMEOUT)
                if self._stopping.is_set():
                    return
                if child is not None:
                    break
                message = f"Could not reconnect to {self.target}"

    def _fail(self, error: KubectlRayError) -> None:
        self._failure = error
        self._finish()

    def _finish(self) -> None:
        self._terminate_child()
        self._done.set()

    def _terminate_child(self) -> None:
        """Mark the forwarder as stopping and end kubectl's process group, once."""
        with self._lock:
            self._stopping.set()
            child, self._child = self._child, None
        if child is not None:
            child.terminate()

    def _emit(self, line: str) -> None:
        try:
            self.on_event(line)
        except Exception:  # noqa: BLE001 - a broken event sink must not kill the supervisor
            pass


def _as_resource(target: str) -> str:
    return target if "/" in target else f"service/{target}"


def _temporary(exc: KubectlRayError) -> bool:
    from kubectl_ray.kube.errors import ApiError, ConnectionFailed
    from kubectl_ray.kube.targets import TargetNotReady

    if isinstance(exc, (ConnectionFailed, TargetNotReady)):
        return True
    return isinstance(exc, ApiError) and (exc.status >= 500 or exc.status == 429)


def _wait_accepting(port: BoundPort, deadline: float, child: _Child) -> str | None:
    """Connect to the local port until it accepts (kubectl listens before it prints, so this is quick)."""
    last = ""
    while True:
        try:
            with socket.create_connection((port.host, port.local), timeout=2):
                return None
        except OSError as exc:
            last = exc.strerror or str(exc)
        if child.exited() or time.monotonic() >= deadline:
            return f"local port {port.host}:{port.local} does not accept connections: {last}"
        time.sleep(0.1)


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _stderr_line(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
