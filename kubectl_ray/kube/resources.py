"""The API resources kubectl-ray reads and writes, and how their URLs are built."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def display(self) -> str:
        """How kubectl names the resource in messages: `rayclusters.ray.io`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular_display(self) -> str:
        """`raycluster.ray.io`, as in `raycluster.ray.io/demo created`."""
        kind = self.kind.lower()
        return f"{kind}.{self.group}" if self.group else kind

    def api_root(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        parts = [self.api_root()]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


RAY_GROUP = "ray.io"
RAY_VERSION = "v1"

RAYCLUSTERS = Resource(RAY_GROUP, RAY_VERSION, "rayclusters", "RayCluster")
RAYJOBS = Resource(RAY_GROUP, RAY_VERSION, "rayjobs", "RayJob")
RAYSERVICES = Resource(RAY_GROUP, RAY_VERSION, "rayservices", "RayService")
PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
EVENTS = Resource("", "v1", "events", "Event")
SECRETS = Resource("", "v1", "secrets", "Secret")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
JOBS = Resource("batch", "v1", "jobs", "Job")
ENDPOINT_SLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
RUNTIME_CLASSES = Resource("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", namespaced=False)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False)

RAY_RESOURCES = {"raycluster": RAYCLUSTERS, "rayjob": RAYJOBS, "rayservice": RAYSERVICES}
