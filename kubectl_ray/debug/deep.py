"""`--deep`: ask the Ray dashboard what only Ray knows, and store the answers in the snapshot.

The dashboard is reached with `--address URL`, or through the shared port-forward to the head Service
(kubectl_ray.ray.connect.open_dashboard, which uses kubectl_ray.kube.portforward.PortForwarder and adds
the cluster's auth token when it uses token authentication). Read-only endpoints, via the shared client
(kubectl_ray.ray.dashboard.DashboardClient):

    /api/version         the Ray version that actually runs (vs spec.rayVersion)       -> DEEP-02
    /api/gcs_healthz     GCS health, as the head's readiness probe sees it              -> DEEP-01
    /api/cluster_status  the autoscaler's view: errors, failed nodes, resource demands  -> DEEP-04, AS-16
    /api/v0/nodes        every Ray node, alive or dead                                  -> DEEP-03

The answers go into snap.deep["<namespace>/<cluster>"] (so a bundle carries them) and the rules in
rules/deep.py read them from there. A dashboard that cannot be reached is recorded, not raised: it is a
finding (DEEP-05), not a reason to stop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from kubectl_ray.debug.redact import redact
from kubectl_ray.debug.snapshot import Snapshot
from kubectl_ray.errors import KubectlRayError

if TYPE_CHECKING:
    from kubectl_ray.env import CommandEnv

MAX_NODES = 2000
NODE_FIELDS = ("node_id", "node_ip", "node_name", "is_head_node", "state", "state_message", "resources_total",
               "labels", "start_time_ms", "end_time_ms")


def collect_deep(env: "CommandEnv", snap: Snapshot, *, address: str | None,
                 note: Callable[[str], None] | None = None) -> None:
    """Fill snap.deep for the target's cluster (the active one for a RayService)."""
    from kubectl_ray.debug.model import clusters
    from kubectl_ray.ray.connect import open_dashboard

    note = note or (lambda _m: None)
    views = [c for c in clusters(snap) if c.obj is not None][:1]
    if not views:
        note(f"--deep: {snap.target} has no RayCluster yet, so there is no Ray dashboard to ask")
    for cluster in views:
        key = f"{cluster.namespace}/{cluster.name}"
        data: dict[str, Any] = {"address": address, "errors": {}}
        try:
            with open_dashboard(env, cluster=cluster.obj, address=address, note=note) as client:
                data["address"] = client.address
                query_dashboard(client, data)
        except KubectlRayError as exc:
            data["errors"]["connect"] = exc.message
        snap.deep[key] = redact(data)


def query_dashboard(client: Any, data: dict[str, Any]) -> None:
    """The four read-only endpoints; stops at the first 'unreachable'."""
    from kubectl_ray.ray.dashboard import DashboardError, DashboardUnreachable

    def health() -> dict[str, Any]:
        h = client.gcs_healthz()
        return {"ok": h.ok, "status": h.status, "message": h.message}

    def nodes() -> list[dict[str, Any]]:
        return [{k: n.get(k) for k in NODE_FIELDS if k in n} for n in client.nodes(limit=MAX_NODES)]

    steps: list[tuple[str, Callable[[], Any]]] = [("version", client.version), ("gcsHealthz", health),
                                                  ("clusterStatus", client.cluster_status), ("nodes", nodes)]
    for name, call in steps:
        try:
            data[name] = call()
        except DashboardUnreachable as exc:
            data["errors"]["connect"] = exc.message
            return
        except DashboardError as exc:
            data["errors"][name] = exc.message
