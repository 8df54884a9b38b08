"""The emulator's state: objects, resource versions, watchers, request log, faults and hooks.

Everything here is thread-safe: tests mutate it from their thread while the server runs on its
own event loop.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from tests.emulator.resources import Registry, ResourceInfo

DEFAULT_NAMESPACES = ("default", "kube-system")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    verb: str = ""  # get, list, watch, create, update, patch, delete, exec, log, discovery
    resource: str = ""  # plural, with `/subresource` when there is one
    namespace: str | None = None
    name: str | None = None
    user: str | None = None
    status: int | None = None  # the answer's HTTP status (None: faulted or not answered yet)

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE") and self.verb != "exec"

    def q(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[0] if values else None


@dataclass
class Fault:
    """A programmed failure. Matches on any of method/verb/resource/name/path substring."""

    status: int | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (or before failing)
    reset: bool = False  # drop the connection mid-response
    close_watch_after: int | None = None  # end a watch stream after N events
    watch_gone: bool = False  # answer a watch with an ERROR event 410 Gone (resourceVersion too old)
    shutdown: bool = False  # the server goes away: this connection drops and later ones are refused
    method: str | None = None
    verb: str | None = None
    resource: str | None = None
    name: str | None = None
    path_contains: str | None = None
    times: int | None = 1  # None = forever
    skip: int = 0  # let this many matching requests through first
    hold_until: int = 0  # a barrier: hold matching requests until this many have arrived (10 s at most)
    hits: int = 0

    def matches(self, req: RecordedRequest) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        checks = [
            (self.method, req.method),
            (self.verb, req.verb),
            (self.resource, req.resource),
            (self.name, req.name),
        ]
        if any(want is not None and want != got for want, got in checks):
            return False
        return self.path_contains is None or self.path_contains in req.path


@dataclass
class Watcher:
    resource_key: str
    namespace: str | None
    predicate: Callable[[dict[str, Any]], bool]
    push: Callable[[dict[str, Any]], None]


class Emulator:
    """In-memory Kubernetes API state. See server.py for the HTTP side."""

    def __init__(self, *, request_log_size: int = 5000) -> None:
        self.registry = Registry()
        self.lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 1000
        self.requests: deque[RecordedRequest] = deque(maxlen=request_log_size)
        self.request_count = 0
        self.faults: list[Fault] = []
        self.forbidden: list[tuple[str | None, str | None, str | None]] = []  # (verb, resource, namespace)
        self.watchers: list[Watcher] = []
        self.pod_logs: dict[tuple[str, str, str], Any] = {}  # (ns, pod, container[/previous]) -> str|bytes|callable
        self.exec_handler: Callable[..., Any] | None = None  # async (ns, pod, container, command) -> ExecResult
        self.pod_files: dict[tuple[str, str], dict[str, str]] = {}  # (ns, pod) -> {remote dir: local dir}
        self.hooks: dict[tuple[str, str], list[Callable[[dict[str, Any], "Emulator"], None]]] = {}
        self.max_page_size: int | None = None
        self.shutdown_hook: Callable[[], None] | None = None  # set by EmulatorServer: stop serving
        # Hostile-input tests: (request, response) -> a replacement response or None. Called with each answer
        # before it is sent, and with None before a watch is served (its answer replaces the stream).
        self.mutate_response: Callable[[RecordedRequest, Any], Any] | None = None
        self.stream_rate: float | None = None  # bytes/s per pod log or exec stream (None = unlimited)
        self.compacted_rv = 0  # watches from an older resourceVersion get 410 Gone, as after etcd compaction
        self.tokens: dict[str, str] | None = None  # bearer token -> user; None = no auth required
        self.basic_users: dict[str, str] = {}  # "user:password" -> user
        self.require_client_cert_users: bool = False
        self.server_version = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64",
                               "goVersion": "go1.23.6", "compiler": "gc", "buildDate": "2026-01-01T00:00:00Z",
                               "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean"}
        for ns in DEFAULT_NAMESPACES:
            self.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # --- objects ------------------------------------------------------------------------------

    def next_rv(self) -> str:
        with self.lock:
            self._rv += 1
            return str(self._rv)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        res = self.registry.by_kind(api_version, kind)
        if res is None:
            raise KeyError(f"the emulator does not serve {api_version} {kind}")
        return res

    def add(self, obj: dict[str, Any], *, notify: bool = True) -> dict[str, Any]:
        """Store an object as if it had been created (fills uid, resourceVersion, timestamps)."""
        obj = copy.deepcopy(obj)
        res = self.resource(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta.setdefault("namespace", "default")
            self.ensure_namespace(meta["namespace"])
        else:
            meta.pop("namespace", None)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339())
        meta.setdefault("generation", 1)
        with self.lock:
            meta["resourceVersion"] = self.next_rv()
            existed = self._key(res, meta) in self._objects.setdefault(res.key, {})
            self._objects[res.key][self._key(res, meta)] = obj
        if notify:
            self.notify(res, "MODIFIED" if existed else "ADDED", obj)
        return copy.deepcopy(obj)

    def add_all(self, objs: Iterable[dict[str, Any]]) -> None:
        for obj in objs:
            self.add(obj)

    def ensure_namespace(self, name: str) -> None:
        with self.lock:
            spaces = self._objects.setdefault("v1/namespaces", {})
            if ("", name) not in spaces:
                obj = {"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now_rfc3339(),
                                    "resourceVersion": self.next_rv()},
                       "status": {"phase": "Active"}}
                spaces[("", name)] = obj

    def get(self, res: ResourceInfo | str, namespace: str | None, name: str) -> dict[str, Any] | None:
        res = self._res(res)
        with self.lock:
            obj = self._objects.get(res.key, {}).get((namespace or "" if res.namespaced else "", name))
            return copy.deepcopy(obj) if obj else None

    def objects(self, res: ResourceInfo | str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of one resource, sorted like etcd keys (namespace, then name)."""
        res = self._res(res)
        with self.lock:
            items = [
                copy.deepcopy(obj) for (ns, _), obj in sorted(self._objects.get(res.key, {}).items())
                if namespace is None or ns == namespace
            ]
        return items

    def put(self, res: ResourceInfo, obj: dict[str, Any], event: str) -> dict[str, Any]:
        with self.lock:
            obj["metadata"]["resourceVersion"] = self.next_rv()
            self._objects.setdefault(res.key, {})[self._key(res, obj["metadata"])] = copy.deepcopy(obj)
        self.notify(res, event, obj)
        return obj

    def remove(self, res: ResourceInfo | str, namespace: str | None, name: str) -> dict[str, Any] | None:
        res = self._res(res)
        with self.lock:
            obj = self._objects.get(res.key, {}).pop((namespace or "" if res.namespaced else "", name), None)
            if obj is not None:
                obj["metadata"]["resourceVersion"] = self.next_rv()
        if obj is not None:
            self.notify(res, "DELETED", obj)
        return obj

    def update_status(self, res: ResourceInfo | str, namespace: str | None, name: str,
                      status: dict[str, Any]) -> dict[str, Any]:
        """Change an object's status as a controller would (emits MODIFIED)."""
        res = self._res(res)
        with self.lock:
            obj = self._objects[res.key][(namespace or "" if res.namespaced else "", name)]
            obj["status"] = copy.deepcopy(status)
            obj["metadata"]["resourceVersion"] = self.next_rv()
            snapshot = copy.deepcopy(obj)
        self.notify(res, "MODIFIED", snapshot)
        return snapshot

    def _res(self, res: ResourceInfo | str) -> ResourceInfo:
        if isinstance(res, ResourceInfo):
            return res
        for info in self.registry.resources + self.registry.removed:
            if res in (info.plural, info.key, info.display):
                return info
        raise KeyError(res)

    @staticmethod
    def _key(res: ResourceInfo, meta: dict[str, Any]) -> tuple[str, str]:
        return (meta.get("namespace", "") if res.namespaced else "", meta["name"])

    # --- watch --------------------------------------------------------------------------------

    def notify(self, res: ResourceInfo, event_type: str, obj: dict[str, Any]) -> None:
        with self.lock:
            watchers = list(self.watchers)
        for watcher in watchers:
            if watcher.resource_key != res.key:
                continue
            ns = obj["metadata"].get("namespace")
            if watcher.namespace and ns != watcher.namespace:
                continue
            if watcher.predicate(obj):
                watcher.push({"type": event_type, "object": copy.deepcopy(obj)})

    # --- hooks (play the operator) -------------------------------------------------------------

    def on(self, event: str, resource: str, callback: Callable[[dict[str, Any], "Emulator"], None]) -> None:
        """Run callback(obj, emulator) after `create`/`update`/`delete` of a resource (plural)."""
        self.hooks.setdefault((event, resource), []).append(callback)

    def run_hooks(self, event: str, resource: str, obj: dict[str, Any]) -> None:
        for callback in self.hooks.get((event, resource), []):
            callback(copy.deepcopy(obj), self)

    # --- faults and RBAC -------------------------------------------------------------------------

    def fault(self, **kwargs: Any) -> Fault:
        fault = Fault(**kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, req: RecordedRequest) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(req):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.hits += 1
                    return fault
        return None

    def forbid(self, verb: str | None = None, resource: str | None = None, namespace: str | None = None) -> None:
        """Answer 403 for matching requests (None matches anything)."""
        self.forbidden.append((verb, resource, namespace))

    def is_forbidden(self, req: RecordedRequest) -> bool:
        for verb, resource, namespace in self.forbidden:
            if verb not in (None, req.verb) or resource not in (None, req.resource.split("/")[0]):
                continue
            if namespace is not None and namespace != req.namespace:
                continue
            return True
        return False

    # --- request log ---------------------------------------------------------------------------

    def record(self, req: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(req)
            self.request_count += 1

    def requests_where(self, **criteria: Any) -> list[RecordedRequest]:
        with self.lock:
            reqs = list(self.requests)
        return [r for r in reqs if all(getattr(r, k) == v for k, v in criteria.items())]

    def writes(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.is_write]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()
            self.request_count = 0


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def kuberay_installed(emu: Emulator, version: str = "v1.7.0") -> None:
    """What a KubeRay install adds that tests often need: the three CRDs (served v1 + deprecated
    v1alpha1, no schema) and the operator Deployment in kuberay-system."""
    for plural, kind in (("rayclusters", "RayCluster"), ("rayjobs", "RayJob"), ("rayservices", "RayService")):
        emu.add({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": f"{plural}.ray.io"},
                 "spec": {"group": "ray.io", "scope": "Namespaced",
                          "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                          "versions": [{"name": "v1", "served": True, "storage": True},
                                       {"name": "v1alpha1", "served": True, "storage": False, "deprecated": True}]},
                 "status": {"acceptedNames": {"plural": plural, "kind": kind}, "storedVersions": ["v1"]}})
    labels = {"app.kubernetes.io/name": "kuberay-operator", "app.kubernetes.io/instance": "kuberay-operator"}
    emu.add({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "kuberay-operator", "namespace": "kuberay-system", "labels": labels},
             "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                      "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                          {"name": "kuberay-operator", "image": f"quay.io/kuberay/operator:{version}"}]}}},
             "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}})
