"""`kubectl ray session`: forward a Ray cluster's dashboard, client and serve ports, and keep them up."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import Interrupted, UsageError

if TYPE_CHECKING:
    from kubectl_ray.kube.portforward import BoundPort, PortSpec
    from kubectl_ray.parsing import ResourceRef

# Upstream's port sets (kubectl-plugin/pkg/cmd/session/session.go); local = remote unless --port says otherwise.
DEFAULT_PORTS = {"raycluster": (8265, 10001), "rayjob": (8265,), "rayservice": (8265, 8000)}
# remote port -> (label, URL scheme)
PORT_LABELS = {
    8265: ("Ray Dashboard", "http"),
    10001: ("Ray Interactive Client", "ray"),
    8000: ("Ray Serve", "http"),
    8080: ("Ray Metrics", "http"),
    6379: ("Ray GCS", "tcp"),
}
START_TIMEOUT_SECONDS = 120.0  # default --timeout: a head pod that is still starting (kubectl waits up to 60 s)


@click.command("session", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=examples(
    "# Forward the dashboard (8265) and Ray client (10001) ports of RayCluster demo",
    "kubectl ray session demo",
    "",
    "# The dashboard of a RayJob's cluster, and Ray Serve (8000) of a RayService",
    "kubectl ray session rayjob/my-job",
    "kubectl ray session rayservice/my-service",
    "",
    "# Any free local port for the dashboard (the URL printed says which), plus the metrics port",
    "kubectl ray session demo --port 0:8265 --port 8080:8080",
    "",
    "# Listen on every interface, and show the kubectl command that runs",
    "kubectl ray session demo --address 0.0.0.0 -v",
))
@click.argument("target", metavar="(NAME | TYPE/NAME)", shell_complete=names.ray_targets())
@click.option("--port", "port_flags", multiple=True, metavar="LOCAL:REMOTE",
              help="Forward LOCAL to the head's REMOTE port; 0 or empty LOCAL picks a free port. Replaces the "
                   "default local port of REMOTE or adds REMOTE. Repeatable.")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Local address to listen on (kubectl port-forward --address).")
@click.option("--timeout", default="2m0s", show_default=True, metavar="DURATION",
              help="How long to keep trying to set up the first forward (e.g. while the head pod starts).")
@click.option("-v", "--verbose", is_flag=True, help="Print the kubectl port-forward command line (credentials masked).")
@kube_command
def session(env: CommandEnv, target: str, port_flags: tuple[str, ...], address: str, timeout: str,
            verbose: bool) -> None:
    """Forward the Ray head's ports to this machine until Ctrl-C.

    TYPE is raycluster (default), rayjob or rayservice, in any case. A cluster gets the dashboard
    (8265) and the Ray client (10001); a job the dashboard; a service the dashboard and Ray Serve
    (8000). The head service is read from the resource's status.

    Runs your kubectl's port-forward with every connection flag given here. If the forward drops
    (head pod restarted, network), it is restarted with backoff (1 s doubling to 10 s), following the
    head service again each time, with one line on stderr per reconnect. A local port already in
    use, a resource that does not exist or missing permissions stop it with exit code 1.
    """
    from kubectl_ray.parsing import parse_duration, parse_resource_ref

    ref = parse_resource_ref(target)
    specs = port_plan(ref.type, port_flags)
    if not address.strip():
        raise UsageError("--address must not be empty")
    start_timeout = parse_duration("--timeout", timeout)
    run_session(env, ref, specs, address.strip(), verbose, start_timeout)


def port_plan(resource_type: str, port_flags: tuple[str, ...] | list[str]) -> list["PortSpec"]:
    """Upstream's ports for the type (local = remote), with --port overriding or adding."""
    from kubectl_ray.kube.portforward import PortSpec

    plan = {remote: PortSpec(remote, remote) for remote in DEFAULT_PORTS[resource_type]}
    for text in port_flags:
        spec = PortSpec.parse(text)
        plan[spec.remote] = spec
    return list(plan.values())


def run_session(env: CommandEnv, ref: "ResourceRef", specs: list["PortSpec"], address: str, verbose: bool,
                start_timeout: float = START_TIMEOUT_SECONDS) -> None:
    from kubectl_ray.kube.portforward import PortForwarder, PortInUse
    from kubectl_ray.printing import info

    def resolve() -> str:
        from kubectl_ray.kube.targets import read_target, require_head_service

        return "service/" + require_head_service(read_target(env.kube(), ref, env.namespace))

    _check_reachable(resolve)
    forwarder = PortForwarder(env.flags, env.namespace, resolve, specs, address=address, on_event=info,
                              verbose=verbose)
    try:
        with _terminate_on_signals():
            bound = forwarder.start(start_timeout)
            _print_urls(forwarder.target or "", bound)
            forwarder.wait()
    except PortInUse as exc:
        raise PortInUse(exc.message + _port_hint(exc.local_port, specs), exc.local_port) from None
    finally:
        with _signals_ignored():  # a second Ctrl-C must not interrupt the cleanup and orphan kubectl
            forwarder.stop()


def _check_reachable(resolve: "Callable[[], str]") -> None:
    """Resolve once up front: an unreachable API server or a wrong context fails at once instead of
    being retried like a dropped forward; a head service not in status yet is left to the retries."""
    from kubectl_ray.kube.targets import TargetNotReady

    try:
        resolve()
    except TargetNotReady:
        pass


def _print_urls(target: str, bound: list["BoundPort"]) -> None:
    lines = [f"Forwarding ports to service {target.split('/', 1)[-1]}"]
    for port in bound:
        label, scheme = PORT_LABELS.get(port.remote, (f"Port {port.remote}", "http"))
        url = port.url(scheme) if scheme != "tcp" else f"{port.host}:{port.local}"
        lines.append(f"{label}: {url}")
    sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.flush()


def _port_hint(local_port: int | None, specs: list["PortSpec"]) -> str:
    remote = next((s.remote for s in specs if s.local == local_port), None)
    if remote is None:
        return ""
    return f" (use --port 0:{remote} for a free local port, or --port LOCAL:{remote})"


class Terminated(Interrupted):
    """SIGTERM/SIGHUP: stop forwarding and exit 128 + signal number."""


@contextmanager
def _signals_ignored() -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _terminate_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception, so the forwarder's cleanup runs as on Ctrl-C."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        raise Terminated(f"stopped by {name}; port-forward terminated", exit_code=128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
