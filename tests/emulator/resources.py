"""The API resources the emulator serves, with the discovery data kubectl and clients expect."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group_version}/{self.plural}"

    @property
    def display(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _core(plural: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (), sub: tuple[str, ...] = (),
          cats: tuple[str, ...] = ()) -> ResourceInfo:
    return ResourceInfo("", "v1", plural, kind, namespaced, short, sub, cats)


BUILTIN: list[ResourceInfo] = [
    _core("namespaces", "Namespace", False, ("ns",), ("status",)),
    _core("pods", "Pod", True, ("po",), ("status", "log", "exec"), ("all",)),
    _core("services", "Service", True, ("svc",), ("status",), ("all",)),
    _core("endpoints", "Endpoints", True, ("ep",)),
    _core("events", "Event", True, ("ev",)),
    _core("secrets", "Secret"),
    _core("configmaps", "ConfigMap", True, ("cm",)),
    _core("serviceaccounts", "ServiceAccount", True, ("sa",)),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",)),
    _core("resourcequotas", "ResourceQuota", True, ("quota",), ("status",)),
    _core("nodes", "Node", False, ("no",), ("status",)),
    ResourceInfo("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale"), ("all",)),
    ResourceInfo("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status",), ("all",)),
    ResourceInfo("batch", "v1", "jobs", "Job", True, (), ("status",), ("all",)),
    ResourceInfo("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    ResourceInfo("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False),
    ResourceInfo("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    ResourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                 ("crd", "crds"), ("status",)),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
]

RAY: list[ResourceInfo] = [
    ResourceInfo("ray.io", "v1", "rayclusters", "RayCluster", True, (), ("status",), ("all",)),
    ResourceInfo("ray.io", "v1", "rayjobs", "RayJob", True, (), ("status",), ("all",)),
    ResourceInfo("ray.io", "v1", "rayservices", "RayService", True, (), ("status",), ("all",)),
]


@dataclass
class Registry:
    resources: list[ResourceInfo] = field(default_factory=lambda: BUILTIN + RAY)
    removed: list[ResourceInfo] = field(default_factory=list)  # no longer served, still inspectable by tests

    def by_path(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        for res in self.resources:
            if res.group == group and res.version == version and res.plural == plural:
                return res
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        for res in self.resources:
            if res.group_version == api_version and res.kind == kind:
                return res
        return None

    def group_versions(self) -> dict[str, list[ResourceInfo]]:
        out: dict[str, list[ResourceInfo]] = {}
        for res in self.resources:
            out.setdefault(res.group_version, []).append(res)
        return out

    def remove_group(self, group: str) -> None:
        self.removed += [r for r in self.resources if r.group == group]
        self.resources = [r for r in self.resources if r.group != group]

    def remove(self, plural: str, group: str) -> None:
        self.removed += [r for r in self.resources if r.plural == plural and r.group == group]
        self.resources = [r for r in self.resources if not (r.plural == plural and r.group == group)]
