"""The KubeRay operator and the kubelets, played inside the emulator process.

    player = Player(emu).start()          # background: reacts to writes, steps pods every step_interval
    ... kubectl ray create cluster demo --wait ...
    player.settle()                       # run reconciles and kubelet steps until nothing changes
    player.fault("ImagePullBackOff", cluster="demo", node_type="head")
    player.pause(); player.resume(); player.stop()

Modes:
* "background" (default): a thread reconciles on every write (a watch event, as controller-runtime
  would) and steps the kubelets every `step_interval` seconds while a pod or Job is on its way, so
  clients see the states go by (Pending, ContainerCreating, Running, Ready).
* "instant": every write through the API is followed, before its answer, by reconciles and
  kubelet steps until nothing changes: deterministic for in-process tests.

The player holds the emulator's lock while it works, so its writes and the HTTP side never
interleave halfway. Time-based behaviour (TTLs, deletion delays, requeues) uses `clock()`, which
`advance(seconds)` moves forward without waiting.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from tests.emulator.kuberay import builders as b
from tests.emulator.kuberay.kubelet import FAULT_KINDS, Kubelet, PodFault
from tests.emulator.kuberay.operator import Operator
from tests.emulator.kuberay.ray import RealRay, SimulatedRay
from tests.emulator.resources import ResourceInfo
from tests.emulator.state import Emulator

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (plural, namespace, name)
RAY_PLURALS = ("rayclusters", "rayjobs", "rayservices")
# What each controller Owns (SetupWithManager): a change of an owned object wakes its controller owner.
OWNED = {"pods": ("rayclusters",), "secrets": ("rayclusters",), "persistentvolumeclaims": ("rayclusters",),
         "services": ("rayclusters", "rayjobs", "rayservices"), "rayclusters": ("rayjobs", "rayservices"),
         "jobs": ("rayjobs",)}
MAX_ROUNDS = 400
SETTLE_HORIZON = 5.0  # settle() runs requeues due within this many seconds (KubeRay's are 2-3 s) at once


class Player:
    def __init__(self, emu: Emulator, *, mode: str = "background", step_interval: float = 0.1,
                 ray: Any = None, ray_dashboard: str | None = None, gates: tuple[str, ...] | list[str] = (),
                 operator_env: dict[str, str] | None = None, watch_namespaces: tuple[str, ...] = (),
                 nodes: int = 3, autoprovision: bool = True, cluster_suffix: Callable[[str], str] | None = None,
                 kuberay_version: str = b.KUBERAY_VERSION, install: bool = True, resync: float = 30.0,
                 log_dir: str | None = None) -> None:
        if mode not in ("background", "instant"):
            raise ValueError(f"mode must be background or instant, not {mode!r}")
        self.emu = emu
        self.mode = mode
        self.step_interval = step_interval
        self.ray = ray if ray is not None else (RealRay(ray_dashboard) if ray_dashboard else SimulatedRay())
        self.gates = frozenset(gates)
        self.operator_env = dict(operator_env or {})
        self.watch_namespaces = tuple(watch_namespaces)
        self.kuberay_version = kuberay_version
        self.cluster_requeue = float(self.operator_env.get("RAYCLUSTER_DEFAULT_REQUEUE_SECONDS_ENV") or 300)
        self.resync = resync
        self._suffix = cluster_suffix
        self._offset = 0.0
        self.operator = Operator(self)
        self.kubelet = Kubelet(self)
        self.kubelet.state.autoprovision = autoprovision
        self.operator_paused = False
        self.kubelet_paused = False
        self.tokens: dict[str, str] = {}  # cluster key -> auth token (token-auth clusters)
        self.log_dir = log_dir  # a local folder every Ray pod serves as /tmp/ray/session_latest/logs
        self.unpullable_images: set[str] = set()  # images the registry does not have (ErrImagePull)
        self._queue: set[Key] = set()
        self._timers: dict[Key, float] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._local = threading.local()
        self.rounds = 0
        self.writes = 0  # changes seen (Events left out): a round that makes none is quiet
        self.errors: list[BaseException] = []  # exceptions of reconciles run inside a write (instant mode)
        emu.kubelet_active = True
        if install:
            self.install(nodes)
        emu.observe(self._on_change)
        self.enqueue_all()

    # --- set-up -------------------------------------------------------------------------------------------

    def install(self, nodes: int) -> None:
        """What `helm install kuberay-operator` leaves behind: CRDs, the operator Deployment and pod, nodes."""
        from tests.emulator.crds import CRDsMissing, crd_set

        with self.emu.lock:
            try:
                for crd in crd_set(self.emu.crd_version).documents():
                    if self.emu.peek("customresourcedefinitions", None, b.name_of(crd)) is None:
                        self.emu.add(crd, share=True)
            except CRDsMissing:
                pass
            if self.emu.peek("deployments", "kuberay-system", "kuberay-operator") is None:
                for obj in operator_objects(self.kuberay_version, self.gates, self.operator_env, self.watch_namespaces):
                    self.emu.add(obj)
            self.kubelet.ensure_nodes(nodes)

    def start(self) -> "Player":
        if self._on_change not in self.emu.observers:  # started again after stop()
            self.emu.observe(self._on_change)
            self.emu.kubelet_active = True
        if self.mode == "background" and self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="kuberay-player", daemon=True)
            self._thread.start()
        elif self.mode == "instant":
            self.settle()
        return self

    def stop(self) -> None:
        """Stop playing: the thread ends and writes no longer wake the player."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.emu.unobserve(self._on_change)
        self.emu.kubelet_active = False

    def __enter__(self) -> "Player":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- control ----------------------------------------------------------------------------------------

    def pause(self, *, operator: bool = True, kubelet: bool = True) -> None:
        """Stop reconciling (as if the operator were down) and/or stepping pods."""
        self.operator_paused = operator or self.operator_paused
        self.kubelet_paused = kubelet or self.kubelet_paused

    def resume(self) -> None:
        self.operator_paused = self.kubelet_paused = False
        self.enqueue_all()
        self._after_control()

    def fault(self, kind: str, **match: Any) -> PodFault:
        """Make matching pods fail the way kubelet/scheduler report it (kinds: see kubelet.FAULT_KINDS)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULT_KINDS)}")
        if kind == "Evicted":
            match.setdefault("times", 1)  # an eviction hits a pod; its replacement runs
        fault = PodFault(kind, **match)
        with self.emu.lock:
            self.kubelet.state.faults.append(fault)
        self._after_control()
        return fault

    def clear_faults(self) -> None:
        with self.emu.lock:
            self.kubelet.state.faults.clear()
        self._after_control()

    def advance(self, seconds: float) -> None:
        """Move the player's clock on (TTLs, deletion delays, requeues fall due)."""
        self._offset += seconds
        self._after_control()

    def _after_control(self) -> None:
        if self.mode == "instant":
            self.settle()
        else:
            self._wake()

    # --- time ------------------------------------------------------------------------------------------

    def clock(self) -> float:
        return time.time() + self._offset

    def now_text(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def seconds_since(self, text: str | None) -> float:
        if not text:
            return 0.0
        try:
            then = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
        return self.clock() - then.timestamp()

    # --- names and secrets ---------------------------------------------------------------------------------

    def cluster_suffix(self, owner: str) -> str:
        """The 5 random characters of GenerateRayClusterName (fixed by cluster_suffix= for tests)."""
        return self._suffix(owner) if self._suffix else self.emu.generate_suffix()

    def auth_token(self, cluster: Obj) -> str:
        key = f"{b.ns_of(cluster)}/{b.name_of(cluster)}"
        return self.tokens.setdefault(key, secrets.token_urlsafe(24))

    # --- the queue -------------------------------------------------------------------------------------------

    def enqueue(self, key: Key) -> None:
        with self._cond:
            self._queue.add(key)
            self._cond.notify_all()

    def enqueue_all(self) -> None:
        for plural in RAY_PLURALS:
            for obj in self.emu.view(plural):
                self.enqueue((plural, b.ns_of(obj), b.name_of(obj)))

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _on_change(self, event: str, res: ResourceInfo, obj: Obj, old: Obj | None, api: bool) -> None:
        if res.plural != "events":  # Events record what happened; they wake no controller
            self.writes += 1
        for key in self._keys_for(res, obj, old):
            self.enqueue(key)
        if self.mode == "instant" and api and not getattr(self._local, "busy", False):
            try:
                self.settle(resync=False)
            except Exception as exc:  # noqa: BLE001 - the write itself succeeded; a player bug must not fail it
                import traceback

                self.errors.append(exc)
                traceback.print_exception(exc)

    def _keys_for(self, res: ResourceInfo, obj: Obj, old: Obj | None) -> list[Key]:
        """Which reconciles a change wakes: each controller's For (with its predicates) and Owns."""
        ns = b.ns_of(obj)
        keys: list[Key] = []
        if res.plural in RAY_PLURALS and (res.plural == "rayjobs" or _generation_or_metadata_changed(obj, old)):
            keys.append((res.plural, ns, b.name_of(obj)))
        owned = OWNED.get(res.plural, ())
        for ref in (b.meta(obj).get("ownerReferences") or []) + (b.meta(old or {}).get("ownerReferences") or []):
            plural = {"RayCluster": "rayclusters", "RayJob": "rayjobs", "RayService": "rayservices"}.get(ref.get("kind"))
            if plural in owned and ref.get("controller"):
                keys.append((plural, ns, ref.get("name", "")))
        if res.plural == "endpointslices":  # KubeRay polls these every 2 s; reacting at once settles faster
            svc = self.emu.peek("services", ns, (b.meta(obj).get("labels") or {}).get("kubernetes.io/service-name", ""))
            for ref in b.meta(svc or {}).get("ownerReferences") or []:
                if ref.get("kind") == "RayService":
                    keys.append(("rayservices", ns, ref.get("name", "")))
        return keys

    # --- running ---------------------------------------------------------------------------------------------

    def settle(self, max_rounds: int = MAX_ROUNDS, *, resync: bool = True) -> int:
        """Reconcile and step until a round writes nothing; the number of rounds that wrote something.

        resync: first look at every Ray object again, as their periodic requeues would."""
        busy = getattr(self._local, "busy", False)
        self._local.busy = True
        if resync and not busy:
            self.enqueue_all()
        try:
            written = 0
            for _ in range(max_rounds):
                if not self._round(kubelet=True, horizon=SETTLE_HORIZON):
                    return written
                written += 1
            raise RuntimeError(f"the KubeRay player did not settle within {max_rounds} rounds")
        finally:
            self._local.busy = busy

    def _round(self, kubelet: bool, horizon: float = 0.0) -> bool:
        """Process the queue (and timers due within horizon), then one kubelet step; True when anything was written."""
        with self.emu.lock:
            before = self.writes
            self._reconcile_queue(horizon)
            ray_moved = False
            if kubelet and not self.kubelet_paused:
                self.kubelet.step()
                self.kubelet.release_job_pods()
                ray_moved = self.ray.step()
                if ray_moved:  # the operator polls Ray: look at the RayJobs again
                    for job in self.emu.view("rayjobs"):
                        self.enqueue(("rayjobs", b.ns_of(job), b.name_of(job)))
                self._reconcile_queue(horizon)
            self.rounds += 1
            return self.writes != before or (bool(self._queue) and not self.operator_paused) or ray_moved

    def _reconcile_queue(self, horizon: float = 0.0) -> None:
        if self.operator_paused:
            return
        for round_ in range(50):
            with self._cond:
                now = self.clock() + (horizon if round_ == 0 else 0.0)
                due = {k for k, when in self._timers.items() if when <= now}
                for key in due:
                    del self._timers[key]
                keys = sorted(self._queue | due)
                self._queue.clear()
            if not keys:
                return
            for key in keys:
                self._reconcile(key)

    def _reconcile(self, key: Key) -> None:
        plural, ns, name = key
        handler = {"rayclusters": self.operator.reconcile_cluster, "rayjobs": self.operator.reconcile_job,
                   "rayservices": self.operator.reconcile_service}[plural]
        requeue = handler(ns, name)
        if requeue is not None:
            with self._cond:
                due = self.clock() + max(0.0, requeue)
                if key not in self._timers or self._timers[key] > due:
                    self._timers[key] = due

    def _loop(self) -> None:
        last_step = last_resync = 0.0
        while True:
            # Never hold the queue's lock while reading the emulator: writers hold the emulator's lock
            # when they tell us about a change (lock order: emulator, then queue).
            busy = not self.kubelet_paused and (self.kubelet.busy() or self._ray_busy())
            with self._cond:
                if self._stopping:
                    return
                wait = self._next_wait(last_step, last_resync, busy)
                if wait > 0 and not self._queue:
                    self._cond.wait(wait)
                if self._stopping:
                    return
            now = time.monotonic()
            step = now - last_step >= self.step_interval
            if now - last_resync >= self.resync:
                self.enqueue_all()
                last_resync = now
            try:
                self._round(kubelet=step)
            except Exception as exc:  # noqa: BLE001 - keep playing; the error is visible on stderr
                import traceback

                traceback.print_exception(exc)
                time.sleep(self.step_interval)
            if step:
                last_step = now

    def _next_wait(self, last_step: float, last_resync: float, busy: bool) -> float:
        now = time.monotonic()
        waits = [last_resync + self.resync - now]
        if self._timers:
            waits.append(min(self._timers.values()) - self.clock())
        if busy:
            waits.append(last_step + self.step_interval - now)
        return max(0.0, min(waits))

    def _ray_busy(self) -> bool:
        jobs = getattr(self.ray, "jobs", {})
        return any(j.get("status") not in ("SUCCEEDED", "FAILED", "STOPPED") for j in list(jobs.values()))

    # --- what containers do ---------------------------------------------------------------------------------

    def container_started(self, pod: Obj, container: Obj) -> None:
        """A Ray container's stdout, and its Ray log folder (for kubectl logs and kubectl ray log)."""
        labels = b.meta(pod).get("labels") or {}
        if labels.get("ray.io/is-ray-node") != "yes":
            return
        key = (b.ns_of(pod), b.name_of(pod), container["name"])
        if container is b.spec(pod)["containers"][0] or container.get("name") == b.spec(pod)["containers"][0].get("name"):
            self.emu.pod_logs[key] = ray_start_log(pod, labels.get("ray.io/node-type") == "head", self.now_text())
        elif container.get("name") == b.AUTOSCALER:
            self.emu.pod_logs[key] = (f"{self.now_text()} INFO monitor.py -- Starting autoscaler for cluster "
                                      f"{labels.get('ray.io/cluster', '')}\n")
        if self.log_dir:
            self.emu.pod_files[(b.ns_of(pod), b.name_of(pod))] = {"/tmp/ray/session_latest/logs": self.log_dir}

    def run_submitter(self, pod: Obj, container: Obj) -> int | None:
        """A submitter container's exit code once its Ray job ended (None: still running).

        `ray job submit --no-wait` then `ray job logs --follow`: the job goes to the player's Ray, and
        the container's log becomes the job's log."""
        env = {e.get("name"): e.get("value") for e in container.get("env") or []}
        job_id = env.get("RAY_JOB_SUBMISSION_ID")
        labels = b.meta(pod).get("labels") or {}
        owner = labels.get("ray.io/originated-from-cr-name")
        if owner is None and labels.get("ray.io/cluster"):  # the sidecar: the head pod of the RayJob's cluster
            cluster = self.emu.peek("rayclusters", b.ns_of(pod), labels["ray.io/cluster"]) or {}
            owner = (b.meta(cluster).get("labels") or {}).get("ray.io/originated-from-cr-name")
        rayjob = self.emu.peek("rayjobs", b.ns_of(pod), owner or "")
        if not job_id or rayjob is None:
            return 0  # not a RayJob submitter (a cleanup Job, ...): done at once
        cluster_key = f"{b.ns_of(pod)}/{(rayjob.get('status') or {}).get('rayClusterName', '')}"
        info = self.ray.job_info(cluster_key, job_id)
        if info is None:
            self.ray.submit(cluster_key, job_id, b.entrypoint_of(rayjob), _runtime_env(rayjob),
                            b.spec(rayjob).get("metadata"))
            return None
        if info.get("status") not in ("SUCCEEDED", "FAILED", "STOPPED"):
            return None
        self.emu.pod_logs[(b.ns_of(pod), b.name_of(pod), container["name"])] = \
            f"Job submission server address: http://{env.get('RAY_DASHBOARD_ADDRESS', '')}\n" \
            f"{self.ray.logs(cluster_key, job_id)}" \
            f"Job '{job_id}' {str(info.get('status')).lower()}\n"
        return 0


def ray_start_log(pod: Obj, head: bool, when: str) -> str:
    """What `ray start --block` prints, roughly, on a head or worker."""
    stamp = when.replace("T", " ").rstrip("Z") + ",000"
    ip = (pod.get("status") or {}).get("podIP", "")
    lines = [f"{stamp}\tINFO usage_lib.py:473 -- Usage stats collection is disabled.",
             f"{stamp}\tINFO scripts.py:{'865' if head else '1131'} -- Local node IP: {ip}",
             f"{stamp}\tSUCC scripts.py:902 -- --------------------",
             f"{stamp}\tSUCC scripts.py:903 -- Ray runtime started.",
             f"{stamp}\tSUCC scripts.py:904 -- --------------------"]
    if head:
        lines += [f"{stamp}\tINFO scripts.py:906 -- Next steps",
                  f"{stamp}\tINFO scripts.py:909 -- To add another node to this Ray cluster, run",
                  f"{stamp}\tINFO scripts.py:990 -- --block"]
    lines.append(f"{stamp}\tINFO scripts.py:1011 -- This command will now block forever until terminated by a signal.")
    return "\n".join(lines) + "\n"


def _generation_or_metadata_changed(obj: Obj, old: Obj | None) -> bool:
    """GenerationChangedPredicate or LabelChangedPredicate or AnnotationChangedPredicate (creates and deletes pass)."""
    if old is None or obj is old:
        return True
    new_meta, old_meta = b.meta(obj), b.meta(old)
    return any(new_meta.get(k) != old_meta.get(k) for k in ("generation", "labels", "annotations")) or \
        not b.meta(obj).get("resourceVersion") or new_meta.get("deletionTimestamp") != old_meta.get("deletionTimestamp")


def _runtime_env(rayjob: Obj) -> Any:
    text = b.spec(rayjob).get("runtimeEnvYAML")
    if not text:
        return None
    import yaml

    return yaml.safe_load(text)


def operator_objects(version: str, gates: frozenset[str], env: dict[str, str],
                     watch_namespaces: tuple[str, ...]) -> list[Obj]:
    """The Helm chart's operator Deployment and its running pod in kuberay-system."""
    labels = {"app.kubernetes.io/name": "kuberay-operator", "app.kubernetes.io/instance": "kuberay-operator",
              "helm.sh/chart": f"kuberay-operator-{version.lstrip('v')}"}
    args = []
    if watch_namespaces:
        args.append("--watch-namespace=" + ",".join(watch_namespaces))
    if gates:
        args.append("--feature-gates=" + ",".join(f"{g}=true" for g in sorted(gates)))
    container = {"name": "kuberay-operator", "image": f"quay.io/kuberay/operator:{version}", "command": ["/manager"],
                 "args": args, "env": [{"name": k, "value": v} for k, v in sorted(env.items())],
                 "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                 "resources": {"limits": {"cpu": "100m", "memory": "512Mi"},
                               "requests": {"cpu": "100m", "memory": "512Mi"}}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "kuberay-operator", "namespace": "kuberay-system", "labels": labels},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator",
                                                                       "app.kubernetes.io/instance": "kuberay-operator"}},
                           "template": {"metadata": {"labels": labels},
                                        "spec": {"serviceAccountName": "kuberay-operator", "containers": [container]}}},
                  "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
                             "observedGeneration": 1}}
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "kuberay-operator-6bc45dd644-x7k2p", "namespace": "kuberay-system",
                        "labels": {**labels, "pod-template-hash": "6bc45dd644"}},
           "spec": {"serviceAccountName": "kuberay-operator", "containers": [container], "nodeName": "node-1"},
           "status": {"phase": "Running", "podIP": "10.244.1.250", "hostIP": "172.18.0.2", "qosClass": "Guaranteed",
                      "startTime": started,
                      "conditions": [{"type": t, "status": "True", "lastTransitionTime": started}
                                     for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                               "PodScheduled")],
                      "containerStatuses": [{"name": "kuberay-operator", "image": container["image"], "ready": True,
                                             "started": True, "restartCount": 0,
                                             "state": {"running": {"startedAt": started}}}]}}
    return [deployment, pod]


def install_kuberay(emu: Emulator, **options: Any) -> Player:
    """A started Player (see Player for the options)."""
    return Player(emu, **options).start()
