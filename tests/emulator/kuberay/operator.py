"""KubeRay v1.7.0's three reconcilers, played against the emulator (ray-operator/controllers/ray/).

Each reconcile reads the object, does what the Go reconciler does in the same order (creates,
deletes, events), computes the status and writes it through /status only when KubeRay would
(utils/consistency.go), and returns when to look again (None: only on the next watch event).
Left out: ingresses and routes, mTLS/cert-manager, network policies, batch schedulers, history
server collectors, incremental upgrades and the autoscaler's own scaling decisions.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

from tests.emulator.api import ApiError
from tests.emulator.controllers import pod_ready
from tests.emulator.kuberay import builders as b

if TYPE_CHECKING:
    from tests.emulator.kuberay.player import Player

Obj = dict[str, Any]
CLUSTER_REQUEUE = 300.0  # RAYCLUSTER_DEFAULT_REQUEUE_SECONDS
REQUEUE = 2.0  # DefaultRequeueDuration
JOB_REQUEUE = 3.0  # RayJobDefaultRequeueDuration
SERVICE_REQUEUE = 2.0  # ServiceDefaultRequeueDuration
DELETION_DELAY = 60.0  # RayClusterDeletionDelayDuration
REPLICA_FAILURES = ("FailedDeleteAllPods", "FailedDeleteHeadPod", "FailedCreateHeadPod", "FailedDeleteWorkerPod",
                    "FailedCreateWorkerPod")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TERMINAL_JOB = ("SUCCEEDED", "FAILED", "STOPPED")


class ReconcileError(Exception):
    """An error a reconcile step returns; reason is a ReplicaFailure reason or ''."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


# --- metav1.Condition helpers (apimachinery meta.SetStatusCondition) ----------------------------------

def set_condition(conditions: list[Obj], ctype: str, status: str, reason: str, message: str, when: str,
                  observed_generation: int = 0) -> None:
    for cond in conditions:
        if cond.get("type") == ctype:
            if cond.get("status") != status:
                cond["status"] = status
                cond["lastTransitionTime"] = when
            cond["reason"], cond["message"] = reason, message
            if observed_generation:
                cond["observedGeneration"] = observed_generation
            else:
                cond.pop("observedGeneration", None)
            return
    entry: Obj = {"type": ctype, "status": status, "lastTransitionTime": when, "reason": reason, "message": message}
    if observed_generation:
        entry["observedGeneration"] = observed_generation
    conditions.append(entry)


def condition_true(conditions: list[Obj], ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in conditions or [])


def _drop_zero(status: Obj, keep: tuple[str, ...]) -> Obj:
    """Go's encoding/json omitempty: no zero ints, empty strings, nil maps/lists (keep: structs, quantities)."""
    return {k: v for k, v in status.items() if k in keep or v not in (0, "", None, [], {})}


class Operator:
    def __init__(self, player: "Player") -> None:
        self.player = player
        self.emu = player.emu
        self.deletion_marks: dict[str, float] = {}  # RayService: cluster name -> when to delete it

    # --- shared helpers ----------------------------------------------------------------------------------

    def event(self, obj: Obj, etype: str, reason: str, message: str, controller: str, action: str) -> None:
        self.emu.record_event(obj, etype, reason, message, component=controller, style="events", action=action,
                              host=f"{controller}-kuberay-operator")

    def skip(self, obj: Obj) -> bool:
        managed = b.spec(obj).get("managedBy")
        if managed and managed != "ray.io/kuberay-operator":
            return True
        watched = self.player.watch_namespaces
        return bool(watched) and b.ns_of(obj) not in watched

    def pods(self, cluster: Obj, **labels: str) -> list[Obj]:
        wanted = {"ray.io/cluster": b.name_of(cluster), **{k.replace("_", "/"): v for k, v in labels.items()}}
        return [p for p in self.emu.view("pods", b.ns_of(cluster))
                if all((b.meta(p).get("labels") or {}).get(k) == v for k, v in wanted.items())]

    def create(self, obj: Obj) -> Obj | None:
        """Create, or None when it exists (AlreadyExists is not an error for a reconcile)."""
        try:
            return self.emu.create(obj["kind"].lower() + "s" if obj["kind"] != "Job" else "jobs", obj, b.ns_of(obj))
        except ApiError as exc:
            if exc.code == 409:
                return None
            raise

    def delete(self, plural: str, obj: Obj, propagation: str | None = None) -> bool:
        try:
            self.emu.delete(plural, b.ns_of(obj), b.name_of(obj), propagation=propagation)
            return True
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise

    def write_status(self, plural: str, obj: Obj, status: Obj) -> bool:
        updated = copy.deepcopy(obj)
        updated["status"] = status
        try:
            self.emu.replace(plural, b.ns_of(obj), b.name_of(obj), updated, sub="status")
            return True
        except ApiError:
            return False  # conflict or gone: the next event brings the object back

    def create_reporting(self, owner: Obj, plural: str, obj: Obj, controller: str, created: tuple[str, str],
                         failed: tuple[str, str]) -> Obj:
        """Create obj and record KubeRay's Normal event, or its Warning (failed text + ", " + the API error) and raise."""
        try:
            made = self.emu.create(plural, obj, b.ns_of(obj))
        except ApiError as exc:
            self.event(owner, "Warning", failed[0], f"{failed[1]}{exc.body['message']}", controller, "Create")
            raise ReconcileError(exc.body["message"]) from None
        self.event(owner, "Normal", created[0], created[1], controller, "Create")
        return made

    def update(self, plural: str, obj: Obj) -> bool:
        try:
            self.emu.replace(plural, b.ns_of(obj), b.name_of(obj), obj)
            return True
        except ApiError:
            return False

    def now(self) -> str:
        return self.player.now_text()

    # =================================================================================================
    # RayCluster (raycluster_controller.go rayClusterReconcile)
    # =================================================================================================

    def reconcile_cluster(self, ns: str, name: str) -> float | None:
        cluster = self.emu.get("rayclusters", ns, name)
        if cluster is None or self.skip(cluster):
            return None
        for key in ("headGroupSpec",):
            cluster["spec"].setdefault(key, {}).setdefault("rayStartParams", {})
        problem = self.validate_cluster_metadata(cluster)
        if problem:
            self.event(cluster, "Warning", "InvalidRayClusterMetadata",
                       f"The RayCluster metadata is invalid {ns}/{name}: {problem}", "raycluster-controller", "Validate")
            return None
        problem = self.validate_cluster_spec(b.spec(cluster), b.meta(cluster).get("annotations") or {})
        if problem:
            self.event(cluster, "Warning", "InvalidRayClusterSpec",
                       f"The RayCluster spec is invalid {ns}/{name}: {problem}", "raycluster-controller", "Validate")
            return None
        deleting = bool(b.meta(cluster).get("deletionTimestamp"))
        if b.ft_enabled(cluster) and not b.ft_embedded(cluster) and \
                self.player.operator_env.get("ENABLE_GCS_FT_REDIS_CLEANUP", "").lower() != "false":
            finalizers = b.meta(cluster).get("finalizers") or []
            if not deleting and b.GCS_FT_FINALIZER not in finalizers:
                cluster["metadata"]["finalizers"] = finalizers + [b.GCS_FT_FINALIZER]
                self.update("rayclusters", cluster)
                return REQUEUE
            if deleting and b.GCS_FT_FINALIZER in finalizers:
                return self.redis_cleanup(cluster)
        if deleting:
            return None
        error: ReconcileError | None = None
        for step in (self.autoscaler_rbac, self.auth_secret, self.head_service, self.headless_service,
                     self.serve_service, self.reconcile_pods):
            try:
                step(cluster)
            except ReconcileError as exc:
                error = exc
                break
            except ApiError as exc:
                error = ReconcileError(exc.body["message"])
                break
        current = self.emu.get("rayclusters", ns, name)
        if current is None:
            return None
        status = self.cluster_status(current, error)
        inconsistent = self.status_changed(current.get("status") or {}, status)
        if inconsistent:
            self.write_status("rayclusters", current, status)
        if error is not None or inconsistent:
            return REQUEUE
        return self.player.cluster_requeue

    def validate_cluster_metadata(self, cluster: Obj) -> str:
        name = b.name_of(cluster)
        if len(name) > 53:
            return "RayCluster name should be no more than 53 characters"
        if not _DNS1035.match(name):
            return ("RayCluster name should be a valid DNS1035 label: [a DNS-1035 label must consist of lower case "
                    "alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric "
                    "character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]")
        return ""

    def validate_cluster_spec(self, cspec: Obj, annotations: Obj) -> str:
        head = cspec.get("headGroupSpec") or {}
        if not ((head.get("template") or {}).get("spec") or {}).get("containers"):
            return "headGroupSpec should have at least one container"
        autoscaling_on = bool(cspec.get("enableInTreeAutoscaling"))
        gates = self.player.gates
        for group in cspec.get("workerGroupSpecs") or []:
            gname = group.get("groupName", "")
            if not ((group.get("template") or {}).get("spec") or {}).get("containers"):
                return "workerGroupSpec should have at least one container"
            low, high = group.get("minReplicas"), group.get("maxReplicas")
            if not autoscaling_on and (low is None or high is None):
                return f"worker group {gname} must set both minReplicas and maxReplicas when autoscaling is disabled"
            if low is not None and low < 0:
                return f"worker group {gname} has negative minReplicas {low}"
            if high is not None and high < 0:
                return f"worker group {gname} has negative maxReplicas {high}"
            if low is not None and high is not None and low > high:
                return f"worker group {gname} has minReplicas {low} greater than maxReplicas {high}"
            if group.get("suspend") and autoscaling_on:
                return f"worker group {gname} cannot be suspended with Autoscaler enabled"
        if annotations.get("ray.io/ft-enabled") and cspec.get("gcsFaultToleranceOptions") is not None:
            return ("ray.io/ft-enabled annotation and GcsFaultToleranceOptions are both set. Please use only "
                    "GcsFaultToleranceOptions to configure GCS fault tolerance")
        if cspec.get("autoscalerOptions", {}).get("version") == "v2" and autoscaling_on:
            if head.get("template", {}).get("spec", {}).get("restartPolicy") not in (None, "", "Never"):
                return "restartPolicy for head Pod should be Never or unset when using autoscaler V2"
        if (cspec.get("authOptions") or {}).get("mode") == "token":
            version = str(cspec.get("rayVersion") or "")
            if not version:
                return "authOptions.mode is 'token' but RayVersion was not specified. Ray version 2.52.0 or later is required"
            if not b._version_at_least(version, (2, 52, 0)):
                return f"authOptions.mode is 'token' but minimum Ray version is 2.52.0, got {version}"
        if cspec.get("networkPolicy") is not None and "RayClusterNetworkPolicy" not in gates:
            return "spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to be enabled"
        if cspec.get("tlsOptions") is not None and "RayClusterMTLS" not in gates:
            return "spec.tlsOptions requires the RayClusterMTLS feature gate to be enabled"
        if cspec.get("historyServerOptions") is not None and "RayClusterHistoryServer" not in gates:
            return "RayClusterHistoryServer feature gate is not enabled"
        if b.ft_embedded({"spec": cspec}) and "GCSFaultToleranceEmbeddedStorage" not in gates:
            return ("the embedded RocksDB GCS fault tolerance backend (GcsFaultToleranceOptions.Backend: 'rocksdb') "
                    "requires the GCSFaultToleranceEmbeddedStorage feature gate to be enabled")
        return ""

    # --- owned objects ----------------------------------------------------------------------------------

    def autoscaler_rbac(self, cluster: Obj) -> None:
        if not b.autoscaling(cluster):
            return
        for obj in b.autoscaler_rbac(cluster):
            plural = {"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings"}[obj["kind"]]
            if self.emu.peek(plural, b.ns_of(obj), b.name_of(obj)) is None:
                self.emu.create(plural, obj, b.ns_of(obj))
                self.event(cluster, "Normal", f"Created{obj['kind']}", f"Created {obj['kind'].lower()} "
                           f"{b.ns_of(obj)}/{b.name_of(obj)}" if obj["kind"] != "ServiceAccount" else
                           f"Created service account {b.ns_of(obj)}/{b.name_of(obj)}", "raycluster-controller", "Create")

    def auth_secret(self, cluster: Obj) -> None:
        options = b.spec(cluster).get("authOptions") or {}
        if options.get("mode") != "token" or options.get("enableK8sTokenAuth") or options.get("secretName"):
            return
        if self.emu.peek("secrets", b.ns_of(cluster), b.check_name(b.name_of(cluster))) is None:
            self.emu.create("secrets", b.auth_secret(cluster, self.player.auth_token(cluster)), b.ns_of(cluster))

    def head_service(self, cluster: Obj) -> None:
        selector = {"ray.io/cluster": b.name_of(cluster), "ray.io/node-type": "head",
                    "ray.io/identifier": b.check_label(f"{b.name_of(cluster)}-head")}
        existing = [s for s in self.emu.view("services", b.ns_of(cluster))
                    if all((b.meta(s).get("labels") or {}).get(k) == v for k, v in selector.items())]
        if len(existing) == 1:
            return
        if len(existing) > 1:
            raise ReconcileError(f"{len(existing)} head service found")
        svc = b.head_service(cluster, cluster_ip_service=self.player.operator_env.get(
            "ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE", "").lower() == "true")
        svc["metadata"]["ownerReferences"] = [b.controller_ref({**cluster, "kind": "RayCluster"})]
        self._create_service(cluster, svc, "raycluster-controller")

    def _create_service(self, owner: Obj, svc: Obj, controller: str) -> Obj | None:
        where = f"{b.ns_of(svc)}/{b.name_of(svc)}"
        verb = "Created service" if owner["kind"] == "RayCluster" else "Created the service"
        return self.create_reporting(owner, "services", svc, controller, ("CreatedService", f"{verb} {where}"),
                                     ("FailedToCreateService", f"Failed creating service {where}, "))

    def headless_service(self, cluster: Obj) -> None:
        if not any(int(g.get("numOfHosts") or 1) > 1 for g in b.spec(cluster).get("workerGroupSpecs") or []):
            return
        if any((b.meta(s).get("labels") or {}).get("ray.io/headless-worker-svc") == b.name_of(cluster)
               for s in self.emu.view("services", b.ns_of(cluster))):
            return
        svc = b.headless_service(cluster)
        svc["metadata"]["ownerReferences"] = [b.controller_ref({**cluster, "kind": "RayCluster"})]
        self._create_service(cluster, svc, "raycluster-controller")

    def serve_service(self, cluster: Obj) -> None:
        if (b.meta(cluster).get("annotations") or {}).get("ray.io/enable-serve-service") != "true":
            return
        name = f"{b.name_of(cluster)}-serve-svc"
        if self.emu.peek("services", b.ns_of(cluster), name) is not None:
            return
        ports = [{"name": n, "port": p} for n, p in b.service_ports(cluster).items()
                 if n == "serve" or n.startswith("serve-")]
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": b.ns_of(cluster),
                            "labels": {"ray.io/originated-from-cr-name": b.name_of(cluster),
                                       "ray.io/originated-from-crd": "RayCluster", "ray.io/serve": f"{name[:-4]}"},
                            "ownerReferences": [b.controller_ref({**cluster, "kind": "RayCluster"})]},
               "spec": {"selector": {"ray.io/cluster": b.name_of(cluster)}, "ports": ports, "type": "ClusterIP"}}
        self.emu.create("services", svc, b.ns_of(cluster))

    # --- pods (reconcilePods) ------------------------------------------------------------------------------

    def reconcile_pods(self, cluster: Obj) -> None:
        ns, name = b.ns_of(cluster), b.name_of(cluster)
        conditions = (cluster.get("status") or {}).get("conditions") or []
        suspending = condition_true(conditions, "RayClusterSuspending")
        if suspending:
            for pod in self.pods(cluster):
                self.delete("pods", pod)
            self.event(cluster, "Normal", "DeletedPod", f"Deleted Pods for RayCluster {ns}/{name} due to suspension",
                       "raycluster-controller", "Delete")
            return
        if condition_true(conditions, "RayClusterSuspended") or b.spec(cluster).get("suspend"):
            return
        if self.recreate_for_upgrade(cluster):
            return
        heads = self.pods(cluster, **{"ray.io/node-type": "head"})
        if len(heads) == 1:
            head = heads[0]
            reason = self.should_delete(head, "head")
            if reason:
                self.delete("pods", head)
                self.event(cluster, "Normal", "DeletedHeadPod", self._deleted_text("head", head),
                           "raycluster-controller", "Delete")
                raise ReconcileError(reason)
        elif not heads:
            if condition_true(conditions, "RayClusterProvisioned") and \
                    (b.meta(cluster).get("annotations") or {}).get("ray.io/disable-provisioned-head-restart") == "true":
                return
            self.create_pod(cluster, "head", b.spec(cluster)["headGroupSpec"])
        else:
            names = " ".join(b.name_of(p) for p in heads)
            raise ReconcileError(f"{len(heads)} head pods found [{names}]. Please delete extra head pods")
        for group in b.spec(cluster).get("workerGroupSpecs") or []:
            self.reconcile_group(cluster, group)

    def recreate_for_upgrade(self, cluster: Obj) -> bool:
        strategy = (b.spec(cluster).get("upgradeStrategy") or {}).get("type")
        if strategy != "Recreate":
            return False
        heads = self.pods(cluster, **{"ray.io/node-type": "head"})
        current = b.spec_hash(b.spec(cluster))
        if not heads or (b.meta(heads[0]).get("annotations") or {}).get("ray.io/upgrade-strategy-recreate-hash") == current:
            return False
        for pod in self.pods(cluster):
            self.delete("pods", pod)
        ns, name = b.ns_of(cluster), b.name_of(cluster)
        self.event(cluster, "Normal", "DeletedPod", f"Deleted all Pods for RayCluster {ns}/{name} due to spec change "
                   "with Recreate upgradeStrategy", "raycluster-controller", "Delete")
        return True

    def reconcile_group(self, cluster: Obj, group: Obj) -> None:
        gname = group.get("groupName", "")
        pods = [p for p in self.pods(cluster, **{"ray.io/group": gname}) if not b.meta(p).get("deletionTimestamp")]
        if group.get("suspend"):
            for pod in pods:
                self.delete("pods", pod)
            self.event(cluster, "Normal", "DeletedWorkerPod", f"Deleted all pods for suspended worker group {gname} in "
                       f"RayCluster {b.ns_of(cluster)}/{b.name_of(cluster)}", "raycluster-controller", "Delete")
            return
        if int(group.get("numOfHosts") or 1) > 1:
            self.reconcile_multi_host(cluster, group, pods)
            return
        unhealthy = [p for p in pods if self.should_delete(p, "worker")]
        for pod in unhealthy:
            self.delete("pods", pod)
            self.event(cluster, "Normal", "DeletedWorkerPod", self._deleted_text("worker", pod),
                       "raycluster-controller", "Delete")
        if unhealthy:
            raise ReconcileError(f"delete {len(unhealthy)} unhealthy worker Pods")
        deleted = set()
        for victim in (group.get("scaleStrategy") or {}).get("workersToDelete") or []:
            if self.delete("pods", {"metadata": {"name": victim, "namespace": b.ns_of(cluster)}}):
                deleted.add(victim)
                self.event(cluster, "Normal", "DeletedWorkerPod", f"Deleted pod {b.ns_of(cluster)}/{victim}",
                           "raycluster-controller", "Delete")
        running = [p for p in pods if b.name_of(p) not in deleted]
        diff = b.group_desired_replicas(group) - len(running)
        if diff > 0:
            used = {int(i) for i in ((b.meta(p).get("labels") or {}).get("ray.io/worker-group-replica-index")
                                     for p in running) if i is not None and str(i).isdigit()}
            index = 0
            for _ in range(diff):
                while index in used:
                    index += 1
                used.add(index)
                self.create_pod(cluster, "worker", group, labels={"ray.io/worker-group-replica-index": str(index)})
        elif diff < 0:
            if b.autoscaling(cluster) and self.player.operator_env.get("ENABLE_RANDOM_POD_DELETE", "").lower() != "true":
                return
            for pod in sorted(running, key=b.name_of)[:-diff]:
                self.delete("pods", pod)
                self.event(cluster, "Normal", "DeletedWorkerPod", f"Deleted Pod {b.ns_of(pod)}/{b.name_of(pod)}",
                           "raycluster-controller", "Delete")

    def reconcile_multi_host(self, cluster: Obj, group: Obj, pods: list[Obj]) -> None:
        """Replica groups of numOfHosts pods (RayMultiHostIndexing, on by default in v1.6+)."""
        hosts = int(group.get("numOfHosts") or 1)
        replicas: dict[str, list[Obj]] = {}
        for pod in pods:
            replicas.setdefault((b.meta(pod).get("labels") or {}).get("ray.io/worker-group-replica-name", ""), []).append(pod)
        for rname, members in list(replicas.items()):
            if len(members) != hosts or any(self.should_delete(p, "worker") for p in members):
                for pod in members:
                    self.delete("pods", pod)
                del replicas[rname]
        want = b.group_desired_replicas(group) // hosts
        if len(replicas) > want and not b.autoscaling(cluster):
            for rname in sorted(replicas)[want:]:
                for pod in replicas.pop(rname):
                    self.delete("pods", pod)
        used = {int((b.meta(ms[0]).get("labels") or {}).get("ray.io/worker-group-replica-index", -1))
                for ms in replicas.values()}
        index = 0
        for _ in range(want - len(replicas)):
            while index in used:
                index += 1
            used.add(index)
            rname = f"{group.get('groupName', '')}-{self.emu.generate_suffix()}"
            for host in range(hosts):
                self.create_pod(cluster, "worker", group, labels={"ray.io/worker-group-replica-index": str(index),
                                                                   "ray.io/worker-group-replica-name": rname,
                                                                   "ray.io/replica-host-index": str(host)})

    def create_pod(self, cluster: Obj, node_type: str, group: Obj, labels: Obj | None = None) -> None:
        pod = b.ray_pod(cluster, node_type, group, kuberay_version=self.player.kuberay_version,
                        gates=self.player.gates,
                        probes=self.player.operator_env.get("ENABLE_PROBES_INJECTION", "").lower() != "false",
                        init_container=self.player.operator_env.get("ENABLE_INIT_CONTAINER_INJECTION", "").lower() != "false")
        if labels:
            pod["metadata"]["labels"].update(labels)
        ns = b.ns_of(cluster)
        try:
            created = self.emu.create("pods", pod, ns)
        except ApiError as exc:
            what = "head Pod" if node_type == "head" else "worker Pod for the cluster"
            reason = "FailedToCreateHeadPod" if node_type == "head" else "FailedToCreateWorkerPod"
            target = f"{ns}/{pod['metadata']['generateName']}" if node_type == "head" else f"{ns}/{b.name_of(cluster)}"
            self.event(cluster, "Warning", reason, f"Failed to create {what} {target}, {exc.body['message']}",
                       "raycluster-controller", "Create")
            raise ReconcileError(exc.body["message"],
                                 "FailedCreateHeadPod" if node_type == "head" else "FailedCreateWorkerPod") from None
        kind = "head" if node_type == "head" else "worker"
        self.event(cluster, "Normal", f"Created{kind.capitalize()}Pod",
                   f"Created {kind} Pod {ns}/{b.name_of(created)}", "raycluster-controller", "Create")

    @staticmethod
    def should_delete(pod: Obj, node_type: str) -> str:
        """shouldDeletePod: the reason to delete (terminal phase, or Ray container ended with restartPolicy Never)."""
        status = pod.get("status") or {}
        phase = status.get("phase")
        name = b.name_of(pod)
        if phase in ("Failed", "Succeeded"):
            return (f"The {node_type} Pod {name} status is {phase} which is a terminal state. KubeRay will delete the Pod "
                    "and create new Pods in the next reconciliation if necessary.")
        ray_name = (b.spec(pod).get("containers") or [{}])[0].get("name")
        terminated = next(((s.get("state") or {}).get("terminated") for s in status.get("containerStatuses") or []
                           if s.get("name") == ray_name), None)
        if phase == "Running" and terminated and b.spec(pod).get("restartPolicy") == "Never":
            return (f"The Pod status of the {node_type} Pod {name} is {phase}, and the Ray container terminated status is "
                    f"{terminated}. The container is unable to restart due to its restart policy Never, so KubeRay will "
                    "delete it.")
        return ""

    @staticmethod
    def _deleted_text(node_type: str, pod: Obj) -> str:
        status = pod.get("status") or {}
        return (f"Deleted {node_type} Pod {b.ns_of(pod)}/{b.name_of(pod)}; Pod status: {status.get('phase', '')}; "
                f"Pod restart policy: {b.spec(pod).get('restartPolicy', '')}; Ray container terminated status: "
                f"{((status.get('containerStatuses') or [{}])[0].get('state') or {}).get('terminated')}")

    def redis_cleanup(self, cluster: Obj) -> float | None:
        for pod in self.pods(cluster):
            if not b.meta(pod).get("deletionTimestamp"):
                self.delete("pods", pod)
        heads = self.pods(cluster, **{"ray.io/node-type": "head"})
        if heads:
            return 10.0
        jobs = [j for j in self.emu.view("jobs", b.ns_of(cluster))
                if (b.meta(j).get("labels") or {}).get("ray.io/cluster") == b.name_of(cluster)
                and (b.meta(j).get("labels") or {}).get("ray.io/node-type") == "redis-cleanup"]
        if jobs:
            done = [c for c in (jobs[0].get("status") or {}).get("conditions") or []
                    if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"]
            if not done:
                return REQUEUE
            current = self.emu.get("rayclusters", b.ns_of(cluster), b.name_of(cluster))
            if current is not None:
                current["metadata"]["finalizers"] = [f for f in current["metadata"].get("finalizers") or []
                                                     if f != b.GCS_FT_FINALIZER]
                self.update("rayclusters", current)
            return None
        template = b.ray_pod(cluster, "head", b.spec(cluster)["headGroupSpec"])
        job = b.redis_cleanup_job(cluster, template)
        job["metadata"]["ownerReferences"] = [b.controller_ref({**cluster, "kind": "RayCluster"})]
        self.emu.create("jobs", job, b.ns_of(cluster))
        self.event(cluster, "Normal", "CreatedRedisCleanupJob", f"Created Redis cleanup Job {b.ns_of(job)}/"
                   f"{b.name_of(job)}", "raycluster-controller", "Create")
        return REQUEUE

    # --- status (calculateStatus) ------------------------------------------------------------------------

    def cluster_status(self, cluster: Obj, error: ReconcileError | None) -> Obj:
        now = self.now()
        old = cluster.get("status") or {}
        conditions = copy.deepcopy(old.get("conditions") or [])
        if error is not None:
            if error.reason in REPLICA_FAILURES:
                set_condition(conditions, "ReplicaFailure", "True", error.reason, str(error), now)
        else:
            conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
        pods = self.pods(cluster)
        workers = [p for p in pods if (b.meta(p).get("labels") or {}).get("ray.io/node-type") == "worker"]
        counts = b.cluster_status_counts(cluster)
        status: Obj = {"state": old.get("state", ""), "reason": old.get("reason", "")}
        status.update(counts)
        status["readyWorkerReplicas"] = sum(1 for p in workers if _running(p) and pod_ready(p))
        status["availableWorkerReplicas"] = sum(1 for p in workers if _running(p))
        status["observedGeneration"] = int(b.meta(cluster).get("generation") or 0)
        if error is None and len(pods) == counts["desiredWorkerReplicas"] + 1 and _all_running(pods):
            status["state"], status["reason"] = "ready", ""
        heads = [p for p in pods if (b.meta(p).get("labels") or {}).get("ray.io/node-type") == "head"]
        head = heads[0] if len(heads) == 1 else None
        if head is None:
            set_condition(conditions, "HeadPodReady", "False", "HeadPodNotFound", "Head Pod not found", now)
        else:
            ready = head_pod_ready_condition(head)
            set_condition(conditions, "HeadPodReady", ready["status"], ready["reason"], ready["message"], now)
        suspend = "RayClusterSuspending" if condition_true(conditions, "RayClusterSuspending") else \
            "RayClusterSuspended" if condition_true(conditions, "RayClusterSuspended") else ""
        if not condition_true(conditions, "RayClusterProvisioned") and suspend != "RayClusterSuspended":
            if _all_running(pods):
                set_condition(conditions, "RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime",
                              "All Ray Pods are ready for the first time", now)
            else:
                set_condition(conditions, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                              "RayCluster Pods are being provisioned for first time", now)
        suspend_flag = bool(b.spec(cluster).get("suspend"))
        if suspend == "RayClusterSuspending":
            if not pods:
                set_condition(conditions, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                              "RayCluster has been suspended", now)
                set_condition(conditions, "RayClusterSuspending", "False", "RayClusterSuspending", "", now)
                set_condition(conditions, "RayClusterSuspended", "True", "RayClusterSuspended", "", now)
        elif suspend == "RayClusterSuspended":
            if not suspend_flag:
                set_condition(conditions, "RayClusterSuspended", "False", "RayClusterSuspended", "", now)
        else:
            set_condition(conditions, "RayClusterSuspended", "False", "RayClusterSuspended", "", now)
            set_condition(conditions, "RayClusterSuspending", "True" if suspend_flag else "False",
                          "RayClusterSuspending", "", now)
        if suspend_flag and not pods:
            status["state"] = "suspended"
        status["conditions"] = conditions
        status["endpoints"], status["head"] = self.head_info(cluster, head)
        status["lastUpdateTime"] = now
        transitions = dict(old.get("stateTransitionTimes") or {})
        if status.get("state") != old.get("state") and status.get("state"):
            transitions[status["state"]] = now
        status["stateTransitionTimes"] = transitions
        return _drop_zero(status, keep=("desiredCPU", "desiredMemory", "desiredGPU", "desiredTPU", "head"))

    def head_info(self, cluster: Obj, head: Obj | None) -> tuple[Obj, Obj]:
        selector = {"ray.io/cluster": b.name_of(cluster), "ray.io/node-type": "head",
                    "ray.io/identifier": b.check_label(f"{b.name_of(cluster)}-head")}
        services = [s for s in self.emu.view("services", b.ns_of(cluster))
                    if all((b.meta(s).get("labels") or {}).get(k) == v for k, v in selector.items())]
        endpoints: Obj = {}
        info: Obj = {}
        if head is not None:
            info["podIP"] = (head.get("status") or {}).get("podIP", "")
            info["podName"] = b.name_of(head)
        if len(services) == 1:
            svc = services[0]
            for port in b.spec(svc).get("ports") or []:
                if not port.get("name"):
                    continue
                if port.get("nodePort"):
                    endpoints[port["name"]] = str(port["nodePort"])
                else:
                    target = port.get("targetPort", port.get("port"))
                    endpoints[port["name"]] = str(target)
            cluster_ip = b.spec(svc).get("clusterIP", "")
            info["serviceIP"] = (info.get("podIP", "") if cluster_ip == "None" else cluster_ip)
            info["serviceName"] = b.name_of(svc)
        return endpoints, {k: v for k, v in info.items() if v}

    @staticmethod
    def status_changed(old: Obj, new: Obj) -> bool:
        """utils.InconsistentRayClusterStatus."""
        keys = ("state", "reason", "readyWorkerReplicas", "availableWorkerReplicas", "desiredWorkerReplicas",
                "minWorkerReplicas", "maxWorkerReplicas", "endpoints", "head", "conditions")
        return any((old.get(k) or None) != (new.get(k) or None) for k in keys)

    # =================================================================================================
    # RayJob (rayjob_controller.go Reconcile)
    # =================================================================================================

    def reconcile_job(self, ns: str, name: str) -> float | None:
        job = self.emu.get("rayjobs", ns, name)
        if job is None or self.skip(job):
            return None
        if b.meta(job).get("deletionTimestamp"):
            return self.job_deleted(job)
        original = copy.deepcopy(job.get("status") or {})
        problem, reason = self.validate_job(job)
        if problem:
            self.event(job, "Warning", reason, f"{ns}/{name}: {problem}", "rayjob-controller", "Validate")
            status = dict(original, jobDeploymentStatus="ValidationFailed", reason="ValidationFailed", message=problem)
            if status != original:
                self.write_status("rayjobs", job, status)
            return None
        status = copy.deepcopy(original)
        state = status.get("jobDeploymentStatus", "")
        jspec = b.spec(job)
        requeue: float | None = JOB_REQUEUE
        if state == "":
            if b.RAYJOB_FINALIZER not in (b.meta(job).get("finalizers") or []):
                job["metadata"]["finalizers"] = (b.meta(job).get("finalizers") or []) + [b.RAYJOB_FINALIZER]
                self.update("rayjobs", job)
                return JOB_REQUEUE
            self.init_job_status(job, status)
        elif state == "Initializing":
            requeue = self.job_initializing(job, status)
        elif state == "Waiting":
            if not jspec.get("jobId"):
                return JOB_REQUEUE
            status["jobId"] = jspec["jobId"]
            status["jobDeploymentStatus"] = "Running"
        elif state == "Running":
            requeue = self.job_running(job, status)
        elif state in ("Suspending", "Retrying"):
            requeue = self.job_suspending(job, status)
        elif state == "Suspended":
            if jspec.get("suspend"):
                return None
            status.update(jobStatus="", jobDeploymentStatus="")
        elif state in ("Complete", "Failed"):
            return self.job_finished(job)
        else:
            return JOB_REQUEUE
        self.backoff_counts(job, status)
        self.write_job_status(job, original, status)
        return requeue

    def validate_job(self, job: Obj) -> tuple[str, str]:
        name, jspec = b.name_of(job), b.spec(job)
        if len(name) > 47:
            return "The RayJob metadata is invalid: RayJob name should be no more than 47 characters", \
                "InvalidRayJobMetadata"
        if not _DNS1035.match(name):
            return "The RayJob metadata is invalid: RayJob name should be a valid DNS1035 label", "InvalidRayJobMetadata"
        if (job.get("status") or {}).get("jobDeploymentStatus") == "Waiting" and \
                jspec.get("submissionMode") != "InteractiveMode":
            return ("The RayJob status is invalid: JobDeploymentStatus cannot be `Waiting` when SubmissionMode is not "
                    "InteractiveMode"), "InvalidRayJobStatus"
        if jspec.get("suspend") and not jspec.get("shutdownAfterJobFinishes"):
            return ("The RayJob spec is invalid: a RayJob with shutdownAfterJobFinishes set to false is not allowed to "
                    "be suspended"), "InvalidRayJobSpec"
        selector = jspec.get("clusterSelector") or {}
        if not jspec.get("rayClusterSpec") and not selector:
            return "The RayJob spec is invalid: one of RayClusterSpec or ClusterSelector must be set", "InvalidRayJobSpec"
        if selector and not selector.get("ray.io/cluster"):
            return "cluster name in ClusterSelector should not be empty", "InvalidRayJobSpec"
        if jspec.get("submissionMode") == "InteractiveMode" and int(jspec.get("backoffLimit") or 0) > 0:
            return "The RayJob spec is invalid: BackoffLimit is incompatible with InteractiveMode", "InvalidRayJobSpec"
        if jspec.get("rayClusterSpec"):
            problem = self.validate_cluster_spec(jspec["rayClusterSpec"], b.meta(job).get("annotations") or {})
            if problem:
                return f"The RayJob spec is invalid: {problem}", "InvalidRayJobSpec"
        return "", ""

    def init_job_status(self, job: Obj, status: Obj) -> None:
        jspec, name = b.spec(job), b.name_of(job)
        if not (status.get("jobId") and status.get("rayClusterName") and status.get("jobStatus")) or \
                not status.get("jobDeploymentStatus"):
            if jspec.get("submissionMode", "K8sJobMode") != "InteractiveMode" and not status.get("jobId"):
                status["jobId"] = jspec.get("jobId") or f"{name}-{self.emu.generate_suffix()}"
            if not status.get("rayClusterName"):
                status["rayClusterName"] = (jspec.get("clusterSelector") or {}).get("ray.io/cluster") or \
                    f"{name}-{self.player.cluster_suffix(name)}"
            status.setdefault("jobStatus", "")
            status["jobDeploymentStatus"] = "Initializing"
            status["startTime"] = self.now()

    def job_cluster(self, job: Obj, status: Obj) -> Obj:
        """getOrCreateRayClusterInstance."""
        ns, cname = b.ns_of(job), status.get("rayClusterName", "")
        cluster = self.emu.get("rayclusters", ns, cname)
        if cluster is not None:
            return cluster
        if b.spec(job).get("clusterSelector"):
            self.event(job, "Warning", "RayClusterNotFound", f"RayCluster {ns}/{cname} set in the clusterSelector is not "
                       "found. It must be created manually", "rayjob-controller", "Validate")
            raise ReconcileError(f"clusterSelector mode is enabled, but RayCluster {ns}/{cname} is not found")
        job_for_build = dict(job, status=status)
        cluster = b.rayjob_cluster(job_for_build, cname, gates=self.player.gates)
        return self.create_reporting(job, "rayclusters", cluster, "rayjob-controller",
                                     ("CreatedRayCluster", f"Created RayCluster {ns}/{cname}"),
                                     ("FailedToCreateRayCluster", f"Failed to create RayCluster {ns}/{cname}: "))

    def job_cluster_unless_stopping(self, job: Obj, status: Obj) -> Obj | None:
        """Suspend and activeDeadlineSeconds first, then the RayJob's cluster (None: look again later)."""
        if b.spec(job).get("suspend"):
            status["jobDeploymentStatus"] = "Suspending"
            return None
        if self.deadline_passed(job, status):
            return None
        try:
            return self.job_cluster(job, status)
        except ReconcileError:
            return None

    def job_initializing(self, job: Obj, status: Obj) -> float | None:
        jspec = b.spec(job)
        cluster = self.job_cluster_unless_stopping(job, status)
        if cluster is None:
            return JOB_REQUEUE
        if not status.get("dashboardURL"):
            if (cluster.get("status") or {}).get("state") != "ready":
                status["rayClusterStatus"] = cluster.get("status") or {}
                return JOB_REQUEUE
            url = self.dashboard_url(cluster)
            if not url:
                return JOB_REQUEUE
            status["dashboardURL"] = url
        mode = jspec.get("submissionMode") or "K8sJobMode"
        if mode == "InteractiveMode":
            status["jobDeploymentStatus"] = "Waiting"
            return JOB_REQUEUE
        if mode == "K8sJobMode" and self.emu.peek("jobs", b.ns_of(job), b.name_of(job)) is None:
            where = f"{b.ns_of(job)}/{b.name_of(job)}"
            try:
                self.create_reporting(job, "jobs", b.submitter_job(dict(job, status=status), cluster), "rayjob-controller",
                                      ("CreatedRayJobSubmitter", f"Created Kubernetes Job {where}"),
                                      ("FailedToCreateRayJobSubmitter", f"Failed to create new Kubernetes Job {where}: "))
            except ReconcileError:
                return JOB_REQUEUE
        status["jobDeploymentStatus"] = "Running"
        return JOB_REQUEUE

    def dashboard_url(self, cluster: Obj) -> str:
        """FetchHeadServiceURL: `<head svc>.<ns>.svc.cluster.local:<dashboard port>`."""
        svc = self.emu.peek("services", b.ns_of(cluster), b.head_service_name(cluster))
        if svc is None:
            return ""
        port = next((p.get("port") for p in b.spec(svc).get("ports") or [] if p.get("name") == "dashboard"), None)
        return f"{b.name_of(svc)}.{b.ns_of(svc)}.svc.{b.DEFAULT_DOMAIN}:{port}" if port else ""

    def deadline_passed(self, job: Obj, status: Obj) -> bool:
        deadline = b.spec(job).get("activeDeadlineSeconds")
        if deadline and status.get("startTime") and self.player.seconds_since(status["startTime"]) >= int(deadline):
            status.update(jobDeploymentStatus="Failed", reason="DeadlineExceeded",
                          message=f"The RayJob has passed the activeDeadlineSeconds. StartTime: {status['startTime']}. "
                                  f"ActiveDeadlineSeconds: {deadline}")
            return True
        return False

    def job_running(self, job: Obj, status: Obj) -> float | None:
        jspec, ns = b.spec(job), b.ns_of(job)
        cluster = self.job_cluster_unless_stopping(job, status)
        if cluster is None:
            return JOB_REQUEUE
        if not jspec.get("clusterSelector"):
            self.owner_service(job, cluster, "rayjob-controller")
        mode = jspec.get("submissionMode") or "K8sJobMode"
        finished_at = None
        if mode in ("K8sJobMode", "SidecarMode"):
            finished_at, failed = self.submitter_state(job, cluster, status)
            if failed:
                return JOB_REQUEUE
        ray_key = f"{ns}/{b.name_of(cluster)}"
        info = self.player.ray.job_info(ray_key, status.get("jobId", ""))
        if info is None:
            if mode == "HTTPMode":
                self.player.ray.submit(ray_key, status.get("jobId", ""), b.entrypoint_of(job),
                                       _runtime_env(jspec), jspec.get("metadata"))
                return JOB_REQUEUE
            if finished_at is not None:
                status.update(jobDeploymentStatus="Failed", reason="AppFailed",
                              message="Submitter completed but Ray job not found in RayCluster.")
            return JOB_REQUEUE
        job_status = str(info.get("status") or "")
        terminal = job_status in TERMINAL_JOB and (mode not in ("K8sJobMode", "SidecarMode") or finished_at is not None)
        deployment, reason = "Running", ""
        if terminal:
            deployment = "Failed" if job_status == "FAILED" else "Complete"
            reason = "AppFailed" if job_status == "FAILED" else ""
        status.update(rayClusterStatus=cluster.get("status") or {}, jobStatus=job_status,
                      jobDeploymentStatus=deployment, reason=reason, message=info.get("message") or "")
        info_times = dict(status.get("rayJobInfo") or {})
        for key, field in (("start_time", "startTime"), ("end_time", "endTime")):
            if info.get(key):
                info_times[field] = _ms_to_text(int(info[key]))
        status["rayJobInfo"] = info_times
        return JOB_REQUEUE

    def submitter_state(self, job: Obj, cluster: Obj, status: Obj) -> tuple[str | None, bool]:
        """(when the submitter finished, whether the RayJob was failed for it) - checkSubmitterAndUpdateStatusIfNeeded."""
        if (b.spec(job).get("submissionMode") or "K8sJobMode") == "SidecarMode":
            heads = self.pods(cluster, **{"ray.io/node-type": "head"})
            if not heads:
                status.update(jobDeploymentStatus="Failed", reason="AppFailed", message="Ray head pod not found.")
                return None, True
            sidecar = next((s for s in (heads[0].get("status") or {}).get("containerStatuses") or []
                            if s.get("name") == b.SUBMITTER), None)
            terminated = ((sidecar or {}).get("state") or {}).get("terminated")
            if terminated and terminated.get("exitCode"):
                _submitter_failed(status, f"Ray head pod container {b.SUBMITTER} terminated with exit code "
                                          f"{terminated['exitCode']}: {terminated.get('reason', '')}")
                return terminated.get("finishedAt"), True
            return (terminated or {}).get("finishedAt"), False
        submitter = self.emu.peek("jobs", b.ns_of(job), b.name_of(job))
        if submitter is None:
            return None, False
        conditions = (submitter.get("status") or {}).get("conditions") or []
        failed = next((c for c in conditions if c.get("type") == "Failed" and c.get("status") == "True"), None)
        if failed is not None:
            _submitter_failed(status, f"Job submission has failed. Reason: {failed.get('reason', '')}. "
                                      f"Message: {failed.get('message', '')}")
        finished = next((c for c in conditions if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"),
                        None)
        return (finished or {}).get("lastTransitionTime"), failed is not None

    def owner_service(self, owner: Obj, cluster: Obj, controller: str) -> None:
        """reconcileServices: `<owner>-head-svc`, re-pointed when the cluster changes."""
        wanted = b.owner_head_service(owner, cluster)
        current = self.emu.get("services", b.ns_of(owner), b.name_of(wanted))
        if current is None:
            self._create_service(owner, wanted, controller)
            return
        if b.spec(current).get("selector", {}).get("ray.io/cluster") == b.name_of(cluster):
            return
        wanted["spec"]["clusterIP"] = b.spec(current).get("clusterIP")
        current["spec"] = wanted["spec"]
        if self.update("services", current):
            self.event(owner, "Normal", "UpdatedService", f"Updated the service {b.ns_of(current)}/{b.name_of(current)}",
                       controller, "Update")

    def job_suspending(self, job: Obj, status: Obj) -> float | None:
        ns = b.ns_of(job)
        gone = True
        if not b.spec(job).get("clusterSelector"):
            cluster = self.emu.peek("rayclusters", ns, status.get("rayClusterName", ""))
            if cluster is not None:
                gone = False
                if not b.meta(cluster).get("deletionTimestamp"):
                    self.delete("rayclusters", cluster)
                    self.event(job, "Normal", "DeletedRayCluster", f"Deleted cluster {ns}/{b.name_of(cluster)}",
                               "rayjob-controller", "Delete")
        if (b.spec(job).get("submissionMode") or "K8sJobMode") == "K8sJobMode":
            submitter = self.emu.peek("jobs", ns, b.name_of(job))
            if submitter is not None:
                gone = False
                if not b.meta(submitter).get("deletionTimestamp"):
                    self.delete("jobs", submitter, propagation="Background")
                    self.event(job, "Normal", "DeletedRayJobSubmitter", f"Deleted submitter K8s Job {ns}/"
                               f"{b.name_of(job)}", "rayjob-controller", "Delete")
        if not gone:
            return JOB_REQUEUE
        for key in ("rayClusterStatus", "rayClusterName", "dashboardURL", "jobId", "message", "reason", "rayJobInfo",
                    "jobStatusCheckFailureStartTime"):
            status.pop(key, None)
        status["jobStatus"] = ""
        status["jobDeploymentStatus"] = "Suspended" if status.get("jobDeploymentStatus") == "Suspending" else ""
        return JOB_REQUEUE

    def job_finished(self, job: Obj) -> float | None:
        """Complete/Failed: deletion rules, legacy policies, shutdownAfterJobFinishes with its TTL."""
        jspec, status = b.spec(job), job.get("status") or {}
        if jspec.get("clusterSelector"):
            return None
        strategy = jspec.get("deletionStrategy")
        ended = status.get("endTime") or status.get("startTime")
        if strategy and strategy.get("deletionRules"):
            return self.deletion_rules(job, strategy["deletionRules"], ended)
        if strategy:
            which = {"SUCCEEDED": "onSuccess", "FAILED": "onFailure"}.get(status.get("jobStatus", ""))
            policy = ((strategy.get(which) or {}).get("policy")) if which else None
            if not policy or policy == "DeleteNone":
                return None
            wait = int(jspec.get("ttlSecondsAfterFinished") or 0) - self.player.seconds_since(ended)
            return wait + 2 if wait > 0 else self.apply_deletion(job, policy)
        if jspec.get("shutdownAfterJobFinishes"):
            wait = int(jspec.get("ttlSecondsAfterFinished") or 0) - self.player.seconds_since(ended)
            if wait > 0:
                return wait + 2
            if self.player.operator_env.get("DELETE_RAYJOB_CR_AFTER_JOB_FINISHES", "").lower() == "true":
                self.delete("rayjobs", job)
            else:
                self.delete_job_cluster(job)
        return None

    def deletion_rules(self, job: Obj, rules: list[Obj], ended: str) -> float | None:
        status = job.get("status") or {}
        order = {"DeleteSelf": 4, "DeleteCluster": 3, "DeleteWorkers": 2, "DeleteNone": 1}
        overdue, next_wait = [], None
        for rule in rules:
            cond = rule.get("condition") or {}
            if "jobStatus" in cond and cond["jobStatus"] != status.get("jobStatus"):
                continue
            if "jobDeploymentStatus" in cond and cond["jobDeploymentStatus"] != status.get("jobDeploymentStatus"):
                continue
            wait = int(cond.get("ttlSeconds") or 0) - self.player.seconds_since(ended)
            if wait > 0:
                next_wait = wait if next_wait is None else min(next_wait, wait)
                continue
            if not self.deletion_done(job, rule.get("policy", "")):
                overdue.append(rule)
        if overdue:
            self.apply_deletion(job, max(overdue, key=lambda r: order.get(r.get("policy", ""), 0))["policy"])
        return next_wait + 2 if next_wait is not None else None

    def deletion_done(self, job: Obj, policy: str) -> bool:
        cluster = self.emu.peek("rayclusters", b.ns_of(job), (job.get("status") or {}).get("rayClusterName", ""))
        if policy == "DeleteNone":
            return True
        if policy == "DeleteSelf":
            return False
        if cluster is None or b.meta(cluster).get("deletionTimestamp"):
            return True
        if policy == "DeleteWorkers":
            return all(g.get("suspend") for g in b.spec(cluster).get("workerGroupSpecs") or [])
        return False

    def apply_deletion(self, job: Obj, policy: str) -> None:
        if policy == "DeleteCluster":
            self.delete_job_cluster(job)
        elif policy == "DeleteSelf":
            self.delete("rayjobs", job)
        elif policy == "DeleteWorkers":
            ns, cname = b.ns_of(job), (job.get("status") or {}).get("rayClusterName", "")
            cluster = self.emu.get("rayclusters", ns, cname)
            if cluster is not None:
                for group in cluster["spec"].get("workerGroupSpecs") or []:
                    group["suspend"] = True
                if self.update("rayclusters", cluster):
                    self.event(job, "Normal", "UpdatedRayCluster", f"Set the `suspend` field to true for all worker "
                               f"groups in cluster {ns}/{cname}", "rayjob-controller", "Update")
        return None

    def delete_job_cluster(self, job: Obj) -> None:
        ns, cname = b.ns_of(job), (job.get("status") or {}).get("rayClusterName", "")
        cluster = self.emu.peek("rayclusters", ns, cname)
        if cluster is not None and not b.meta(cluster).get("deletionTimestamp") and self.delete("rayclusters", cluster):
            self.event(job, "Normal", "DeletedRayCluster", f"Deleted cluster {ns}/{cname}", "rayjob-controller", "Delete")

    def job_deleted(self, job: Obj) -> float | None:
        status = job.get("status") or {}
        if status.get("jobStatus") not in TERMINAL_JOB and status.get("jobId"):
            self.player.ray.stop(f"{b.ns_of(job)}/{status.get('rayClusterName', '')}", status["jobId"])
        finalizers = [f for f in b.meta(job).get("finalizers") or [] if f != b.RAYJOB_FINALIZER]
        if finalizers != (b.meta(job).get("finalizers") or []):
            job["metadata"]["finalizers"] = finalizers
            self.update("rayjobs", job)
        return None

    @staticmethod
    def backoff_counts(job: Obj, status: Obj) -> None:
        """checkBackoffLimitAndUpdateStatusIfNeeded: the failed/succeeded counters, and Retrying."""
        failed, succeeded = int(status.get("failed") or 0), int(status.get("succeeded") or 0)
        if status.get("jobDeploymentStatus") == "Failed":
            failed += 1
        if status.get("jobStatus") == "SUCCEEDED" and status.get("jobDeploymentStatus") == "Complete":
            succeeded += 1
        status["failed"], status["succeeded"] = failed, succeeded
        limit = b.spec(job).get("backoffLimit")
        if status.get("jobDeploymentStatus") == "Failed" and limit is not None and failed < int(limit) + 1 and \
                status.get("reason") not in ("DeadlineExceeded", "JobStatusCheckTimeoutExceeded"):
            status["jobDeploymentStatus"] = "Retrying"

    def write_job_status(self, job: Obj, old: Obj, new: Obj) -> None:
        """updateRayJobStatus: only when jobStatus, jobDeploymentStatus or the cluster status changed."""
        if old.get("jobStatus") == new.get("jobStatus") and \
                old.get("jobDeploymentStatus") == new.get("jobDeploymentStatus") and \
                not self.status_changed(old.get("rayClusterStatus") or {}, new.get("rayClusterStatus") or {}):
            return
        if new.get("jobDeploymentStatus") in ("Complete", "Failed", "ValidationFailed"):
            new["endTime"] = self.now()
        new.setdefault("rayJobInfo", {})
        new.setdefault("rayClusterStatus", {})
        new["rayClusterStatus"].setdefault("head", {})
        for key in ("desiredCPU", "desiredMemory", "desiredGPU", "desiredTPU"):
            new["rayClusterStatus"].setdefault(key, "0")
        self.write_status("rayjobs", job, _drop_zero(new, keep=("rayJobInfo", "rayClusterStatus", "failed",
                                                               "succeeded")))

    # =================================================================================================
    # RayService (rayservice_controller.go Reconcile)
    # =================================================================================================

    def reconcile_service(self, ns: str, name: str) -> float | None:
        service = self.emu.get("rayservices", ns, name)
        if service is None or self.skip(service):
            return None
        original = copy.deepcopy(service.get("status") or {})
        deleting = bool(b.meta(service).get("deletionTimestamp"))
        to_clean = self.clean_service_clusters(service, deleting)
        if deleting:
            if to_clean:
                return SERVICE_REQUEUE
            service["metadata"]["finalizers"] = [f for f in b.meta(service).get("finalizers") or []
                                                 if f != b.RAYSERVICE_FINALIZER]
            self.update("rayservices", service)
            return None
        if b.RAYSERVICE_FINALIZER not in (b.meta(service).get("finalizers") or []):
            service["metadata"]["finalizers"] = (b.meta(service).get("finalizers") or []) + [b.RAYSERVICE_FINALIZER]
            self.update("rayservices", service)
            return SERVICE_REQUEUE
        status = copy.deepcopy(original)
        problem = self.validate_service(service)
        if problem:
            self.event(service, "Warning", "InvalidRayServiceSpec", f"{ns}/{name}: {problem}", "rayservice-controller",
                       "Validate")
            conditions = status.setdefault("conditions", [])
            set_condition(conditions, "Ready", "False", "ValidationFailed", problem, self.now(),
                          int(status.get("observedGeneration") or 0))
            status["lastUpdateTime"] = self.now()
            self.write_status("rayservices", service, status)
            return None
        active_name = (status.get("activeServiceStatus") or {}).get("rayClusterName", "")
        pending_name = (status.get("pendingServiceStatus") or {}).get("rayClusterName", "")
        active = self.emu.get("rayclusters", ns, active_name) if active_name else None
        pending = self.emu.get("rayclusters", ns, pending_name) if pending_name else None
        if pending_name and pending is None:
            pending = self.create_service_cluster(service, pending_name)
        for cluster, is_active in ((active, True), (pending, False)):
            if cluster is not None and self.should_update_cluster(service, status, cluster, is_active):
                self.update_service_cluster(service, cluster, "active" if is_active else "pending")
        pending_ready = active_ready = False
        pending_apps: Obj | None = None
        active_apps: Obj | None = None
        if pending is not None:
            self.head_serve_label(service, pending)
            pending_ready, pending_apps = self.reconcile_serve(service, pending)
        if active is not None:
            self.head_serve_label(service, active)
            if pending is None:
                active_ready, active_apps = self.reconcile_serve(service, active)
        head_svc = serve_svc = None
        if pending_ready or active_ready:
            target = pending if pending_ready else active
            assert target is not None
            head_svc = self.owner_service_obj(service, target, "head")
            serve_svc = self.owner_service_obj(service, target, "serve")
        self.service_status(service, status, active, pending, active_apps, pending_apps, head_svc, serve_svc)
        if self.service_status_changed(original, status):
            status["lastUpdateTime"] = self.now()
            self.write_status("rayservices", service, status)
        return SERVICE_REQUEUE

    def validate_service(self, service: Obj) -> str:
        name = b.name_of(service)
        if len(name) > 47:
            return "The RayService metadata is invalid: RayService name should be no more than 47 characters"
        cspec = b.spec(service).get("rayClusterConfig") or {}
        if ((cspec.get("headGroupSpec") or {}).get("headService") or {}).get("metadata", {}).get("name"):
            return ("The RayService spec is invalid: spec.rayClusterConfig.headGroupSpec.headService.metadata.name "
                    "should not be set")
        problem = self.validate_cluster_spec(cspec, b.meta(service).get("annotations") or {})
        return f"The RayService spec is invalid: {problem}" if problem else ""

    def clean_service_clusters(self, service: Obj, deleting: bool) -> bool:
        status = service.get("status") or {}
        keep = {(status.get("activeServiceStatus") or {}).get("rayClusterName"),
                (status.get("pendingServiceStatus") or {}).get("rayClusterName")}
        delay = float(b.spec(service).get("rayClusterDeletionDelaySeconds") or DELETION_DELAY) if not deleting else 0.0
        to_clean = False
        for cluster in self.emu.view("rayclusters", b.ns_of(service)):
            labels = b.meta(cluster).get("labels") or {}
            if labels.get("ray.io/originated-from-cr-name") != b.name_of(service) or \
                    labels.get("ray.io/originated-from-crd") != "RayService":
                continue
            if not deleting and b.name_of(cluster) in keep:
                continue
            to_clean = True
            mark = self.deletion_marks.setdefault(b.name_of(cluster), self.player.clock() + delay)
            if deleting or self.player.clock() >= mark:
                if not b.meta(cluster).get("deletionTimestamp") and self.delete("rayclusters", cluster, "Background"):
                    self.event(service, "Normal", "DeletedRayCluster", f"Deleted the RayCluster {b.ns_of(cluster)}/"
                               f"{b.name_of(cluster)}", "rayservice-controller", "Delete")
        return to_clean

    @staticmethod
    def _hash_matches(service: Obj, cluster: Obj, partial: bool) -> bool:
        """isClusterSpecHashEqual: partial compares only the cluster's first (existing) worker groups."""
        annotations = b.meta(cluster).get("annotations") or {}
        goal = copy.deepcopy(b.spec(service).get("rayClusterConfig") or {})
        goal.pop("suspend", None)
        if partial:
            try:
                count = int(annotations.get("ray.io/num-worker-groups", ""))
            except ValueError:
                return True
            groups = goal.get("workerGroupSpecs") or []
            if len(groups) < count:
                return False
            goal["workerGroupSpecs"] = groups[:count]
        return annotations.get("ray.io/hash-without-replicas-and-workers-to-delete") == b.spec_hash(goal)

    def should_update_cluster(self, service: Obj, status: Obj, cluster: Obj, is_active: bool) -> bool:
        if is_active:
            if condition_true(status.get("conditions") or [], "UpgradeInProgress"):
                return False
            if (b.meta(cluster).get("annotations") or {}).get("ray.io/kuberay-version") != self.player.kuberay_version:
                return True
        return not self._hash_matches(service, cluster, False) and self._hash_matches(service, cluster, True)

    def should_prepare_cluster(self, service: Obj, active: Obj | None, pending: Obj | None) -> bool:
        """shouldPrepareNewCluster: first cluster, or a spec change that an in-place update cannot take."""
        if active is None and pending is None:
            return True
        cluster = pending if pending is not None else active
        assert cluster is not None
        if self._hash_matches(service, cluster, False) or self._hash_matches(service, cluster, True):
            return False
        strategy = ((b.spec(service).get("upgradeStrategy") or {}).get("type"))
        if strategy is not None:
            return strategy != "None"
        return self.player.operator_env.get("ENABLE_ZERO_DOWNTIME", "true").lower() != "false"

    def update_service_cluster(self, service: Obj, cluster: Obj, which: str) -> None:
        """modifyRayCluster: the cluster takes the RayService's cluster spec (and hash annotations)."""
        goal = b.rayservice_cluster(service, b.name_of(cluster))
        updated = copy.deepcopy(cluster)
        updated["spec"] = goal["spec"]
        updated["metadata"]["annotations"] = goal["metadata"]["annotations"]
        updated["metadata"]["labels"] = goal["metadata"]["labels"]
        if self.update("rayclusters", updated):
            self.event(service, "Normal", "UpdatedRayCluster", f"Updated the {which} RayCluster {b.ns_of(cluster)}/"
                       f"{b.name_of(cluster)}", "rayservice-controller", "Update")

    def create_service_cluster(self, service: Obj, name: str) -> Obj | None:
        where = f"{b.ns_of(service)}/{name}"
        try:
            return self.create_reporting(service, "rayclusters", b.rayservice_cluster(service, name),
                                         "rayservice-controller", ("CreatedRayCluster", f"Created the RayCluster {where}"),
                                         ("FailedToCreateRayCluster", f"Failed to create the RayCluster {where}: "))
        except ReconcileError:
            return None

    def head_serve_label(self, service: Obj, cluster: Obj) -> None:
        heads = self.pods(cluster, **{"ray.io/node-type": "head"})
        if not heads:
            return
        head = copy.deepcopy(heads[0])
        healthy = pod_ready(head) and not b.spec(service).get("excludeHeadPodFromServeSvc")
        wanted = "true" if healthy else "false"
        labels = head["metadata"].setdefault("labels", {})
        if labels.get("ray.io/serve") == wanted:
            return
        labels["ray.io/serve"] = wanted
        if self.update("pods", head):
            self.event(service, "Normal", "UpdatedHeadPodServeLabel", f'Updated the serve label to "{wanted}" for the '
                       f"Head Pod {b.ns_of(head)}/{b.name_of(head)}", "rayservice-controller", "Update")

    def reconcile_serve(self, service: Obj, cluster: Obj) -> tuple[bool, Obj | None]:
        conditions = (cluster.get("status") or {}).get("conditions") or []
        if not condition_true(conditions, "HeadPodReady"):
            return False, None
        key = f"{b.ns_of(cluster)}/{b.name_of(cluster)}"
        serve = self.player.ray.serve
        cache: dict[str, str] = self.player.__dict__.setdefault("serve_configs", {})
        config = b.spec(service).get("serveConfigV2") or ""
        apps = serve.statuses(key)
        if cache.get(key) != config or not apps:
            serve.put_config(key, config)
            cache[key] = config
            self.event(service, "Normal", "UpdatedServeApplications", f"Updated serve applications to the RayCluster "
                       f"{key}", "rayservice-controller", "Update")
        out = {}
        for app_name, app in apps.items():
            entry: Obj = {"status": app["status"], "serveDeploymentStatuses": {
                d: _drop_zero({"status": s["status"], "message": s.get("message", "")}, keep=())
                for d, s in app["deployments"].items()}}
            if app.get("message"):
                entry["message"] = app["message"]
            if not entry["serveDeploymentStatuses"]:
                del entry["serveDeploymentStatuses"]
            out[app_name] = entry
        ready = bool(out) and all(a["status"] == "RUNNING" for a in out.values())
        return ready, out

    def owner_service_obj(self, service: Obj, cluster: Obj, which: str) -> Obj | None:
        wanted = b.owner_head_service(service, cluster) if which == "head" else b.serve_service(service, cluster)
        if wanted is None:
            return None
        current = self.emu.get("services", b.ns_of(service), b.name_of(wanted))
        if current is None:
            return self._create_service(service, wanted, "rayservice-controller")
        if b.spec(current).get("selector", {}).get("ray.io/cluster") != b.name_of(cluster):
            wanted["spec"]["clusterIP"] = b.spec(current).get("clusterIP")
            current["spec"] = wanted["spec"]
            if self.update("services", current):
                self.event(service, "Normal", "UpdatedService", f"Updated the service {b.ns_of(current)}/"
                           f"{b.name_of(current)}", "rayservice-controller", "Update")
        return current

    def service_status(self, service: Obj, status: Obj, active: Obj | None, pending: Obj | None,
                       active_apps: Obj | None, pending_apps: Obj | None, head_svc: Obj | None,
                       serve_svc: Obj | None) -> None:
        now = self.now()
        status["observedGeneration"] = int(b.meta(service).get("generation") or 0)
        active_status = dict(status.get("activeServiceStatus") or {})
        pending_status = dict(status.get("pendingServiceStatus") or {})
        active_status["rayClusterStatus"] = (active or {}).get("status") or {}
        pending_status["rayClusterStatus"] = (pending or {}).get("status") or {}
        for target, apps in ((active_status, active_apps), (pending_status, pending_apps)):
            if apps:
                target["applicationStatuses"] = apps
            else:
                target.pop("applicationStatuses", None)
        if head_svc is not None:
            points_to = b.spec(head_svc).get("selector", {}).get("ray.io/cluster")
            if active_status.get("rayClusterName") != points_to and pending_status.get("rayClusterName") == points_to:
                active_status, pending_status = pending_status, {}
        if not pending_status.get("rayClusterName") and self.should_prepare_cluster(service, active, pending):
            pending_status = {"rayClusterName": f"{b.name_of(service)}-{self.player.cluster_suffix(b.name_of(service))}"}
        serve_name = ((b.spec(service).get("serveService") or {}).get("metadata") or {}).get("name") or \
            f"{b.name_of(service)}-serve-svc"
        endpoints = set()
        for slice_obj in self.emu.view("endpointslices", b.ns_of(service)):
            if (b.meta(slice_obj).get("labels") or {}).get("kubernetes.io/service-name") != serve_name:
                continue
            for endpoint in slice_obj.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("ready") and (endpoint.get("targetRef") or {}).get("uid"):
                    endpoints.add(endpoint["targetRef"]["uid"])
        status["numServeEndpoints"] = len(endpoints)
        conditions = status.setdefault("conditions", [])
        generation = status["observedGeneration"]
        if not conditions:
            set_condition(conditions, "Ready", "False", "Initializing", "RayService is initializing", now, generation)
            set_condition(conditions, "UpgradeInProgress", "False", "Initializing", "RayService is initializing", now,
                          generation)
        if endpoints:
            set_condition(conditions, "Ready", "True", "NonZeroServeEndpoints",
                          "Number of serve endpoints is greater than 0", now, generation)
        elif condition_true(conditions, "Ready"):
            set_condition(conditions, "Ready", "False", "ZeroServeEndpoints", "Number of serve endpoints dropped to 0",
                          now, generation)
        if active_status.get("rayClusterName") and pending_status.get("rayClusterName"):
            set_condition(conditions, "UpgradeInProgress", "True", "BothActivePendingClustersExist",
                          "Both active and pending Ray clusters exist", now, generation)
        elif active_status.get("rayClusterName"):
            set_condition(conditions, "UpgradeInProgress", "False", "NoPendingCluster",
                          "Active Ray cluster exists and no pending Ray cluster", now, generation)
        status["serviceStatus"] = "Running" if condition_true(conditions, "Ready") else ""
        status["activeServiceStatus"] = _go_service_status(active_status)
        status["pendingServiceStatus"] = _go_service_status(pending_status)
        for key in [k for k in ("serviceStatus", "numServeEndpoints") if not status.get(k)]:
            status.pop(key)

    def service_status_changed(self, old: Obj, new: Obj) -> bool:
        if (old.get("serviceStatus") or "") != (new.get("serviceStatus") or "") or \
                int(old.get("numServeEndpoints") or 0) != int(new.get("numServeEndpoints") or 0) or \
                (old.get("conditions") or []) != (new.get("conditions") or []):
            return True
        for key in ("activeServiceStatus", "pendingServiceStatus"):
            a, c = old.get(key) or {}, new.get(key) or {}
            if a.get("rayClusterName") != c.get("rayClusterName") or \
                    json.dumps(_app_digest(a), sort_keys=True) != json.dumps(_app_digest(c), sort_keys=True):
                return True
        return not old


def _submitter_failed(status: Obj, message: str) -> None:
    """A failed submitter fails the RayJob: AppFailed when Ray said the job failed, else SubmissionFailed."""
    status["jobDeploymentStatus"] = "Failed"
    if status.get("jobStatus") == "FAILED":
        status["reason"] = "AppFailed"
    else:
        status.update(reason="SubmissionFailed", message=message)


def _app_digest(status: Obj) -> Obj:
    return {name: {"status": app.get("status"), "message": app.get("message"),
                   "d": app.get("serveDeploymentStatuses")} for name, app in (status.get("applicationStatuses") or {}).items()}


def _go_service_status(status: Obj) -> Obj:
    out = {k: v for k, v in status.items() if v not in ("", None, {}) or k == "rayClusterStatus"}
    cluster = dict(out.get("rayClusterStatus") or {})
    cluster.setdefault("head", {})
    for key in ("desiredCPU", "desiredMemory", "desiredGPU", "desiredTPU"):
        cluster.setdefault(key, "0")
    out["rayClusterStatus"] = cluster
    return out


def head_pod_ready_condition(head: Obj) -> Obj:
    """utils.FindHeadPodReadyCondition."""
    cond = {"status": "False", "reason": "Unknown", "message": ""}
    for pc in (head.get("status") or {}).get("conditions") or []:
        if pc.get("type") != "Ready":
            continue
        cond["status"] = pc.get("status", "False")
        cond["message"] = pc.get("message", "") or ""
        reason = pc.get("reason") or ""
        if pc.get("status") == "True" and not reason:
            reason = "HeadPodRunningAndReady"
        if reason:
            cond["reason"] = reason
        if reason == "ContainersNotReady":
            for st in (head.get("status") or {}).get("containerStatuses") or []:
                state = st.get("state") or {}
                detail = state.get("waiting") or state.get("terminated")
                if detail is not None:
                    if cond["message"]:
                        cond["message"] += "; "
                    cond["message"] += f"{st.get('name')}: {detail.get('message', '')}"
                    cond["reason"] = detail.get("reason", "")
                    break
        break
    return cond


def _running(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def _all_running(pods: list[Obj]) -> bool:
    """utils.CheckAllPodsRunning."""
    if not pods:
        return False
    for pod in pods:
        if not _running(pod):
            return False
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready" and cond.get("status") != "True":
                return False
    return True


def _runtime_env(jspec: Obj) -> Any:
    if not jspec.get("runtimeEnvYAML"):
        return None
    import yaml

    return yaml.safe_load(jspec["runtimeEnvYAML"])


def _ms_to_text(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
