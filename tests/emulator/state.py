"""The emulator's state: objects, resource versions, watchers, request log, faults and hooks.

Everything here is thread-safe: tests mutate it from their thread while the server runs on its
own event loop (and the KubeRay player on a third thread).

Two levels of writes:
* storage level: `add`, `put`, `remove`, `update_status` store what they are given (after CRD
  pruning and defaulting for Ray kinds, as decoding from etcd would; `raw=True` skips even that)
  and notify watchers. They seed a state: no admission, no built-in controllers.
* API level: `create`, `replace`, `patch`, `delete` (tests/emulator/api.py) do what kube-apiserver
  does (validation, status subresource, generation, finalizers, graceful and cascading deletion)
  and then run the built-in controllers (garbage collector, EndpointSlices). The HTTP server and
  the KubeRay player write this way.

Stored objects are never changed in place: a write stores a new dict. Readers inside the emulator
(`view`, the list path) can therefore hold references without copying; `get`/`objects` hand out
copies so tests cannot change what is stored.
"""

from __future__ import annotations

import bisect
import copy
import pickle
import random
import sys
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

from tests.emulator.resources import Registry, ResourceInfo

DEFAULT_NAMESPACES = ("default", "kube-system")
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: what generateName uses

Observer = Callable[[str, ResourceInfo, dict[str, Any], "dict[str, Any] | None", bool], None]


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


def clone(obj: Any) -> Any:
    """A deep copy of a JSON-like object; pickle's C code does it 3x faster than copy.deepcopy."""
    try:
        return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(obj)


class InvalidObject(ValueError):
    """`add(..., validate=True)` of an object the API server would reject (422)."""


class Emulator:
    """In-memory Kubernetes API state. See server.py for the HTTP side and api.py for write semantics.

    strict: CRD pruning, defaulting and validation for the Ray kinds (the API server's behaviour);
            False stores Ray objects as given, as before the CRD schemas were applied.
    crd_version: the KubeRay CRDs whose schemas apply ("v1.7.0" or "v1.4.2").
    seed: the random source of generated names (pod suffixes, RayJob cluster names), for repeatability.
    """

    def __init__(self, *, request_log_size: int = 5000, strict: bool = True, crd_version: str = "v1.7.0",
                 seed: int | None = 0) -> None:
        self.registry = Registry()
        self.lock = threading.RLock()
        self.strict = strict
        self.crd_version = crd_version
        self.rng = random.Random(seed)
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._sorted: dict[str, list[tuple[str, str]]] = {}  # per resource: keys in etcd order (lazily rebuilt)
        self._uids: dict[str, tuple[str, str, str]] = {}  # uid -> (resource key, namespace, name)
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}  # owner uid -> dependents
        self._rv = 1000
        self.requests: deque[RecordedRequest] = deque(maxlen=request_log_size)
        self.request_count = 0
        self.faults: list[Fault] = []
        self.forbidden: list[tuple[str | None, str | None, str | None]] = []  # (verb, resource, namespace)
        self.watchers: list[Watcher] = []
        self.observers: list[Observer] = []  # called after every committed change (see observe())
        self.pod_logs: dict[tuple[str, str, str], Any] = {}  # (ns, pod, container[/previous]) -> str|bytes|callable
        self.exec_handler: Callable[..., Any] | None = None  # async (ns, pod, container, command) -> ExecResult
        self.pod_files: dict[tuple[str, str], dict[str, str]] = {}  # (ns, pod) -> {remote dir: local dir}
        self.hooks: dict[tuple[str, str], list[Callable[[dict[str, Any], "Emulator"], None]]] = {}
        self.validator: Callable[[ResourceInfo, dict[str, Any]], list[dict[str, Any]]] | None = None  # extra causes
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
        self.kubelet_active = False  # set by the KubeRay player's kubelet: pods on nodes terminate gracefully
        self.controllers_enabled = True  # built-in garbage collector and EndpointSlice controller
        self.server_version = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64",
                               "goVersion": "go1.23.6", "compiler": "gc", "buildDate": "2026-01-01T00:00:00Z",
                               "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean"}
        from tests.emulator.controllers import install_builtin_controllers

        install_builtin_controllers(self)
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

    def crd_kind(self, res: ResourceInfo) -> Any:
        """The CRD (tests.emulator.crds.CRDKind) whose schema applies to res, or None."""
        if not self.strict or res.group != "ray.io":
            return None
        from tests.emulator.crds import CRDsMissing, crd_set

        try:
            return crd_set(self.crd_version).kind(res.kind)
        except CRDsMissing as exc:  # without ../shared the emulator stores Ray objects as given
            if not getattr(Emulator, "_warned", False):
                Emulator._warned = True  # type: ignore[attr-defined]
                print(f"WARNING: {exc}; Ray objects are not defaulted, pruned or validated", file=sys.stderr)
            return None

    def generate_suffix(self, n: int = 5) -> str:
        with self.lock:
            return "".join(self.rng.choice(NAME_ALPHABET) for _ in range(n))

    def add(self, obj: dict[str, Any], *, notify: bool = True, raw: bool = False, validate: bool = False,
            share: bool = False) -> dict[str, Any]:
        """Store an object as if it had been created (fills uid, resourceVersion, timestamps).

        Ray kinds are pruned and defaulted by their CRD schema first, as the API server does when it
        decodes them (raw=True stores them exactly as given, e.g. hostile objects). validate=True
        raises InvalidObject where a create through the API would be answered 422. share=True stores
        obj's content without copying it (the caller never changes it again; big CRDs).
        """
        obj = {**obj, "metadata": dict(obj.get("metadata") or {})} if share else clone(obj)
        res = self.resource(obj.get("apiVersion", ""), obj.get("kind", ""))
        if not raw:
            from tests.emulator.api import coerce, validation_causes

            coerce(self, res, obj)
            if validate:
                causes = validation_causes(self, res, obj, None)
                if causes:
                    raise InvalidObject("; ".join(f"{c['field']}: {c['message']}" for c in causes))
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
            key = self._key(res, meta)
            old = self._objects.get(res.key, {}).get(key)
            meta["resourceVersion"] = self.next_rv()
            self._store(res, key, obj)
        if notify:
            self.notify(res, "MODIFIED" if old is not None else "ADDED", obj)
            self._observe("MODIFIED" if old is not None else "ADDED", res, obj, old, api=False)
        return obj if share else clone(obj)

    def add_all(self, objs: Iterable[dict[str, Any]], *, raw: bool = False) -> None:
        for obj in objs:
            self.add(obj, raw=raw)

    def ensure_namespace(self, name: str) -> None:
        res = self._res("namespaces")
        with self.lock:
            if ("", name) in self._objects.get(res.key, {}):
                return
            obj = {"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now_rfc3339(),
                                "resourceVersion": self.next_rv()},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
            self._store(res, ("", name), obj)

    def get(self, res: ResourceInfo | str, namespace: str | None, name: str) -> dict[str, Any] | None:
        obj = self.peek(res, namespace, name)
        return clone(obj) if obj is not None else None

    def peek(self, res: ResourceInfo | str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object itself (no copy): read it, never change it."""
        res = self._res(res)
        with self.lock:
            return self._objects.get(res.key, {}).get((namespace or "" if res.namespaced else "", name))

    def objects(self, res: ResourceInfo | str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of one resource, sorted like etcd keys (namespace, then name)."""
        return [clone(obj) for obj in self.view(res, namespace)]

    def view(self, res: ResourceInfo | str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Like objects() but the stored dicts themselves (no copies): read them, never change them."""
        return list(self.iter_sorted(res, namespace))

    def iter_sorted(self, res: ResourceInfo | str, namespace: str | None = None,
                    after: tuple[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Stored objects in key order, optionally only those after a key (how a continue token resumes).

        Lazy: a page of a paginated list costs the page, not the whole resource."""
        res = self._res(res)
        with self.lock:
            bucket = self._objects.get(res.key, {})
            keys, start, stop = self._key_range(res, namespace, after)
            keys = keys[start:stop]  # a snapshot of the key list: writers may go on meanwhile
        for key in keys:
            obj = bucket.get(key)
            if obj is not None:
                yield obj

    def count_after(self, res: ResourceInfo | str, namespace: str | None, after: tuple[str, str]) -> int:
        """How many objects follow a key (remainingItemCount of a list without selectors)."""
        res = self._res(res)
        with self.lock:
            _, start, stop = self._key_range(res, namespace, after)
            return stop - start

    def _key_range(self, res: ResourceInfo, namespace: str | None,
                   after: tuple[str, str] | None) -> tuple[list[tuple[str, str]], int, int]:
        keys = self._sorted.get(res.key)
        if keys is None:
            keys = self._sorted[res.key] = sorted(self._objects.get(res.key, {}))
        start, stop = 0, len(keys)
        if namespace is not None and res.namespaced:
            start = bisect.bisect_left(keys, (namespace, ""))
            stop = bisect.bisect_left(keys, (namespace + "\0", ""))
        if after is not None:
            start = max(start, bisect.bisect_right(keys, after))
        return keys, start, max(start, stop)

    def put(self, res: ResourceInfo, obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Store obj as the new version (a copy is stored) and notify watchers; storage level."""
        stored = clone(obj)
        with self.lock:
            stored["metadata"]["resourceVersion"] = self.next_rv()
            key = self._key(res, stored["metadata"])
            old = self._objects.get(res.key, {}).get(key)
            self._store(res, key, stored)
        obj["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
        self.notify(res, event, stored)
        self._observe(event, res, stored, old, api=False)
        return obj

    def remove(self, res: ResourceInfo | str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """Take an object out of storage at once (no finalizers, no cascading); notify watchers."""
        res = self._res(res)
        with self.lock:
            key = (namespace or "" if res.namespaced else "", name)
            obj = self._objects.get(res.key, {}).get(key)
            if obj is None:
                return None
            gone = clone(obj)
            gone["metadata"]["resourceVersion"] = self.next_rv()
            self._drop(res, key)
        self.notify(res, "DELETED", gone)
        self._observe("DELETED", res, gone, obj, api=False)
        return clone(gone)

    def update_status(self, res: ResourceInfo | str, namespace: str | None, name: str,
                      status: dict[str, Any]) -> dict[str, Any]:
        """Change an object's status as a controller would (emits MODIFIED); storage level."""
        res = self._res(res)
        with self.lock:
            key = (namespace or "" if res.namespaced else "", name)
            old = self._objects[res.key][key]
            obj = dict(old)
            obj["metadata"] = dict(old["metadata"], resourceVersion=self.next_rv())
            obj["status"] = clone(status)
            if not self._skip_schema(res):
                from tests.emulator.api import coerce

                obj = clone(obj)
                coerce(self, res, obj)
            self._store(res, key, obj)
        self.notify(res, "MODIFIED", obj)
        self._observe("MODIFIED", res, obj, old, api=False)
        return clone(obj)

    def _skip_schema(self, res: ResourceInfo) -> bool:
        return not self.strict or res.group != "ray.io"

    def commit(self, res: ResourceInfo, obj: dict[str, Any], event: str, old: dict[str, Any] | None) -> dict[str, Any]:
        """Store a new version made by an API-level write (api.py) and run watchers and observers."""
        with self.lock:
            obj["metadata"]["resourceVersion"] = self.next_rv()
            key = self._key(res, obj["metadata"])
            if event == "DELETED":
                self._drop(res, key)
            else:
                self._store(res, key, obj)
        self.notify(res, event, obj)
        self._observe(event, res, obj, old, api=True)
        return obj

    def _store(self, res: ResourceInfo, key: tuple[str, str], obj: dict[str, Any]) -> None:
        bucket = self._objects.setdefault(res.key, {})
        old = bucket.get(key)
        if old is None:
            keys = self._sorted.get(res.key)
            if keys is not None:
                bisect.insort(keys, key)
        else:
            self._unindex(res, key, old)
        bucket[key] = obj
        meta = obj["metadata"]
        if meta.get("uid"):
            self._uids[meta["uid"]] = (res.key, key[0], key[1])
        for ref in meta.get("ownerReferences") or []:
            if isinstance(ref, dict) and ref.get("uid"):
                self._dependents.setdefault(ref["uid"], set()).add((res.key, key[0], key[1]))

    def _drop(self, res: ResourceInfo, key: tuple[str, str]) -> None:
        bucket = self._objects.get(res.key, {})
        old = bucket.pop(key, None)
        if old is None:
            return
        keys = self._sorted.get(res.key)
        if keys is not None:
            index = bisect.bisect_left(keys, key)
            if index < len(keys) and keys[index] == key:
                del keys[index]
        self._unindex(res, key, old)

    def _unindex(self, res: ResourceInfo, key: tuple[str, str], old: dict[str, Any]) -> None:
        meta = old.get("metadata") or {}
        if meta.get("uid") and self._uids.get(meta["uid"]) == (res.key, key[0], key[1]):
            del self._uids[meta["uid"]]
        for ref in meta.get("ownerReferences") or []:
            if isinstance(ref, dict) and ref.get("uid") in self._dependents:
                self._dependents[ref["uid"]].discard((res.key, key[0], key[1]))

    def by_uid(self, uid: str) -> tuple[ResourceInfo, dict[str, Any]] | None:
        with self.lock:
            where = self._uids.get(uid)
            if where is None:
                return None
            obj = self._objects.get(where[0], {}).get((where[1], where[2]))
            return (self._res(where[0]), obj) if obj is not None else None

    def dependents_of(self, uid: str) -> list[tuple[ResourceInfo, dict[str, Any]]]:
        """Objects whose ownerReferences name uid (stored dicts, not copies)."""
        with self.lock:
            out = []
            for res_key, ns, name in sorted(self._dependents.get(uid, ())):
                obj = self._objects.get(res_key, {}).get((ns, name))
                if obj is not None:
                    out.append((self._res(res_key), obj))
            return out

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

    # --- API-level writes (see api.py) ----------------------------------------------------------

    def create(self, res: ResourceInfo | str, body: dict[str, Any], namespace: str | None = None,
               **options: Any) -> dict[str, Any]:
        from tests.emulator import api

        namespace = namespace or (body.get("metadata") or {}).get("namespace") or "default"
        return api.create(self, self._res(res), body, namespace, **options).obj

    def replace(self, res: ResourceInfo | str, namespace: str | None, name: str, body: dict[str, Any],
                **options: Any) -> dict[str, Any]:
        from tests.emulator import api

        return api.replace(self, self._res(res), namespace, name, body, **options).obj

    def patch(self, res: ResourceInfo | str, namespace: str | None, name: str, patch: Any,
              content_type: str = "application/merge-patch+json", **options: Any) -> dict[str, Any]:
        from tests.emulator import api

        return api.patch(self, self._res(res), namespace, name, patch, content_type, **options).obj

    def delete(self, res: ResourceInfo | str, namespace: str | None, name: str, **options: Any) -> dict[str, Any]:
        from tests.emulator import api

        return api.delete(self, self._res(res), namespace, name, **options).obj

    # --- watch and observers -----------------------------------------------------------------------

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
                watcher.push({"type": event_type, "object": obj})  # stored dicts are never changed

    def observe(self, callback: Observer) -> None:
        """callback(event, res, obj, old, api) after every change; api=False for storage-level writes."""
        with self.lock:
            self.observers.append(callback)

    def unobserve(self, callback: Observer) -> None:
        with self.lock:
            if callback in self.observers:
                self.observers.remove(callback)

    def _observe(self, event: str, res: ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None,
                 api: bool) -> None:
        for callback in list(self.observers):
            callback(event, res, obj, old, api)

    # --- hooks (play an operator from a test) -------------------------------------------------------

    def on(self, event: str, resource: str, callback: Callable[[dict[str, Any], "Emulator"], None]) -> None:
        """Run callback(obj, emulator) after `create`/`update`/`delete` of a resource (plural) over HTTP."""
        self.hooks.setdefault((event, resource), []).append(callback)

    def run_hooks(self, event: str, resource: str, obj: dict[str, Any]) -> None:
        for callback in self.hooks.get((event, resource), []):
            callback(clone(obj), self)

    # --- events ------------------------------------------------------------------------------------

    def record_event(self, involved: dict[str, Any], etype: str, reason: str, message: str, **options: Any) -> dict:
        """Record an Event about an object the way a component's recorder does (see controllers.py)."""
        from tests.emulator.controllers import record_event

        return record_event(self, involved, etype, reason, message, **options)

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
