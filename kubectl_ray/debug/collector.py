"""Collect once: read everything a diagnosis needs, with a number of API calls that does not grow with pods.

For one target (`debug raycluster/NAME`) the calls are, at most (none grows with the number of pods):

    1  get the RayCluster/RayJob/RayService          +2 get the RayClusters behind a RayJob/RayService
    1  list pods  labelSelector ray.io/cluster in (...)   (pages of 1000 pods)
    1  list the RayJob submitter's pods  labelSelector job-name=NAME (pages of 1000)
    1  list events in the namespace                       (pages of 500; only related ones are kept)
    ≤3 get head Services (+ the RayService serve Service)  1 list EndpointSlices of those Services
    1-3 operator Deployments (kube/operator.py find_operator) + 1 list the operator's pods
    ≤2 get CRDs   1 list nodes   1 list RuntimeClasses   1 list NetworkPolicies
    ≤2 get batch Jobs (RayJob submitter, Redis cleanup)
    1  get the Namespace (its labels: Pod Security, mesh injection)
    1  list LimitRanges   1 list ResourceQuotas
    1  discovery of kueue.x-k8s.io, and only where it is served: 1 list Workloads, 1 list LocalQueues
    ≤8 per kind get what the specs name: Secrets, ConfigMaps, PersistentVolumeClaims, ServiceAccounts,
       PriorityClasses, and Services named by Redis / RAY_ADDRESS addresses (≤48 in all)
    --logs: ≤9 pod log tails (head Ray container and its previous run, autoscaler (its previous run if it
            restarted), 3 wait-gcs-ready, 2 crashing workers, the last failed submitter pod)

Secrets and ConfigMaps are read by name only when a spec names them, to learn which keys they hold:
their values are dropped as they arrive (slim() keeps metadata and key names) and never stored,
printed or bundled. Secrets are never listed.

Scan mode (`debug` / `debug -A`) lists each resource once for the namespace (or all namespaces). Every
403 is recorded in the snapshot (the rules then report "not checked"); a 404 on a named object is
recorded as absent. Only an unreachable API server, or a target that cannot be read, stops collection.
Everything kept is slimmed, not redacted: rules see real values, and redaction (redact.py) runs only on
what is printed or bundled, which is a small part of what is read.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from kubectl_ray.debug.snapshot import PLURALS, LogTail, Snapshot, TargetRef
from kubectl_ray.errors import ExitCode, KubectlRayError
from kubectl_ray.kube.errors import ApiError, CRDsMissing
from kubectl_ray.kube.resources import (
    CRDS, ENDPOINT_SLICES, ENDPOINTS, EVENTS, JOBS, NAMESPACES, NODES, PODS, RAYCLUSTERS, RAYJOBS, RAYSERVICES,
    RUNTIME_CLASSES, SECRETS, SERVICE_ACCOUNTS, SERVICES, Resource,
)

NETWORK_POLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
LIMIT_RANGES = Resource("", "v1", "limitranges", "LimitRange")
RESOURCE_QUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PRIORITY_CLASSES = Resource("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False)
KUEUE_GROUP = "kueue.x-k8s.io"
REFERENCED = {"secrets": SECRETS, "configmaps": CONFIG_MAPS, "persistentvolumeclaims": PVCS,
              "serviceaccounts": SERVICE_ACCOUNTS, "priorityclasses": PRIORITY_CLASSES, "services": SERVICES}
MAX_REFERENCES = 8  # per kind: a spec naming more is unusual, and the bound keeps the call count fixed
POD_PAGE = 1000
EVENT_PAGE = 500
MAX_EVENTS_PER_OBJECT = 10
MAX_EVENTS = 2000
LOG_TAIL_LINES = 50
LOG_LIMIT_BYTES = 64 * 1024
MAX_INIT_LOGS = 3
MAX_CRASH_LOGS = 2
SUBMITTER_LABEL = "job-name"  # set on a batch Job's pods by every Kubernetes version (batch.kubernetes.io/job-name since 1.27)
KINDS = {"raycluster": "RayCluster", "rayjob": "RayJob", "rayservice": "RayService"}
RESOURCES = {"RayCluster": RAYCLUSTERS, "RayJob": RAYJOBS, "RayService": RAYSERVICES}


class DiagnosisNotRun(KubectlRayError):
    """The diagnosis cannot run at all (the target is unreadable); exit code 3."""

    exit_code = ExitCode.NOT_RUN


@dataclass
class CollectOptions:
    logs: bool = False
    tail_lines: int = LOG_TAIL_LINES


# --- slimming -------------------------------------------------------------------------------------

_META_KEEP = ("name", "namespace", "uid", "labels", "annotations", "creationTimestamp", "deletionTimestamp",
              "generation", "ownerReferences", "finalizers")
_CONTAINER_KEEP = ("name", "image", "imagePullPolicy", "command", "args", "env", "resources", "ports", "volumeMounts",
                   "securityContext", "readinessProbe", "livenessProbe")
_POD_SPEC_KEEP = ("containers", "initContainers", "nodeSelector", "tolerations", "affinity", "runtimeClassName",
                  "restartPolicy", "schedulerName", "serviceAccountName", "nodeName", "priorityClassName")


def slim_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    out = {k: meta[k] for k in _META_KEEP if k in meta}
    fields = meta.get("managedFields")
    if fields:
        out["managedFields"] = [_managed_entry(m) for m in fields]
    return out


def _managed_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Who wrote what, without the (large) fieldsV1 tree: the spec paths two levels deep."""
    out = {k: entry[k] for k in ("manager", "operation", "apiVersion", "time", "subresource") if k in entry}
    paths: list[str] = []
    tree = entry.get("fieldsV1") or {}
    for top, sub in tree.items():
        if not top.startswith("f:"):
            continue
        name = top[2:]
        children = [k[2:] for k in (sub or {}) if k.startswith("f:")] if isinstance(sub, dict) else []
        paths += [f"{name}.{c}" for c in children] or [name]
    out["fields"] = sorted(paths)
    return out


def _slim_container(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c[k] for k in _CONTAINER_KEEP if k in c}


def slim_pod(pod: dict[str, Any]) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    out_spec = {k: spec[k] for k in _POD_SPEC_KEEP if k in spec}
    for key in ("containers", "initContainers"):
        if key in out_spec:
            out_spec[key] = [_slim_container(c) for c in out_spec[key]]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": slim_metadata(pod.get("metadata") or {}),
            "spec": out_spec, "status": pod.get("status") or {}}


def slim_event(ev: dict[str, Any]) -> dict[str, Any]:
    keep = ("involvedObject", "regarding", "reason", "message", "note", "type", "count", "firstTimestamp",
            "lastTimestamp", "eventTime", "source", "reportingComponent", "reportingController")
    out = {k: ev[k] for k in keep if k in ev}
    out["metadata"] = {k: v for k, v in (ev.get("metadata") or {}).items() if k in ("name", "namespace", "creationTimestamp")}
    out.setdefault("apiVersion", "v1")
    out.setdefault("kind", "Event")
    if "message" not in out and "note" in out:
        out["message"] = out["note"]
    return out


def slim_deployment(dep: dict[str, Any]) -> dict[str, Any]:
    spec = dep.get("spec") or {}
    template = ((spec.get("template") or {}).get("spec") or {})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": slim_metadata(dep.get("metadata") or {}),
            "spec": {"replicas": spec.get("replicas", 1), "selector": spec.get("selector") or {},
                     "template": {"spec": {"containers": [_slim_container(c) for c in template.get("containers") or []]}}},
            "status": dep.get("status") or {}}


def slim_node(node: dict[str, Any]) -> dict[str, Any]:
    status = node.get("status") or {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": slim_metadata(node.get("metadata") or {}),
            "spec": {k: v for k, v in (node.get("spec") or {}).items() if k in ("taints", "unschedulable")},
            "status": {"allocatable": status.get("allocatable") or {}, "capacity": status.get("capacity") or {},
                       "conditions": [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]}}


def crd_skeleton(crd: dict[str, Any]) -> dict[str, Any]:
    """A CRD without descriptions, with pod templates elided: enough for served versions and field names."""
    spec = crd.get("spec") or {}
    versions = []
    for v in spec.get("versions") or []:
        entry = {k: v[k] for k in ("name", "served", "storage", "deprecated", "deprecationWarning") if k in v}
        schema = ((v.get("schema") or {}).get("openAPIV3Schema"))
        if schema:
            entry["schema"] = {"openAPIV3Schema": _schema_skeleton(schema)}
        versions.append(entry)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": slim_metadata(crd.get("metadata") or {}),
            "spec": {"group": spec.get("group"), "names": spec.get("names") or {}, "versions": versions}}


ELIDED = {"type": "object", "x-kubectl-ray-elided": True}


def _is_pod_schema(key: str, schema: Any) -> bool:
    """Pod templates and pod specs: Kubernetes' own schema, large and not what OP-07 is about."""
    if key in ("template", "submitterPodTemplate"):
        return True
    props = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(props, dict) and "containers" in props


def _schema_skeleton(schema: Any, depth: int = 0) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key in ("type", "x-kubernetes-preserve-unknown-fields"):
        if key in schema:
            out[key] = schema[key]
    props = schema.get("properties")
    if isinstance(props, dict):
        out["properties"] = {k: (ELIDED if depth > 0 and _is_pod_schema(k, v) else _schema_skeleton(v, depth + 1))
                             for k, v in props.items()}
    if isinstance(schema.get("items"), dict):
        out["items"] = _schema_skeleton(schema["items"], depth + 1)
    extra = schema.get("additionalProperties")
    if extra is not None:
        out["additionalProperties"] = extra if isinstance(extra, bool) else _schema_skeleton(extra, depth + 1)
    return out


def names_only(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret or ConfigMap without its values: which keys it holds (annotations may hold values too)."""
    meta = obj.get("metadata") or {}
    keys = set(obj.get("data") or {}) | set(obj.get("binaryData") or {}) | set(obj.get("stringData") or {})
    out: dict[str, Any] = {"apiVersion": "v1", "kind": obj.get("kind") or "",
                           "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "creationTimestamp") if k in meta},
                           "keys": sorted(keys)}
    if obj.get("type"):
        out["type"] = obj["type"]
    return out


def slim(resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The part of an object a rule may read (an object too malformed to slim keeps its name only)."""
    try:
        return _slim(resource, obj)
    except (AttributeError, TypeError, ValueError, KeyError):
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        return {"apiVersion": str(obj.get("apiVersion", "")) if isinstance(obj, dict) else "",
                "kind": str(obj.get("kind", "")) if isinstance(obj, dict) else "",
                "metadata": {k: str(meta[k]) for k in ("name", "namespace") if k in meta},
                "x-kubectl-ray-malformed": True}


def _slim(resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    if resource == "pods" or resource == "operatorpods":
        kept = slim_pod(obj)
    elif resource == "events":
        kept = slim_event(obj)
    elif resource == "deployments":
        kept = slim_deployment(obj)
    elif resource == "nodes":
        kept = slim_node(obj)
    elif resource == "customresourcedefinitions":
        kept = crd_skeleton(obj)
    elif resource == "serviceaccounts":
        kept = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": slim_metadata(obj.get("metadata") or {})}
    elif resource in ("secrets", "configmaps"):
        kept = names_only(obj)
    else:
        kept = dict(obj)
        kept["metadata"] = slim_metadata(obj.get("metadata") or {})
        kept.pop("data", None)
    return kept


# --- the collector -------------------------------------------------------------------------------

DECODING_GC_THRESHOLD = 200_000  # allocations between young collections while pages are decoded


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Fewer garbage collections while list pages are decoded.

    Decoded JSON is trees of dicts and lists: no cycles for the collector to find, yet every 700
    allocations CPython walks the young objects, and the survivors are walked again and again as they
    age (measured: ~7% of `debug` on 1000 pods). What is alive before collection starts (modules,
    click, the client) is frozen out of every collection; the young threshold is raised meanwhile and
    restored after, so nothing changes for what runs next.
    """
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(DECODING_GC_THRESHOLD, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


class CountingClient:
    """A KubeClient that counts the requests made through it (each page of a list is one)."""

    def __init__(self, kube: Any) -> None:
        self._kube = kube
        self.calls = 0

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._kube.get(*args, **kwargs)

    def list_pages(self, *args: Any, **kwargs: Any) -> Any:
        pages = self._kube.list_pages(*args, **kwargs)
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except Exception:
                self.calls += 1
                raise
            self.calls += 1
            yield page

    def list(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [item for page in self.list_pages(*args, **kwargs) for item in page]

    def pod_log(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._kube.pod_log(*args, **kwargs)

    def preferred_version(self, group: str) -> str | None:
        self.calls += 1
        return self._kube.preferred_version(group)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kube, name)


class Collector:
    """Reads through a KubeClient into a Snapshot; counts its API calls."""

    def __init__(self, kube: Any, options: CollectOptions | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.kube = CountingClient(kube)
        self.options = options or CollectOptions()
        self.snap = Snapshot()
        self._clock = clock or _now

    # one target ---------------------------------------------------------------------------------

    def collect_target(self, kind: str, name: str, namespace: str) -> Snapshot:
        """Everything about one RayCluster/RayJob/RayService (kind as in KINDS values)."""
        with quiet_gc():
            return self._collect_target(kind, name, namespace)

    def _collect_target(self, kind: str, name: str, namespace: str) -> Snapshot:
        snap = self._start(namespace, all_namespaces=False)
        target = TargetRef(kind, namespace, name)
        snap.targets = [target]
        obj = self._read_target(target)
        if obj is None:
            self._collect_operator(namespace)
            return self._finish()
        snap.add(target.plural, [slim(target.plural, obj)])
        clusters = self._clusters_of(target, obj)
        cluster_names = [c["metadata"]["name"] for c in clusters]
        selector = f"ray.io/cluster in ({','.join(sorted(set(cluster_names)))})" if cluster_names else None
        pods = self._list_pods(namespace, selector) if selector else self._mark_collected("pods")
        submitters = self._list_pods(namespace, f"{SUBMITTER_LABEL}={name}") if kind == "RayJob" else []
        services = self._head_service_names(target, obj, clusters)
        self._get_services(namespace, services)
        self._list_endpoint_slices(namespace, services)
        self._collect_operator(namespace)
        self._get_crds(sorted({"rayclusters", target.plural}))
        self._list_cluster_scoped()
        self._list("networkpolicies", NETWORK_POLICIES, namespace)
        self._get_jobs(target, clusters)
        self._collect_namespace(namespace)
        self._get_references(namespace, obj, clusters)
        workloads = self._collect_kueue(namespace)
        related = {("RayCluster", n) for n in cluster_names} | {(kind, name)}
        related |= {("Pod", p["metadata"]["name"]) for p in pods + submitters}
        related |= {("Service", s) for s in services} | {("Job", name)}
        related |= {("Workload", w["metadata"]["name"]) for w in workloads}
        self._list_events(namespace, related)
        if self.options.logs:
            self._collect_logs(namespace, clusters, pods, submitters)
        return self._finish()

    # scan ---------------------------------------------------------------------------------------

    def collect_scan(self, namespace: str | None) -> Snapshot:
        """Every RayCluster/RayJob/RayService in a namespace (None: all namespaces)."""
        with quiet_gc():
            return self._collect_scan(namespace)

    def _collect_scan(self, namespace: str | None) -> Snapshot:
        snap = self._start(namespace, all_namespaces=namespace is None)
        objects: dict[str, list[dict[str, Any]]] = {}
        for kind, res in RESOURCES.items():
            try:
                objects[kind] = self._list_raw(res, namespace)
            except CRDsMissing as exc:
                snap.meta["crdsMissing"] = str(exc)
                snap.targets = [TargetRef(kind, namespace or "", "")]
                self._collect_operator(namespace or "default")
                return self._finish()
            except ApiError as exc:
                if exc.status != 403:
                    raise
                self._forbid(exc, "list", res.plural, namespace)
                objects[kind] = []
        for kind, items in objects.items():
            snap.add(PLURALS[kind], [slim(PLURALS[kind], o) for o in items])
        snap.targets = _scan_targets(objects)
        pods = self._list_pods(namespace, "ray.io/is-ray-node=yes")
        self._list("services", SERVICES, namespace, label_selector="app.kubernetes.io/created-by=kuberay-operator")
        for cluster in objects.get("RayCluster", []):
            meta = cluster["metadata"]
            svc = _expected_head_service(cluster)
            if snap.readable("services", meta.get("namespace")) and snap.get("services", meta.get("namespace"), svc) is None:
                snap.mark_absent("services", meta.get("namespace"), svc)
        self._list("endpointslices", ENDPOINT_SLICES, namespace, label_selector="kubernetes.io/service-name")
        self._collect_operator(namespace or "default")
        self._get_crds(["rayclusters", "rayjobs", "rayservices"])
        self._list_cluster_scoped()
        self._list("networkpolicies", NETWORK_POLICIES, namespace)
        self._list("jobs", JOBS, namespace, label_selector="app.kubernetes.io/created-by=kuberay-operator")
        related = {(o.get("kind", ""), o["metadata"]["name"]) for items in objects.values() for o in items}
        related |= {("Pod", p["metadata"]["name"]) for p in pods}
        self._list_events(namespace, related, all_namespaces=namespace is None)
        return self._finish()

    # pieces -------------------------------------------------------------------------------------

    def _start(self, namespace: str | None, *, all_namespaces: bool) -> Snapshot:
        from kubectl_ray import __version__

        self.snap = Snapshot()
        self.snap.meta.update({"collectedAt": self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"), "pluginVersion": __version__,
                               "namespace": namespace or "", "allNamespaces": all_namespaces, "source": "cluster",
                               "logs": self.options.logs})
        return self.snap

    @property
    def calls(self) -> int:
        return self.kube.calls

    def _finish(self) -> Snapshot:
        self.snap.meta["apiCalls"] = self.calls
        return self.snap

    def _read_target(self, target: TargetRef) -> dict[str, Any] | None:
        try:
            return self.kube.get(RESOURCES[target.kind], target.name, target.namespace)
        except CRDsMissing as exc:
            self.kube.calls += 1  # the discovery request that confirmed it
            self.snap.meta["crdsMissing"] = str(exc)
            return None
        except ApiError as exc:
            if exc.status == 404 and exc.names_an_object:
                self.snap.mark_absent(target.plural, target.namespace, target.name)
                self.snap.meta["targetMissing"] = True
                return None
            if exc.status == 403:
                raise DiagnosisNotRun(f"cannot read {target.kind} \"{target.name}\": {exc.render()}") from None
            raise

    def _clusters_of(self, target: TargetRef, obj: dict[str, Any]) -> list[dict[str, Any]]:
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        if target.kind == "RayCluster":
            return [obj]
        if target.kind == "RayJob":
            names = [status.get("rayClusterName") or (spec.get("clusterSelector") or {}).get("ray.io/cluster")]
        else:
            names = [(status.get(k) or {}).get("rayClusterName") for k in ("activeServiceStatus", "pendingServiceStatus")]
        out = []
        for name in dict.fromkeys(n for n in names if n):
            cluster = self._get(RAYCLUSTERS, "rayclusters", name, target.namespace)
            if cluster is not None:
                out.append(cluster)
        return out

    def _list_pods(self, namespace: str | None, selector: str) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        try:
            for page in self.kube.list_pages(PODS, namespace, all_namespaces=namespace is None,
                                             label_selector=selector, page_size=POD_PAGE):
                kept += [slim_pod(p) for p in page]
        except ApiError as exc:
            if exc.status != 403:
                self._error("list pods", exc)
                return []
            self._forbid(exc, "list", "pods", namespace)
            return []
        self.snap.add("pods", kept)
        return kept

    def _mark_collected(self, resource: str) -> list:
        self.snap.collected.add(resource)
        return []

    def _head_service_names(self, target: TargetRef, obj: dict[str, Any], clusters: list[dict[str, Any]]) -> list[str]:
        names = [_expected_head_service(c) for c in clusters]
        if target.kind == "RayService":
            names += [f"{target.name}-head-svc", f"{target.name}-serve-svc"]
        return list(dict.fromkeys(names))

    def _get_services(self, namespace: str, names: Iterable[str]) -> None:
        for name in names:
            self._get(SERVICES, "services", name, namespace)

    def _list_endpoint_slices(self, namespace: str, services: list[str]) -> None:
        if not services:
            return
        selector = f"kubernetes.io/service-name in ({','.join(services)})"
        if self._list("endpointslices", ENDPOINT_SLICES, namespace, label_selector=selector):
            return
        if not self.snap.readable("endpointslices", namespace):  # fall back to Endpoints
            for name in services:
                self._get(ENDPOINTS, "endpoints", name, namespace)

    def _collect_operator(self, namespace: str) -> None:
        from kubectl_ray.kube.operator import find_operator

        try:
            lookup = find_operator(self.kube, namespace)  # type: ignore[arg-type] - the counting proxy
        except ApiError as exc:
            self._error("list deployments", exc)
            return
        for verb, resource, ns in lookup.forbidden:
            self.snap.mark_forbidden(verb, resource, ns, "forbidden")
        self.snap.add("deployments", [slim("deployments", d) for d in lookup.deployments])
        if ("list", "deployments", None) in lookup.forbidden and not lookup.deployments:
            self.snap.collected.discard("deployments")
        for dep in lookup.deployments[:2]:
            labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if not labels:
                continue
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            ns = dep["metadata"].get("namespace")
            try:
                pods = next(self.kube.list_pages(PODS, ns, label_selector=selector, page_size=20), [])
            except ApiError as exc:
                if exc.status != 403:
                    self._error("list operator pods", exc)
                continue
            self.snap.add("operatorpods", [slim("operatorpods", p) for p in pods])

    def _collect_namespace(self, namespace: str) -> None:
        """The Namespace (labels: Pod Security, mesh injection) and the limits it puts on pods."""
        self._get(NAMESPACES, "namespaces", namespace, None)
        self._list("limitranges", LIMIT_RANGES, namespace)
        self._list("resourcequotas", RESOURCE_QUOTAS, namespace)

    def _get_references(self, namespace: str, obj: dict[str, Any], clusters: list[dict[str, Any]]) -> None:
        """Objects the specs name, read by name (at most MAX_REFERENCES per kind)."""
        from kubectl_ray.debug.model import References, cluster_references, dig, pod_spec_references

        refs = References()
        spec = obj.get("spec") or {}
        for cluster in clusters:
            cluster_references(cluster.get("spec") or {}, "spec", refs)
        for key in ("rayClusterSpec", "rayClusterConfig"):
            if isinstance(spec.get(key), dict):
                cluster_references(spec[key], f"spec.{key}", refs)
        pod_spec_references(dig(spec, "submitterPodTemplate", "spec", default={}), "spec.submitterPodTemplate.spec", refs)
        for kind, res in REFERENCED.items():
            self.snap.collected.add(kind)
            for ref in list(refs.of(kind))[:MAX_REFERENCES]:
                name, ns = ref, namespace
                if kind == "services":  # "name" or "name.namespace" (model.service_host)
                    name, _, other = ref.partition(".")
                    ns = other or namespace
                    if self.snap.get("services", ns, name) is not None:
                        continue  # the head Service, already read
                self._get(res, kind, name, ns if res.namespaced else None)

    def _collect_kueue(self, namespace: str) -> list[dict[str, Any]]:
        """Kueue's Workloads and LocalQueues, where the API server serves them (one discovery call)."""
        version = self._served_version(KUEUE_GROUP)
        if version is None:
            self.snap.collected.update(("workloads", "localqueues"))
            return []
        self.snap.meta["kueue"] = f"{KUEUE_GROUP}/{version}"
        workloads = self._list("workloads", Resource(KUEUE_GROUP, version, "workloads", "Workload"), namespace)
        self._list("localqueues", Resource(KUEUE_GROUP, version, "localqueues", "LocalQueue"), namespace)
        return workloads

    def _served_version(self, group: str) -> str | None:
        """The preferred version of an API group, or None when the server does not serve it."""
        try:
            return self.kube.preferred_version(group)
        except ApiError as exc:
            if exc.status == 403:
                self.snap.mark_forbidden("get", f"{group} API", None, exc.render())
            else:
                self._error(f"discover {group}", exc)
            return None

    def _get_crds(self, plurals: list[str]) -> None:
        for plural in plurals:
            self._get(CRDS, "customresourcedefinitions", f"{plural}.ray.io", None)

    def _list_cluster_scoped(self) -> None:
        self._list("nodes", NODES, None)
        self._list("runtimeclasses", RUNTIME_CLASSES, None)

    def _get_jobs(self, target: TargetRef, clusters: list[dict[str, Any]]) -> None:
        if target.kind == "RayJob":
            self._get(JOBS, "jobs", target.name, target.namespace)
        for c in clusters:
            meta = c.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                self._get(JOBS, "jobs", f"{meta['name']}-redis-cleanup"[:63], meta.get("namespace"))

    def _list_events(self, namespace: str | None, related: set[tuple[str, str]], *, all_namespaces: bool = False) -> None:
        per_object: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        try:
            for page in self.kube.list_pages(EVENTS, namespace, all_namespaces=all_namespaces or namespace is None,
                                             page_size=EVENT_PAGE):
                for ev in page:
                    inv = ev.get("involvedObject") or ev.get("regarding") or {}
                    if (inv.get("kind", ""), inv.get("name", "")) not in related:
                        continue
                    key = (inv.get("namespace", ""), inv.get("kind", ""), inv.get("name", ""))
                    per_object.setdefault(key, []).append(slim_event(ev))
        except ApiError as exc:
            if exc.status == 403:
                self._forbid(exc, "list", "events", namespace)
            else:
                self._error("list events", exc)
            return
        kept: list[dict[str, Any]] = []
        for events in per_object.values():
            events.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
            kept += events[-MAX_EVENTS_PER_OBJECT:]
        self.snap.add("events", kept[-MAX_EVENTS:])

    def _collect_logs(self, namespace: str, clusters: list[dict[str, Any]], pods: list[dict[str, Any]],
                      submitters: list[dict[str, Any]] = ()) -> None:
        from kubectl_ray.debug.model import (
            AUTOSCALER_CONTAINER, WAIT_GCS_READY, container_status, node_type, ray_container, ray_container_status,
        )
        from kubectl_ray.debug.rules.workers import waiting_for_gcs

        wanted: list[tuple[dict[str, Any], str, bool]] = []
        heads = [p for p in pods if node_type(p) == "head"]
        for head in heads[:2]:
            ray_name = ray_container(head).get("name")
            status = ray_container_status(head) or {}
            if ray_name:
                wanted.append((head, ray_name, False))
                if status.get("restartCount"):
                    wanted.append((head, ray_name, True))
            autoscaler = container_status(head, AUTOSCALER_CONTAINER)
            if autoscaler:  # a sidecar that restarted: the run that failed says why
                wanted.append((head, AUTOSCALER_CONTAINER, bool(autoscaler.get("restartCount"))))
        waiting = [p for p in pods if node_type(p) == "worker" and waiting_for_gcs(p)]
        wanted += [(p, WAIT_GCS_READY, False) for p in waiting[:MAX_INIT_LOGS]]
        crashing = [p for p in pods if node_type(p) == "worker" and ((ray_container_status(p) or {}).get("restartCount") or 0) > 0]
        wanted += [(p, ray_container(p).get("name", ""), True) for p in crashing[:MAX_CRASH_LOGS]]
        failed = sorted((p for p in submitters if (p.get("status") or {}).get("phase") == "Failed"),
                        key=lambda p: str(p["metadata"].get("creationTimestamp", "")))
        wanted += [(p, ray_container(p).get("name", ""), False) for p in failed[-1:]]
        for pod, container, previous in wanted:
            name = pod["metadata"]["name"]
            try:
                data = self.kube.pod_log(name, namespace, container=container, previous=previous,
                                         tail_lines=self.options.tail_lines, limit_bytes=LOG_LIMIT_BYTES)
            except ApiError as exc:
                if exc.status == 403:
                    self._forbid(exc, "get", "pods/log", namespace)
                    return
                continue  # e.g. no previous container, or not started yet
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
            self.snap.logs.append(LogTail(namespace, name, container, previous, text))

    # low level ----------------------------------------------------------------------------------

    def _get(self, res: Resource, resource: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        try:
            obj = self.kube.get(res, name, namespace)
        except ApiError as exc:
            if exc.status == 404:
                self.snap.mark_absent(resource, namespace, name)
            elif exc.status == 403:
                self._forbid(exc, "get", resource, namespace)
            else:
                self._error(f"get {resource}/{name}", exc)
            return None
        self.snap.add(resource, [slim(resource, obj)])
        return obj

    def _list_raw(self, res: Resource, namespace: str | None, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.kube.list_pages(res, namespace, all_namespaces=namespace is None and res.namespaced, **kwargs):
            items += page
        return items

    def _list(self, resource: str, res: Resource, namespace: str | None, **kwargs: Any) -> list[dict[str, Any]]:
        try:
            items = self._list_raw(res, namespace, **kwargs)
        except ApiError as exc:
            if exc.status == 403:
                self._forbid(exc, "list", resource, namespace if res.namespaced else None)
            elif exc.status == 404 and not exc.names_an_object:
                self.snap.collected.add(resource)  # the API is not served: nothing of that kind exists
            else:
                self._error(f"list {resource}", exc)
            return []
        self.snap.add(resource, [slim(resource, o) for o in items])
        return items

    def _forbid(self, exc: ApiError, verb: str, resource: str, namespace: str | None) -> None:
        self.snap.mark_forbidden(verb, resource, namespace, exc.render())

    def _error(self, what: str, exc: ApiError) -> None:
        self.snap.errors.append(f"{what}: {exc.render()}")


def _now() -> datetime:
    from kubectl_ray import printing

    return printing.now()  # the one clock tests freeze


def _expected_head_service(cluster: dict[str, Any]) -> str:
    status = cluster.get("status") or {}
    spec = cluster.get("spec") or {}
    return ((status.get("head") or {}).get("serviceName")
            or (((spec.get("headGroupSpec") or {}).get("headService") or {}).get("metadata") or {}).get("name")
            or f"{cluster['metadata']['name']}-head-svc")


def _scan_targets(objects: dict[str, list[dict[str, Any]]]) -> list[TargetRef]:
    """RayJobs, RayServices, and the RayClusters no RayJob/RayService owns (those are diagnosed with their owner)."""
    out: list[TargetRef] = []
    for kind in ("RayCluster", "RayJob", "RayService"):
        for obj in objects.get(kind, []):
            meta = obj.get("metadata") or {}
            owners = {o.get("kind") for o in meta.get("ownerReferences") or []}
            if kind == "RayCluster" and owners & {"RayJob", "RayService"}:
                continue
            out.append(TargetRef(kind, meta.get("namespace", ""), meta.get("name", "")))
    return sorted(out, key=lambda t: (t.namespace, t.kind, t.name))
