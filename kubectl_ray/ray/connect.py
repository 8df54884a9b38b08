"""Reach a RayCluster's dashboard: `--address URL`, or a port-forward to its head Service.

    with open_dashboard(env, cluster=cluster_obj, address=None, note=info) as client:
        client.version()

- `--address URL` is used as given (behind an ingress, an existing `kubectl ray session`, ...).
- Otherwise `kubectl port-forward service/<head service> :<dashboard port>` on a free local port
  (kubectl_ray.kube.portforward.PortForwarder, shared with `kubectl ray session`), with every
  kubectl connection flag passed through, restarted if it drops. The head Service name is read
  from the RayCluster's status each time the forward (re)starts; its dashboard port is the port
  named `dashboard` (8265 if the Service has none).
- A RayCluster with `spec.authOptions.mode: token` gets `Authorization: Bearer <token>` (what Ray's
  own client sends), the token read from the Secret KubeRay uses (`authOptions.secretName`, else
  the cluster's name; key `auth_token`). A user-given Authorization header wins. The token is never
  printed.
"""

from __future__ import annotations

import base64
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.ray.dashboard import DashboardClient, DashboardError, DashboardUnreachable
from kubectl_ray.shapes import integer, name_of, namespace_of, objects, text

if TYPE_CHECKING:
    from kubectl_ray.env import CommandEnv

DASHBOARD_PORT = 8265
DASHBOARD_PORT_NAME = "dashboard"
TOKEN_KEY = "auth_token"
PORT_FORWARD_TIMEOUT = 90.0  # kubectl itself waits up to 60 s for the pod
DASHBOARD_READY_TIMEOUT = 60.0
REFUSED = "connection refused"  # how DashboardClient words a refused connection

Note = Callable[[str], None]


def uses_token_auth(cluster: Mapping[str, Any] | None) -> bool:
    return text(cluster, "spec", "authOptions", "mode").lower() == "token"


def cluster_token(kube: Any, cluster: Mapping[str, Any]) -> str:
    """The token of a token-auth RayCluster, from its Secret (never printed)."""
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import SECRETS

    ns, name = namespace_of(cluster), name_of(cluster)
    secret_name = text(cluster, "spec", "authOptions", "secretName") or name
    hint = "or pass it with --headers '{\"Authorization\": \"Bearer TOKEN\"}'"
    try:
        secret = kube.get(SECRETS, secret_name, ns)
    except ApiError as exc:
        raise KubectlRayError(f'RayCluster "{name}" uses token authentication but its Secret "{ns}/{secret_name}" '
                              f"cannot be read ({exc.render()}); {hint}") from None
    encoded = text(secret, "data", TOKEN_KEY)
    if not encoded:
        raise KubectlRayError(f'secret "{ns}/{secret_name}" of RayCluster "{name}" has no {TOKEN_KEY}; {hint}')
    try:
        return base64.b64decode(encoded).decode().strip()
    except (ValueError, UnicodeDecodeError):
        raise KubectlRayError(f'secret "{ns}/{secret_name}" has a malformed {TOKEN_KEY}; {hint}') from None


def head_service_name(cluster: Mapping[str, Any]) -> str | None:
    return text(cluster, "status", "head", "serviceName") or None


def dashboard_port(service: Mapping[str, Any] | None) -> int:
    for port in objects(service, "spec", "ports"):
        number = integer(port, "port")
        if port.get("name") == DASHBOARD_PORT_NAME and 0 < number < 65536:
            return number
    return DASHBOARD_PORT


def has_authorization(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "authorization" for k in headers)


@contextmanager
def open_dashboard(env: "CommandEnv", *, cluster: Mapping[str, Any] | None, address: str | None,
                   headers: Mapping[str, str] | None = None, verify: bool | str = True, verbose: bool = False,
                   note: Note = lambda _m: None) -> Iterator[DashboardClient]:
    """A client for the cluster's dashboard, port-forwarded unless `address` is given."""
    headers = dict(headers or {})
    timeout = _request_timeout(env)
    token = None
    if cluster is not None and uses_token_auth(cluster) and not has_authorization(headers):
        token = cluster_token(env.kube(), cluster)
    if address:
        yield DashboardClient(address, headers=headers, verify=verify, token=token, timeout=timeout)
        return
    if cluster is None:
        raise KubectlRayError("no RayCluster to port-forward to; pass --address URL of its Ray dashboard")
    forwarder = _forwarder(env, cluster, verbose=verbose, note=note)
    try:
        forwarder.start(timeout=PORT_FORWARD_TIMEOUT)
        port = forwarder.ports[0].remote
        url = forwarder.url(port)
        if verbose:
            note(f"Ray dashboard forwarded to {url}")
        yield DashboardClient(url, headers=headers, verify=verify, token=token, timeout=timeout)
    finally:
        forwarder.stop()


def _request_timeout(env: "CommandEnv") -> float:
    """--request-timeout bounds each dashboard request as it bounds each API request."""
    from kubectl_ray.kube.kubeconfig import parse_request_timeout
    from kubectl_ray.ray.dashboard import DEFAULT_TIMEOUT

    return parse_request_timeout(env.flags.request_timeout) or DEFAULT_TIMEOUT


def _forwarder(env: "CommandEnv", cluster: Mapping[str, Any], *, verbose: bool, note: Note) -> Any:
    from kubectl_ray.kube.portforward import PortForwarder, PortSpec
    from kubectl_ray.kube.resources import RAYCLUSTERS, SERVICES
    from kubectl_ray.kube.targets import TargetNotReady

    kube = env.kube()
    ns, name = namespace_of(cluster) or env.namespace, name_of(cluster)

    def resolve() -> str:
        current = kube.get(RAYCLUSTERS, name, ns)
        service = head_service_name(current)
        if not service:
            raise TargetNotReady(f'RayCluster "{name}" has no head service in its status yet')
        return f"service/{service}"

    first = head_service_name(cluster)
    port = dashboard_port(kube.get_or_none(SERVICES, first, ns) if first else None)
    return PortForwarder(env.flags, ns, resolve, ports=[PortSpec(port)], on_event=note, verbose=verbose)


def wait_for_dashboard(client: DashboardClient, *, timeout: float | None = None, note: Note = lambda _m: None,
                       sleep: Callable[[float], None] = time.sleep, given_address: bool = False) -> dict[str, Any]:
    """GET /api/version until the dashboard answers (it starts a little after the head pod is Ready).

    given_address: the user named the dashboard (--address), so a refused connection is final: nothing
    of ours is starting behind that address, and waiting would only delay the error.
    """
    timeout = DASHBOARD_READY_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            return client.version()
        except DashboardUnreachable as exc:
            if given_address and REFUSED in exc.message:
                raise
            if time.monotonic() >= deadline:
                raise DashboardUnreachable(f"{exc.message} (gave up after {timeout:g}s)") from None
            if not told:
                note(f"Waiting for the Ray dashboard at {client.address} to answer")
                told = True
            sleep(1.0)
        except DashboardError as exc:
            if exc.status in (502, 503, 504) and time.monotonic() < deadline:
                sleep(1.0)
                continue
            raise
