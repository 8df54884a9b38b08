"""Static healthy clusters for debug tests: turns a CR manifest into the objects of a healthy, running cluster.

Pods, Services, submitter Jobs and the clusters of RayJobs/RayServices come from the same builders the
emulator's KubeRay player uses (tests/emulator/kuberay/builders.py, read from KubeRay v1.7.0), so a
fixture looks like what the player produces; names, uids and times here are deterministic. It shows
what a real cluster shows: the CR with status, RayClusters (for RayJobs/RayServices), pods (Running, Ready,
wait-gcs-ready Completed, the autoscaler sidecar), head/serve Services with EndpointSlices, the K8s
submitter Job, the operator Deployment (quay.io/kuberay/operator:v1.7.0), the v1.7.0 CRDs and nodes that
satisfy the templates' nodeSelectors. Defaults from the CRD schemas are applied first, as the API server
would (../shared/crds/README.md).

`Sim.snapshot(...)` turns those objects into a Snapshot exactly as the collector would store them
(slimmed; redaction happens only on output), so the same objects can also be loaded into the API emulator.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from kubectl_ray.debug.collector import slim
from kubectl_ray.debug.snapshot import PLURALS, Snapshot, TargetRef
from tests.conftest import shared_path  # ../shared, found as tests.conftest explains
from tests.emulator.api import default_pod_spec
from tests.emulator.kuberay import builders as kb

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
OPERATOR_NS = "kuberay-system"
RAY_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")


def ts(delta: timedelta = timedelta(0), now: datetime = NOW) -> str:
    return (now + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**kwargs: float) -> str:
    return ts(-timedelta(**kwargs))


def suffix(*parts: str, n: int = 5) -> str:
    """Deterministic pod-name suffixes (KubeRay uses 5 random characters)."""
    digest = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return "".join("bcdfghjklmnpqrstvwxz2456789"[int(c, 16) % 27] for c in digest[:n])


def load_docs(path: Path | str) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_absolute():
        path = shared_path("samples", str(path))  # skips the test loudly when ../shared is missing
    with open(path, encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if isinstance(d, dict)]


def sample(name: str, kind: str | None = None) -> dict[str, Any]:
    """The first Ray CR (of kind) in a sample file."""
    for doc in load_docs(name):
        if doc.get("kind") in RAY_KINDS and (kind is None or doc["kind"] == kind):
            return doc
    raise LookupError(f"no {kind or 'Ray'} object in {name}")


def sample_files() -> list[str]:
    return sorted(p.name for p in shared_path("samples").glob("*.yaml")
                  if any(d.get("kind") in RAY_KINDS for d in load_docs(p)))


# --- CRD defaults ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def crd(plural: str) -> dict[str, Any]:
    with open(shared_path("crds", "v1.7.0", f"ray.io_{plural}.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=None)
def crd_skeleton_of(plural: str) -> dict[str, Any]:
    from kubectl_ray.debug.collector import crd_skeleton

    return crd_skeleton(crd(plural))


def v1_schema(plural: str) -> dict[str, Any]:
    return next(v["schema"]["openAPIV3Schema"] for v in crd(plural)["spec"]["versions"] if v["name"] == "v1")


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """Structural defaulting as the API server does before storing an object."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in props:
                    apply_defaults(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


# --- the fake operator ------------------------------------------------------------------------------

class Sim:
    def __init__(self, namespace: str = "default", *, operator_version: str = "v1.7.0", gates: Iterable[str] = (),
                 max_pods_per_group: int = 2, now: datetime = NOW, operator_env: dict[str, str] | None = None,
                 operator_args: list[str] | None = None) -> None:
        self.namespace = namespace
        self.operator_version = operator_version
        self.gates = list(gates)
        self.max_pods = max_pods_per_group
        self.now = now
        self.operator_env = operator_env or {}
        self.operator_args = operator_args
        self._ips = iter(f"10.0.{i // 250}.{i % 250 + 2}" for i in range(100000))

    # whole environments -----------------------------------------------------------------------

    def healthy(self, manifest: dict[str, Any]) -> tuple[TargetRef, list[dict[str, Any]]]:
        """(target, objects) of a healthy running install of one Ray CR, operator and nodes included."""
        cr = self.stored(manifest)
        kind = cr["kind"]
        objs: list[dict[str, Any]]
        if kind == "RayCronJob":
            cr = self._cron_child(cr)
            kind = "RayJob"
        if kind == "RayCluster":
            objs = self.cluster_objects(cr)
        elif kind == "RayJob":
            objs = self.job_objects(cr)
        else:
            objs = self.service_objects(cr)
        objs += self.platform(objs)
        return TargetRef(kind, self.namespace, cr["metadata"]["name"]), objs

    def platform(self, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Operator, CRDs and the nodes the pods run on."""
        return [self.operator_deployment(), *self.crds(), *self.nodes_for([o for o in objs if o["kind"] == "Pod"])]

    def stored(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """A manifest as the API server stores it: defaults applied, metadata filled in."""
        obj = copy.deepcopy(manifest)
        kind = obj["kind"]
        if kind in PLURALS:
            apply_defaults(obj, v1_schema(PLURALS[kind]))
        meta = obj.setdefault("metadata", {})
        if "name" not in meta and meta.get("generateName"):
            meta["name"] = meta["generateName"] + suffix(meta["generateName"])
        meta.setdefault("namespace", self.namespace)
        meta.setdefault("uid", f"uid-{kind.lower()}-{meta['name']}")
        meta.setdefault("creationTimestamp", ago(hours=2))
        meta.setdefault("generation", 1)
        meta["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "ray.io/v1",
                                  "time": meta["creationTimestamp"], "fieldsType": "FieldsV1",
                                  "fieldsV1": {"f:spec": {f"f:{k}": {} for k in obj.get("spec") or {}}}}]
        return obj

    def _cron_child(self, cron: dict[str, Any]) -> dict[str, Any]:
        job = {"apiVersion": "ray.io/v1", "kind": "RayJob",
               "metadata": {"name": f"{cron['metadata']['name']}-29412345", "namespace": self.namespace,
                            "labels": {"ray.io/cronjob-name": cron["metadata"]["name"]}},
               "spec": copy.deepcopy(cron["spec"]["jobTemplate"])}
        return self.stored(job)

    # RayCluster -------------------------------------------------------------------------------

    def cluster_objects(self, cluster: dict[str, Any], *, owner: dict[str, Any] | None = None,
                        serve: bool = False, sidecar_submitter: bool = False) -> list[dict[str, Any]]:
        """The running cluster: pods and Services as KubeRay v1.7 builds them (tests/emulator/kuberay/builders.py)."""
        spec = cluster["spec"]
        if owner is not None:
            cluster["metadata"]["ownerReferences"] = [kb.controller_ref(owner)]
            cluster["metadata"].setdefault("labels", {}).update({
                "ray.io/originated-from-crd": owner["kind"], "ray.io/originated-from-cr-name": owner["metadata"]["name"]})
        head = self.head_pod(cluster, serve=serve, sidecar_submitter=sidecar_submitter)
        workers = []
        for group in spec.get("workerGroupSpecs") or []:
            if group.get("suspend"):
                continue
            count = min(_clamp(group), self.max_pods) * int(group.get("numOfHosts") or 1)
            workers += [self.worker_pod(cluster, group, i, serve=serve) for i in range(min(count, self.max_pods))]
        svc = self.head_service(cluster, head)
        counts = kb.cluster_status_counts(cluster)
        desired = counts["desiredWorkerReplicas"]
        cluster["status"] = {
            "state": "ready", "observedGeneration": cluster["metadata"].get("generation", 1),
            **counts, "availableWorkerReplicas": desired, "readyWorkerReplicas": desired,
            "endpoints": {p["name"]: str(p["targetPort"]) for p in svc["spec"]["ports"]},
            "head": {"podName": head["metadata"]["name"], "podIP": head["status"]["podIP"],
                     "serviceName": svc["metadata"]["name"], "serviceIP": head["status"]["podIP"]},
            "conditions": [
                {"type": "RayClusterProvisioned", "status": "True", "reason": "AllPodRunningAndReadyFirstTime",
                 "message": "All Ray Pods are ready for the first time", "lastTransitionTime": ago(minutes=100)},
                {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady", "message": "",
                 "lastTransitionTime": ago(minutes=100)},
                {"type": "RayClusterSuspended", "status": "False", "reason": "RayClusterSuspended", "message": "",
                 "lastTransitionTime": ago(minutes=110)},
                {"type": "RayClusterSuspending", "status": "False", "reason": "RayClusterSuspending", "message": "",
                 "lastTransitionTime": ago(minutes=110)},
            ],
            "lastUpdateTime": ago(minutes=1),
            "stateTransitionTimes": {"ready": ago(minutes=100)},
        }
        events = [self.event(cluster, "Normal", "CreatedHeadPod", f"Created head Pod {self.namespace}/{head['metadata']['name']}",
                             ago(minutes=110))]
        return [cluster, head, *workers, svc, self.endpoint_slice(svc, [head]), *events]

    def _pod(self, cluster: dict[str, Any], pod: dict[str, Any], name: str) -> dict[str, Any]:
        """A pod built by the operator, as the kubelet reports it once running and ready."""
        pod["metadata"].pop("generateName", None)
        pod["metadata"].update(name=name, namespace=self.namespace, uid=f"uid-pod-{name}")
        pod["metadata"]["creationTimestamp"] = created = ago(minutes=105)
        default_pod_spec(pod["spec"])
        ip = next(self._ips)
        pod["status"] = kb.running_pod_status(pod, ip=ip, host_ip="192.168.0.10", started=created,
                                              ready_at=ago(minutes=100), finished_init=ago(minutes=104))
        return pod

    def head_pod(self, cluster: dict[str, Any], *, serve: bool = False, sidecar_submitter: bool = False) -> dict[str, Any]:
        name = cluster["metadata"]["name"]
        head_spec = cluster["spec"]["headGroupSpec"]
        pod = kb.ray_pod(cluster, "head", head_spec, kuberay_version=self.operator_version, gates=set(self.gates),
                         default_env=[])
        if sidecar_submitter and not any(c.get("name") == kb.SUBMITTER for c in pod["spec"]["containers"]):
            pod["spec"]["containers"].append({"name": kb.SUBMITTER, "image": pod["spec"]["containers"][0].get("image")})
        if serve:
            pod["metadata"]["labels"]["ray.io/serve"] = "true"
        return self._pod(cluster, pod, f"{name}-head-{suffix(name, 'head')}")

    def worker_pod(self, cluster: dict[str, Any], group: dict[str, Any], index: int, *, serve: bool = False) -> dict[str, Any]:
        name = cluster["metadata"]["name"]
        pod = kb.ray_pod(cluster, "worker", group, kuberay_version=self.operator_version, gates=set(self.gates))
        pod["metadata"]["labels"]["ray.io/worker-group-replica-index"] = str(index)
        if serve:
            pod["metadata"]["labels"]["ray.io/serve"] = "true"
        pod_name = f"{name}-{group['groupName']}-worker-{suffix(name, group['groupName'], str(index))}"
        return self._pod(cluster, pod, pod_name)

    def running_status(self, container: dict[str, Any]) -> dict[str, Any]:
        return kb.running_container_status(container, ago(minutes=104))

    def completed_status(self, container: dict[str, Any]) -> dict[str, Any]:
        return kb.completed_container_status(container, ago(minutes=105), ago(minutes=104))

    def head_service(self, cluster: dict[str, Any], head: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        svc = kb.head_service(cluster)
        if name is not None:
            svc["metadata"]["name"] = name
        svc["metadata"].update(namespace=self.namespace, uid=f"uid-svc-{svc['metadata']['name']}",
                               creationTimestamp=ago(minutes=110))
        svc["metadata"]["ownerReferences"] = [kb.controller_ref({**cluster, "kind": "RayCluster"})]
        _default_service_ports(svc)
        return svc

    def endpoint_slice(self, svc: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
        name = svc["metadata"]["name"]
        labels = {**(svc["metadata"].get("labels") or {}), "kubernetes.io/service-name": name,
                  "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
        if svc["spec"].get("clusterIP") == "None":
            labels["service.kubernetes.io/headless"] = ""
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{name}-{suffix(name)}", "namespace": self.namespace,
                             "creationTimestamp": ago(minutes=110), "labels": labels,
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                                  "uid": svc["metadata"].get("uid", ""), "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [p["status"]["podIP"]], "conditions": {"ready": True, "serving": True, "terminating": False},
                               "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": self.namespace,
                                             "uid": p["metadata"].get("uid", "")}}
                              for p in pods],
                "ports": [{"name": p.get("name"), "port": p.get("targetPort", p["port"]), "protocol": "TCP"}
                          for p in svc["spec"]["ports"]]}

    def event(self, obj: dict[str, Any], etype: str, reason: str, message: str, when: str, count: int = 1) -> dict[str, Any]:
        meta = obj["metadata"]
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{meta['name']}.{suffix(reason, message, when, n=8)}", "namespace": meta.get("namespace", self.namespace),
                             "creationTimestamp": when},
                "involvedObject": {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj["kind"], "name": meta["name"],
                                   "namespace": meta.get("namespace", self.namespace), "uid": meta.get("uid", "")},
                "reason": reason, "message": message, "type": etype, "count": count,
                "firstTimestamp": when, "lastTimestamp": when, "source": {"component": "kuberay-operator"}}

    # RayJob -----------------------------------------------------------------------------------

    def job_objects(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        spec = job["spec"]
        name = job["metadata"]["name"]
        selector = (spec.get("clusterSelector") or {}).get("ray.io/cluster")
        if selector:
            base = sample("ray-cluster.sample.yaml")
            base["metadata"] = {"name": selector}
            cluster = self.stored(base)
            objs = self.cluster_objects(cluster)
            cluster_name = selector
        else:
            cluster_name = f"{name}-{suffix(name)}"
            cluster = self.stored(kb.rayjob_cluster(job, cluster_name))
            objs = self.cluster_objects(cluster, owner=job)
        mode = spec.get("submissionMode") or "K8sJobMode"
        job["status"] = {"jobDeploymentStatus": "Waiting" if mode == "InteractiveMode" else "Running",
                         "jobStatus": "" if mode == "InteractiveMode" else "RUNNING",
                         "jobId": "" if mode == "InteractiveMode" else f"{name}-{suffix(name, 'job', n=8)}",
                         "rayClusterName": cluster_name, "startTime": ago(minutes=108),
                         "dashboardURL": f"{cluster_name}-head-svc.{self.namespace}.svc.cluster.local:8265",
                         "observedGeneration": job["metadata"].get("generation", 1),
                         "rayClusterStatus": cluster["status"], "rayJobInfo": {}, "failed": 0, "succeeded": 0}
        out = [job, *objs]
        if mode == "K8sJobMode":
            submitter = kb.submitter_job(job, cluster)
            submitter["metadata"].update(namespace=self.namespace, creationTimestamp=ago(minutes=100),
                                         uid=f"uid-job-{name}")
            submitter["status"] = {"active": 1, "ready": 1, "startTime": ago(minutes=100), "terminating": 0,
                                   "uncountedTerminatedPods": {}}
            out.append(submitter)
        return out

    # RayService -------------------------------------------------------------------------------

    def service_objects(self, service: dict[str, Any]) -> list[dict[str, Any]]:
        name = service["metadata"]["name"]
        cluster_name = f"{name}-{suffix(name)}"
        cluster = self.stored(kb.rayservice_cluster(service, cluster_name))
        cluster["metadata"]["annotations"]["ray.io/kuberay-version"] = self.operator_version
        objs = self.cluster_objects(cluster, owner=service, serve=True)
        head = next(o for o in objs if o["kind"] == "Pod" and o["metadata"]["labels"].get("ray.io/node-type") == "head")
        apps = {}
        config = yaml.safe_load(service["spec"].get("serveConfigV2") or "") or {}
        for app in config.get("applications") or []:
            apps[app.get("name", "default")] = {
                "status": "RUNNING", "healthLastUpdateTime": ago(minutes=1),
                "serveDeploymentStatuses": {d["name"]: {"status": "HEALTHY", "healthLastUpdateTime": ago(minutes=1)}
                                            for d in app.get("deployments") or [] if "name" in d}}
        service["status"] = {
            "serviceStatus": "Running", "numServeEndpoints": 1, "observedGeneration": service["metadata"].get("generation", 1),
            "conditions": [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints", "message": "",
                            "lastTransitionTime": ago(minutes=95)},
                           {"type": "UpgradeInProgress", "status": "False", "reason": "NoPendingCluster", "message": "",
                            "lastTransitionTime": ago(minutes=95)}],
            "activeServiceStatus": {"rayClusterName": cluster_name, "applicationStatuses": apps,
                                    "rayClusterStatus": cluster["status"]},
            "pendingServiceStatus": {},
        }
        extra = [self._owned_service(kb.owner_head_service(service, cluster))]
        serve_svc = kb.serve_service(service, cluster)
        if serve_svc is None:  # no serve port on the head: KubeRay keeps retrying; show the usual one
            serve_svc = kb.owner_head_service(service, cluster)
            serve_svc["metadata"]["name"] = f"{name}-serve-svc"
            serve_svc["spec"]["ports"] = [{"name": "serve", "port": 8000}]
        extra += [self._owned_service(serve_svc), self.endpoint_slice(extra[0], [head])]
        return [service, *objs, *extra]

    def _owned_service(self, svc: dict[str, Any]) -> dict[str, Any]:
        svc["metadata"].update(namespace=self.namespace, uid=f"uid-svc-{svc['metadata']['name']}",
                               creationTimestamp=ago(minutes=110))
        _default_service_ports(svc)
        return svc

    # platform ---------------------------------------------------------------------------------

    def operator_deployment(self) -> dict[str, Any]:
        args = list(self.operator_args) if self.operator_args is not None else []
        if self.gates:
            args.append("--feature-gates=" + ",".join(f"{g}=true" for g in self.gates))
        container = {"name": "kuberay-operator", "image": f"quay.io/kuberay/operator:{self.operator_version}",
                     "command": ["/manager"], "args": args,
                     "env": [{"name": k, "value": v} for k, v in self.operator_env.items()],
                     "resources": {"limits": {"cpu": "100m", "memory": "512Mi"}}}
        labels = {"app.kubernetes.io/name": "kuberay-operator", "app.kubernetes.io/instance": "kuberay-operator",
                  "helm.sh/chart": f"kuberay-operator-{self.operator_version.lstrip('v')}"}
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "kuberay-operator", "namespace": OPERATOR_NS, "labels": labels,
                             "creationTimestamp": ago(days=30), "uid": "uid-operator"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator"}},
                         "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
                "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1}}

    def crds(self) -> list[dict[str, Any]]:
        """The v1.7.0 CRDs as the collector keeps them (descriptions dropped: copying the full ones is slow)."""
        return [copy.deepcopy(crd_skeleton_of(p)) for p in ("rayclusters", "rayjobs", "rayservices")]

    def nodes_for(self, pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Nodes that fit the pods (one per distinct nodeSelector and accelerator); pods get nodeName."""
        nodes: dict[str, dict[str, Any]] = {}
        for pod in pods:
            spec = pod["spec"]
            selector = spec.get("nodeSelector") or {}
            limits: dict[str, Any] = {}
            for c in spec.get("containers") or []:
                limits.update((c.get("resources") or {}).get("limits") or {})
            accel = sorted(k for k in limits if k.endswith("gpu") or k == "google.com/tpu")
            key = json.dumps([selector, accel], sort_keys=True)
            name = "node-" + suffix(key, n=6)
            if name not in nodes:
                allocatable = {"cpu": "64", "memory": "512Gi", "pods": "110", "ephemeral-storage": "200Gi"}
                for k in accel:
                    allocatable[k] = "8"
                nodes[name] = {"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": ago(days=10),
                                            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **selector}},
                               "spec": {},
                               "status": {"allocatable": allocatable, "capacity": dict(allocatable),
                                          "conditions": [{"type": "Ready", "status": "True"}]}}
            spec["nodeName"] = name
        if not nodes:
            nodes["node-default"] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-default", "labels": {}},
                                     "spec": {}, "status": {"allocatable": {"cpu": "64", "memory": "512Gi"},
                                                            "conditions": [{"type": "Ready", "status": "True"}]}}
        return list(nodes.values())

    # snapshots --------------------------------------------------------------------------------

    def snapshot(self, target: TargetRef, objs: list[dict[str, Any]], *, forbidden: Iterable[tuple[str, str, str | None]] = (),
                 collected: Iterable[str] | None = None) -> Snapshot:
        """What the collector would have stored for these objects."""
        snap = Snapshot(targets=[target])
        snap.meta = {"collectedAt": ts(now=self.now), "pluginVersion": "test", "namespace": self.namespace, "source": "test"}
        buckets: dict[str, list[dict[str, Any]]] = {}
        for obj in objs:
            resource = resource_of(obj)
            buckets.setdefault(resource, []).append(slim(resource, obj))
        default = {"rayclusters", "rayjobs", "rayservices", "pods", "events", "services", "endpointslices", "deployments",
                   "customresourcedefinitions", "nodes", "runtimeclasses", "networkpolicies", "jobs", "serviceaccounts",
                   "operatorpods"}
        for resource in (collected if collected is not None else default):
            snap.add(resource, buckets.get(resource, []))
        for verb, resource, ns in forbidden:
            snap.mark_forbidden(verb, resource, ns, "forbidden")
            snap.objects.pop(resource, None)
            snap.collected.discard(resource)
        return snap


def resource_of(obj: dict[str, Any]) -> str:
    kind = obj["kind"]
    if kind in PLURALS:
        return PLURALS[kind]
    special = {"Pod": "pods", "Event": "events", "Service": "services", "EndpointSlice": "endpointslices",
               "Endpoints": "endpoints", "Deployment": "deployments", "CustomResourceDefinition": "customresourcedefinitions",
               "Node": "nodes", "RuntimeClass": "runtimeclasses", "NetworkPolicy": "networkpolicies", "Job": "jobs",
               "ServiceAccount": "serviceaccounts"}
    return special[kind]


def _clamp(group: dict[str, Any]) -> int:
    replicas = int(group.get("replicas") or 0)
    low, high = int(group.get("minReplicas") or 0), int(group.get("maxReplicas") if group.get("maxReplicas") is not None else 2**31 - 1)
    return min(max(replicas, low), high) if low <= high else low


def _ft(cluster: dict[str, Any]) -> bool:
    annotation = ((cluster["metadata"].get("annotations") or {}).get("ray.io/ft-enabled") or "").lower() == "true"
    return annotation or cluster["spec"].get("gcsFaultToleranceOptions") is not None


def _default_service_ports(svc: dict[str, Any]) -> None:
    for port in svc["spec"].get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port["port"])


def find(objs: list[dict[str, Any]], kind: str, predicate: Callable[[dict[str, Any]], bool] = lambda o: True) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and predicate(o))


def find_all(objs: list[dict[str, Any]], kind: str, predicate: Callable[[dict[str, Any]], bool] = lambda o: True) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind and predicate(o)]
