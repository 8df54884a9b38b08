"""The Kubernetes layer: the only code that talks to the API server.

`connect(flags)` turns kubectl's connection flags into a `KubeClient`. Nothing here is imported
by `kubectl ray --help`; commands import it only when they need the cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient
    from kubectl_ray.kube.flags import ConnectionFlags


def connect(flags: "ConnectionFlags") -> "KubeClient":
    """Build the one API client a command uses, from its connection flags (never global state)."""
    from kubectl_ray.kube.client import KubeClient
    from kubectl_ray.kube.kubeconfig import resolve_connection
    from kubectl_ray.kube.transport import make_transport

    config = resolve_connection(flags)
    return KubeClient(make_transport(config), config)
