"""A healthy cluster built from a KubeRay sample, with handles to break it in realistic ways (for rule tests)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.engine import Diagnosis, diagnose
from kubectl_ray.debug.snapshot import Snapshot
from tests.conftest import REPO
from tests.debug.sim import Sim, ago, find, find_all, sample

EXAMPLE = REPO / "examples" / "broken-cluster.tar.gz"
# Kinds the collector reads that sim.snapshot does not know: World.snapshot adds them.
EXTRA_KINDS = {"Namespace": "namespaces", "LimitRange": "limitranges", "ResourceQuota": "resourcequotas",
               "Secret": "secrets", "ConfigMap": "configmaps", "PersistentVolumeClaim": "persistentvolumeclaims",
               "PriorityClass": "priorityclasses", "Workload": "workloads", "LocalQueue": "localqueues"}
KUEUE = ("workloads", "localqueues")  # collected only where Kueue's API is served


def load(emulator: Any, objs: list[dict[str, Any]]) -> None:
    """Put objects into the API emulator as they are (status included)."""
    for obj in objs:
        emulator.emu.add(obj)


class World:
    def __init__(self, sample_name: str = "ray-cluster.complete.yaml", kind: str | None = None, *,
                 manifest: dict[str, Any] | None = None, **sim_kwargs: Any) -> None:
        self.sim = Sim(**sim_kwargs)
        self.target, self.objs = self.sim.healthy(manifest if manifest is not None else sample(sample_name, kind))
        self.meta: dict[str, Any] = {}
        self.forbidden: list[tuple[str, str, str | None]] = []
        self.absent: list[tuple[str, str | None, str]] = []
        self.deep: dict[str, Any] = {}
        self.logs: list[tuple[str, str, bool, str]] = []

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], **sim_kwargs: Any) -> "World":
        """A healthy running install of this CR (e.g. a sample edited before it was applied)."""
        return cls(manifest=manifest, **sim_kwargs)

    # handles ---------------------------------------------------------------------------------

    @property
    def obj(self) -> dict[str, Any]:
        """The target object (RayCluster, RayJob or RayService)."""
        return find(self.objs, self.target.kind, lambda o: o["metadata"]["name"] == self.target.name)

    @property
    def cluster(self) -> dict[str, Any]:
        """The RayCluster the target runs on."""
        return find(self.objs, "RayCluster")

    @property
    def spec(self) -> dict[str, Any]:
        return self.cluster["spec"]

    def group(self, i: int = 0) -> dict[str, Any]:
        return self.spec["workerGroupSpecs"][i]

    @property
    def head_template(self) -> dict[str, Any]:
        return self.spec["headGroupSpec"]["template"]["spec"]

    @property
    def head_container(self) -> dict[str, Any]:
        return self.head_template["containers"][0]

    def worker_container(self, i: int = 0) -> dict[str, Any]:
        return self.group(i)["template"]["spec"]["containers"][0]

    @property
    def head(self) -> dict[str, Any]:
        return find(self.objs, "Pod", lambda p: p["metadata"]["labels"].get("ray.io/node-type") == "head")

    @property
    def workers(self) -> list[dict[str, Any]]:
        return find_all(self.objs, "Pod", lambda p: p["metadata"]["labels"].get("ray.io/node-type") == "worker")

    @property
    def worker(self) -> dict[str, Any]:
        return self.workers[0]

    @property
    def operator(self) -> dict[str, Any]:
        return find(self.objs, "Deployment")

    @property
    def operator_container(self) -> dict[str, Any]:
        return self.operator["spec"]["template"]["spec"]["containers"][0]

    @property
    def head_service(self) -> dict[str, Any]:
        name = self.cluster["status"]["head"]["serviceName"]
        return find(self.objs, "Service", lambda s: s["metadata"]["name"] == name)

    # breaking things ---------------------------------------------------------------------------

    def remove(self, obj: dict[str, Any]) -> None:
        self.objs = [o for o in self.objs if o is not obj]

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objs.append(obj)
        return obj

    def event(self, obj: dict[str, Any], reason: str, message: str, *, etype: str = "Warning", minutes: float = 1,
              count: int = 1) -> dict[str, Any]:
        return self.add(self.sim.event(obj, etype, reason, message, ago(minutes=minutes), count))

    def status(self, pod: dict[str, Any], name: str | None = None, *, init: bool = False) -> dict[str, Any]:
        """A container status of a pod (the Ray container by default)."""
        key = "initContainerStatuses" if init else "containerStatuses"
        name = name or pod["spec"]["containers"][0]["name"]
        return next(s for s in pod["status"][key] if s["name"] == name)

    def not_ready(self, pod: dict[str, Any], reason: str = "ContainersNotReady", *, containers: list[str] | None = None) -> None:
        """The pod is not Ready: all its containers, or only those named (the kubelet tracks each one)."""
        for cond in pod["status"]["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond.update(status="False", reason=reason)
        for st in pod["status"]["containerStatuses"]:
            if containers is None or st.get("name") in containers:
                st["ready"] = False

    def crash(self, pod: dict[str, Any], *, reason: str = "Error", exit_code: int = 1, restarts: int = 5,
              message: str = "", container: str | None = None) -> None:
        st = self.status(pod, container)
        st.update(ready=False, restartCount=restarts,
                  state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                  lastState={"terminated": {"reason": reason, "exitCode": exit_code, "message": message,
                                            "startedAt": ago(minutes=3), "finishedAt": ago(minutes=2)}})
        self.not_ready(pod, containers=[st.get("name", "")])

    def pending(self, pod: dict[str, Any], message: str = "", *, minutes: float = 10) -> None:
        pod["metadata"]["creationTimestamp"] = ago(minutes=minutes)
        pod["spec"].pop("nodeName", None)
        pod["status"] = {"phase": "Pending", "qosClass": "Burstable",
                         "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                         "message": message, "lastTransitionTime": ago(minutes=minutes)}]}

    def waiting_for_gcs(self, pod: dict[str, Any], *, minutes: float = 10) -> None:
        pod["metadata"]["creationTimestamp"] = ago(minutes=minutes)
        pod["status"]["phase"] = "Pending"
        self.status(pod, "wait-gcs-ready", init=True).update(
            ready=False, state={"running": {"startedAt": ago(minutes=minutes)}})
        for st in pod["status"]["containerStatuses"]:
            st.update(ready=False, state={"waiting": {"reason": "PodInitializing"}})
        self.not_ready(pod, "ContainersNotReady")
        for cond in pod["status"]["conditions"]:
            if cond["type"] == "Initialized":
                cond.update(status="False", reason="ContainersNotInitialized")

    def log(self, pod: dict[str, Any], container: str, text: str, previous: bool = False) -> None:
        self.logs.append((pod["metadata"]["name"], container, previous, text))

    def set_images(self, image: str, *, ray_version: str | None = None) -> None:
        self.head_container["image"] = image
        for g in self.spec.get("workerGroupSpecs") or []:
            g["template"]["spec"]["containers"][0]["image"] = image
        if ray_version is not None:
            self.spec["rayVersion"] = ray_version

    def operator_version(self, version: str) -> None:
        self.operator_container["image"] = f"quay.io/kuberay/operator:{version}"

    # results -----------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        from kubectl_ray.debug.collector import slim
        from kubectl_ray.debug.snapshot import LogTail

        extra = [o for o in self.objs if o["kind"] in EXTRA_KINDS]
        snap = self.sim.snapshot(self.target, [o for o in self.objs if o["kind"] not in EXTRA_KINDS],
                                 forbidden=self.forbidden)
        # what the collector reads besides (sim.snapshot predates it): the namespace, its limits, what specs name
        for kind, resource in EXTRA_KINDS.items():
            if resource in KUEUE and not any(o["kind"] in ("Workload", "LocalQueue") for o in extra):
                continue
            if not any(f[1] == resource for f in self.forbidden):
                snap.add(resource, [slim(resource, o) for o in extra if o["kind"] == kind])
        if any(o["kind"] in ("Workload", "LocalQueue") for o in extra):
            snap.meta["kueue"] = "kueue.x-k8s.io/v1beta1"
        snap.meta.update(self.meta)
        for resource, ns, name in self.absent:
            snap.mark_absent(resource, ns, name)
        snap.deep.update(self.deep)
        snap.logs += [LogTail(self.sim.namespace, pod, c, prev, text) for pod, c, prev, text in self.logs]
        return snap

    def diagnose(self) -> Diagnosis:
        return diagnose(self.snapshot())

    def ids(self) -> set[str]:
        return self.diagnose().ids()

    def findings(self, rule_id: str) -> list[Any]:
        return [f for f in self.diagnose().all_findings() if f.id == rule_id]
