"""kube-scheduler, the kubelets and the Job controller, played one step at a time.

Each step moves every pod one stage along what the real components write:
  Pending, unscheduled -> scheduled (PodScheduled, Scheduled event; or FailedScheduling with the
  per-node reasons: `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
  affinity/selector. preemption: ...`)
  -> containers created (Pulled/Created/Started events), init containers run (`wait-gcs-ready`
  finishes once the cluster's head pod is Ready) -> Running -> Ready (readiness passed).
Switchable faults give what kubelet writes for ErrImagePull/ImagePullBackOff, CrashLoopBackOff,
OOMKilled (exit 137), Evicted (phase Failed), failing readiness probes, and unschedulable pods.
Pods with a deletionTimestamp are stopped (Killing) and removed. Jobs get pods, and complete or
fail as the Job controller writes it; RayJob submitter containers submit to the player's Ray.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from kubectl_ray.resources.quantity import Quantity, QuantityError, parse_quantity
from tests.emulator.api import ApiError
from tests.emulator.controllers import pod_ready
from tests.emulator.kuberay import builders as b

if TYPE_CHECKING:
    from tests.emulator.kuberay.player import Player

Obj = dict[str, Any]
FAULT_KINDS = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "OOMKilled", "Evicted", "NotReady",
               "Unschedulable")


@dataclass
class PodFault:
    """A fault for the pods it matches (None matches anything)."""

    kind: str
    cluster: str | None = None
    group: str | None = None  # worker group name, or "headgroup"
    node_type: str | None = None  # "head" / "worker"
    pod: str | None = None
    namespace: str | None = None
    container: str | None = None  # default: the Ray container (index 0)
    message: str = ""
    times: int | None = None  # how many pods it hits (None: every matching pod; Evicted: 1 unless given)
    hit: set[str] = field(default_factory=set)  # uids of the pods it hit

    def matches(self, pod: Obj) -> bool:
        uid = b.meta(pod).get("uid", "")
        if self.times is not None and uid not in self.hit and len(self.hit) >= self.times:
            return False
        labels = b.meta(pod).get("labels") or {}
        checks = ((self.cluster, labels.get("ray.io/cluster")), (self.group, labels.get("ray.io/group")),
                  (self.node_type, labels.get("ray.io/node-type")), (self.pod, b.name_of(pod)),
                  (self.namespace, b.ns_of(pod)))
        return all(want is None or want == got for want, got in checks)


@dataclass
class NodeState:
    next_ip: int = 2


@dataclass
class KubeletState:
    faults: list[PodFault] = field(default_factory=list)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    autoprovision: bool = True
    scheduling_messages: dict[str, str] = field(default_factory=dict)
    backoff: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)  # (ns, pod, container)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name: str, *, cpu: str = "16", memory: str = "64Gi", extra: dict[str, str] | None = None,
         labels: dict[str, str] | None = None, taints: list[Obj] | None = None, index: int = 1) -> Obj:
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi", **(extra or {})}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64", **(labels or {})}},
            "spec": {"podCIDR": f"10.244.{index}.0/24", **({"taints": taints} if taints else {})},
            "status": {"capacity": capacity, "allocatable": dict(capacity),
                       "conditions": [{"type": t, "status": "False", "reason": f"Kubelet{r}", "message": m,
                                       "lastHeartbeatTime": now(), "lastTransitionTime": now()}
                                      for t, r, m in (("MemoryPressure", "HasSufficientMemory", "kubelet has sufficient memory available"),
                                                      ("DiskPressure", "HasNoDiskPressure", "kubelet has no disk pressure"),
                                                      ("PIDPressure", "HasSufficientPID", "kubelet has sufficient PID available"))]
                       + [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                           "message": "kubelet is posting ready status", "lastHeartbeatTime": now(),
                           "lastTransitionTime": now()}],
                       "addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 1}"},
                                     {"type": "Hostname", "address": name}],
                       "nodeInfo": {"kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4",
                                    "containerRuntimeVersion": "containerd://1.7.24", "kernelVersion": "6.1.0-28-amd64",
                                    "osImage": "Debian GNU/Linux 12 (bookworm)", "operatingSystem": "linux",
                                    "architecture": "amd64"}}}


def _requests(pod: Obj) -> dict[str, Quantity]:
    """Effective requests: max(init containers) vs sum(containers), per resource (what the scheduler uses)."""
    def of(container: Obj) -> dict[str, Quantity]:
        res = container.get("resources") or {}
        merged = dict(res.get("limits") or {})
        merged.update(res.get("requests") or {})
        out = {}
        for key, value in merged.items():
            try:
                out[key] = parse_quantity(value)
            except QuantityError:
                pass
        return out

    total: dict[str, Quantity] = {}
    for container in b.spec(pod).get("containers") or []:
        for key, value in of(container).items():
            total[key] = total[key] + value if key in total else value
    for container in b.spec(pod).get("initContainers") or []:
        for key, value in of(container).items():
            if key not in total or total[key] < value:
                total[key] = value
    return total


class Kubelet:
    def __init__(self, player: "Player") -> None:
        self.player = player
        self.emu = player.emu
        self.state = KubeletState()

    # --- nodes -------------------------------------------------------------------------------------------

    def ensure_nodes(self, count: int = 3) -> None:
        if self.emu.view("nodes"):
            return
        for i in range(1, count + 1):
            self.add_node(f"node-{i}")

    def add_node(self, name: str, **options: Any) -> Obj:
        index = len(self.emu.view("nodes")) + 1
        created = self.emu.create("nodes", node(name, index=index, **options))
        self.state.nodes[name] = NodeState()
        return created

    def _provision_for(self, pod: Obj) -> str:
        """A node that fits pod (as a cluster autoscaler would add): its nodeSelector labels, enough resources."""
        needs = _requests(pod)
        extra = {k: str(max(8, int(q.value) + 1)) for k, q in needs.items() if k not in ("cpu", "memory")}
        cpu = max(Quantity(parse_quantity("16").value), needs.get("cpu", Quantity(parse_quantity("0").value)))
        memory = max(parse_quantity("64Gi"), needs.get("memory", parse_quantity("0")))
        selector = b.spec(pod).get("nodeSelector") or {}
        pool = "pool-" + hashlib.sha1(repr(sorted(selector.items()) + sorted(extra)).encode()).hexdigest()[:6]
        index = 1
        while self.emu.peek("nodes", None, f"{pool}-{index}") is not None:
            index += 1
        name = f"{pool}-{index}"
        self.add_node(name, cpu=str(cpu), memory=str(memory), extra=extra, labels=dict(selector))
        return name

    # --- scheduling ---------------------------------------------------------------------------------------

    def _fits(self, pod: Obj, node_obj: Obj, used: dict[str, dict[str, Quantity]]) -> str | None:
        """Why node cannot take pod (the scheduler's per-node reason), or None."""
        labels = b.meta(node_obj).get("labels") or {}
        if b.spec(node_obj).get("unschedulable"):
            return "node(s) were unschedulable"
        for key, value in (b.spec(pod).get("nodeSelector") or {}).items():
            if labels.get(key) != value:
                return "node(s) didn't match Pod's node affinity/selector"
        tolerations = b.spec(pod).get("tolerations") or []
        for taint in b.spec(node_obj).get("taints") or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(taint, tolerations):
                return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
        allocatable = (node_obj.get("status") or {}).get("allocatable") or {}
        on_node = used.get(b.name_of(node_obj), {})
        for key, need in sorted(_requests(pod).items()):
            if need.is_zero():
                continue
            try:
                have = parse_quantity(allocatable.get(key, "0"))
            except QuantityError:
                have = parse_quantity("0")
            taken = on_node.get(key)
            if (taken + need if taken is not None else need).value > have.value:
                return f"Insufficient {key}"
        return None

    def _used(self) -> dict[str, dict[str, Quantity]]:
        used: dict[str, dict[str, Quantity]] = {}
        for pod in self.emu.view("pods"):
            name = b.spec(pod).get("nodeName")
            if not name or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            bucket = used.setdefault(name, {})
            for key, value in _requests(pod).items():
                bucket[key] = bucket[key] + value if key in bucket else value
        return used

    def _schedule(self, pod: Obj) -> bool:
        nodes = self.emu.view("nodes")
        fault = self._fault(pod, ("Unschedulable",))
        used = self._used()
        reasons: dict[str, int] = {}
        chosen = None
        for node_obj in nodes:
            why = "Insufficient cpu" if fault else self._fits(pod, node_obj, used)
            if why is None:
                chosen = b.name_of(node_obj)
                break
            reasons[why] = reasons.get(why, 0) + 1
        if chosen is None and self.state.autoprovision and not fault:
            chosen = self._provision_for(pod)
        if chosen is None:
            return self._unschedulable(pod, len(nodes), reasons)
        return self._bind(pod, chosen)

    def _unschedulable(self, pod: Obj, count: int, reasons: dict[str, int]) -> bool:
        detail = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda kv: f"{kv[1]} {kv[0]}"))
        message = (f"0/{count} nodes are available: {detail}. preemption: 0/{count} nodes are available: "
                   f"{count} Preemption is not helpful for scheduling.") if count else "no nodes available to schedule pods"
        key = f"{b.ns_of(pod)}/{b.name_of(pod)}"
        if self.state.scheduling_messages.get(key) == message:
            return False
        self.state.scheduling_messages[key] = message
        status = {"phase": "Pending", "qosClass": (pod.get("status") or {}).get("qosClass", "Burstable"),
                  "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": message, "lastProbeTime": None, "lastTransitionTime": now()}]}
        self._write_status(pod, status)
        self.emu.record_event(pod, "Warning", "FailedScheduling", message, component="default-scheduler",
                              style="events", action="Scheduling")
        return True

    def _bind(self, pod: Obj, node_name: str) -> bool:
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = node_name
        try:
            bound = self.emu.replace("pods", b.ns_of(pod), b.name_of(pod), bound)
        except ApiError:
            return False
        status = copy.deepcopy(bound.get("status") or {})
        status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                 "lastTransitionTime": now()}]
        self._write_status(bound, status)
        self.state.scheduling_messages.pop(f"{b.ns_of(pod)}/{b.name_of(pod)}", None)
        self.emu.record_event(pod, "Normal", "Scheduled",
                              f"Successfully assigned {b.ns_of(pod)}/{b.name_of(pod)} to {node_name}",
                              component="default-scheduler", style="events", action="Binding")
        return True

    # --- the step ---------------------------------------------------------------------------------------

    def step(self) -> bool:
        changed = self._jobs()
        for pod in self.emu.view("pods"):
            current = self.emu.peek("pods", b.ns_of(pod), b.name_of(pod))
            if current is None:
                continue
            try:
                changed = self._advance(current) or changed
            except ApiError:
                changed = True  # lost a race with another writer: look again next step
        return changed

    def busy(self) -> bool:
        """Whether some pod or Job is still on its way (the player keeps stepping while so)."""
        for pod in self.emu.view("pods"):
            status = pod.get("status") or {}
            if b.meta(pod).get("deletionTimestamp"):
                return True
            if status.get("phase") in ("Succeeded", "Failed"):
                continue
            if not pod_ready(pod) or self._fault(pod, FAULT_KINDS, record=False):
                return True
        return any(not _job_finished(job) for job in self.emu.view("jobs"))

    def _advance(self, pod: Obj) -> bool:
        status = pod.get("status") or {}
        if b.meta(pod).get("deletionTimestamp"):
            return self._terminate(pod)
        if status.get("phase") in ("Succeeded", "Failed"):
            return False
        if not b.spec(pod).get("nodeName"):
            return self._schedule(pod)
        if not status.get("containerStatuses"):
            return self._start(pod)
        if self._fault(pod, ("Evicted",)) and status.get("phase") == "Running":
            return self._evict(pod)
        inits = status.get("initContainerStatuses") or []
        pending_init = next((i for i, s in enumerate(inits) if not (s.get("state") or {}).get("terminated")), None)
        if pending_init is not None:
            return self._run_init(pod, pending_init)
        return self._run_containers(pod)

    # --- stages -----------------------------------------------------------------------------------------

    def _start(self, pod: Obj) -> bool:
        spec = b.spec(pod)
        inits, containers = spec.get("initContainers") or [], spec.get("containers") or []
        node_name = spec["nodeName"]
        status = copy.deepcopy(pod.get("status") or {})
        status.update({"phase": "Pending", "hostIP": self._host_ip(node_name),
                       "hostIPs": [{"ip": self._host_ip(node_name)}], "podIP": self._pod_ip(node_name),
                       "startTime": now()})
        status["podIPs"] = [{"ip": status["podIP"]}]
        status["initContainerStatuses"] = [self._waiting(c, "PodInitializing") for c in inits]
        status["containerStatuses"] = [self._waiting(c, "PodInitializing" if inits else "ContainerCreating")
                                       for c in containers]
        if not status["initContainerStatuses"]:
            del status["initContainerStatuses"]
        self._conditions(pod, status)
        self._write_status(pod, status)
        return True

    def _run_init(self, pod: Obj, index: int) -> bool:
        status = copy.deepcopy(pod["status"])
        container = b.spec(pod)["initContainers"][index]
        st = status["initContainerStatuses"][index]
        pulled = self._pull_fault(pod, container, st)
        if pulled is not None:
            if pulled:
                self._conditions(pod, status)
                self._write_status(pod, status)
            return pulled
        state = st.get("state") or {}
        if not state.get("running"):
            self._container_started(pod, container, st, node_events=True)
        elif container.get("name") != b.WAIT_GCS_READY or self._head_ready(pod):
            st.update(ready=True, started=False, state={"terminated": {
                "exitCode": 0, "reason": "Completed", "startedAt": state["running"]["startedAt"], "finishedAt": now(),
                "containerID": st.get("containerID", "")}})
            if index + 1 == len(status["initContainerStatuses"]):
                for cst in status["containerStatuses"]:
                    cst["state"] = {"waiting": {"reason": "PodInitializing"}}
        else:
            return False  # still waiting for GCS
        self._conditions(pod, status)
        self._write_status(pod, status)
        return True

    def _run_containers(self, pod: Obj) -> bool:
        status = copy.deepcopy(pod["status"])
        containers = b.spec(pod).get("containers") or []
        changed = False
        restart_never = b.spec(pod).get("restartPolicy") == "Never"
        for container, st in zip(containers, status["containerStatuses"]):
            changed = self._run_container(pod, container, st, restart_never) or changed
        if not changed:
            return False
        states = [st.get("state") or {} for st in status["containerStatuses"]]
        if all(s.get("terminated") for s in states) and (restart_never or b.spec(pod).get("restartPolicy") == "OnFailure"):
            failed = any(s["terminated"].get("exitCode") for s in states)
            status["phase"] = "Failed" if failed else "Succeeded"
        elif any(s.get("running") or s.get("terminated") for s in states) and \
                not any((s.get("waiting") or {}).get("reason") in ("ContainerCreating", "PodInitializing", "ErrImagePull",
                                                                     "ImagePullBackOff") for s in states):
            status["phase"] = "Running"
        elif restart_never and any((s.get("terminated") or {}).get("exitCode") for s in states):
            status["phase"] = "Failed"
        self._conditions(pod, status)
        self._write_status(pod, status)
        return True

    def _run_container(self, pod: Obj, container: Obj, st: Obj, restart_never: bool) -> bool:
        state = st.get("state") or {}
        is_ray = container is b.spec(pod)["containers"][0]
        pulled = self._pull_fault(pod, container, st)
        if pulled is not None:
            return pulled
        if state.get("terminated"):
            return False
        if not state.get("running"):
            if (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                if not self._backoff_over(pod, container):
                    return False
                st["state"] = {"running": {"startedAt": now()}}
                st["started"] = True
                return True
            self._container_started(pod, container, st, node_events=True)
            return True
        crash = self._fault(pod, ("CrashLoopBackOff", "OOMKilled"), container) if is_ray or \
            self._fault_for_container(pod, container) else None
        if crash is not None:
            self._crash(pod, container, st, crash, restart_never)
            return True
        if self._runs_to_completion(pod, container):
            return self._work(pod, container, st)
        if not st.get("ready"):
            if self._fault(pod, ("NotReady",), container if not is_ray else None) and is_ray:
                self._probe_failed(pod, container)
                return False
            st["ready"] = True
            return True
        return False

    def _runs_to_completion(self, pod: Obj, container: Obj) -> bool:
        return container.get("name") == b.SUBMITTER or _job_of(pod) is not None

    def _work(self, pod: Obj, container: Obj, st: Obj) -> bool:
        """A submitter (or any Job pod) container: finished when its work is done."""
        exit_code = self.player.run_submitter(pod, container)
        if exit_code is None:
            if not st.get("ready"):
                st["ready"] = True
                return True
            return False
        started = st["state"]["running"]["startedAt"]
        st.update(ready=False, started=False, state={"terminated": {
            "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error", "startedAt": started,
            "finishedAt": now(), "containerID": st.get("containerID", "")}})
        return True

    def _crash(self, pod: Obj, container: Obj, st: Obj, fault: PodFault, restart_never: bool) -> None:
        oom = fault.kind == "OOMKilled"
        started = st["state"]["running"]["startedAt"]
        terminated = {"exitCode": 137 if oom else 1, "reason": "OOMKilled" if oom else "Error", "startedAt": started,
                      "finishedAt": now(), "containerID": st.get("containerID", "")}
        if fault.message:
            terminated["message"] = fault.message
        if restart_never:
            st.update(ready=False, started=False, state={"terminated": terminated})
            return
        restarts = int(st.get("restartCount") or 0) + 1
        backoff = self._start_backoff(pod, container)
        text = f"back-off {_go_duration(backoff)} restarting failed container={container['name']} " \
               f"pod={b.name_of(pod)}_{b.ns_of(pod)}({b.meta(pod).get('uid', '')})"
        st.update(ready=False, started=False, restartCount=restarts, lastState={"terminated": terminated},
                  state={"waiting": {"reason": "CrashLoopBackOff", "message": text}})
        self.emu.record_event(pod, "Warning", "BackOff",
                              f"Back-off restarting failed container {container['name']} in pod "
                              f"{b.name_of(pod)}_{b.ns_of(pod)}({b.meta(pod).get('uid', '')})",
                              component="kubelet", host=b.spec(pod).get("nodeName", ""),
                              field_path=f"spec.containers{{{container['name']}}}")

    def _start_backoff(self, pod: Obj, container: Obj) -> int:
        """Kubelet's back-off: 10 s, doubling up to 5 min, counted on the player's clock."""
        key = (b.ns_of(pod), b.name_of(pod), container["name"])
        _, count = self.state.backoff.get(key, (0.0, 0))
        seconds = min(300, 10 * 2 ** count)
        self.state.backoff[key] = (self.player.clock() + seconds, count + 1)
        return seconds

    def _backoff_over(self, pod: Obj, container: Obj) -> bool:
        until, _ = self.state.backoff.get((b.ns_of(pod), b.name_of(pod), container["name"]), (0.0, 0))
        return self.player.clock() >= until

    def _probe_failed(self, pod: Obj, container: Obj) -> None:
        key = (b.ns_of(pod), b.name_of(pod), "readiness:" + container["name"])
        if self.player.clock() < self.state.backoff.get(key, (0.0, 0))[0]:
            return
        self.state.backoff[key] = (self.player.clock() + 10, 0)  # a failed probe every periodSeconds, shown per 10 s
        probe = container.get("readinessProbe") or {}
        what = "HTTP probe failed with statuscode: 503" if probe.get("httpGet") else \
            "command \"bash -c wget --tries 1 -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success\" " \
            "timed out"
        self.emu.record_event(pod, "Warning", "Unhealthy", f"Readiness probe failed: {what}", component="kubelet",
                              host=b.spec(pod).get("nodeName", ""), field_path=f"spec.containers{{{container['name']}}}")

    def _pull_fault(self, pod: Obj, container: Obj, st: Obj) -> bool | None:
        """None: no pull fault here; else whether the container's pull state changed."""
        fault = self._fault(pod, ("ErrImagePull", "ImagePullBackOff"), container)
        if fault is None and container.get("image") in self.player.unpullable_images:
            fault = PodFault("ErrImagePull")
        if fault is None or (st.get("state") or {}).get("running") or (st.get("state") or {}).get("terminated"):
            return None
        image = container.get("image", "")
        error = fault.message or (f'rpc error: code = NotFound desc = failed to pull and unpack image '
                                  f'"docker.io/{image}": failed to resolve reference "docker.io/{image}": '
                                  f'docker.io/{image}: not found')
        waiting = (st.get("state") or {}).get("waiting") or {}
        host = b.spec(pod).get("nodeName", "")
        path = f"spec.{'initContainers' if container.get('name') == b.WAIT_GCS_READY else 'containers'}{{{container['name']}}}"
        if waiting.get("reason") == "ImagePullBackOff" and not self._backoff_over(pod, container):
            return False
        if waiting.get("reason") == "ErrImagePull":
            self._start_backoff(pod, container)
            st["state"] = {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}}
            self.emu.record_event(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"', component="kubelet",
                                  host=host, field_path=path)
            self.emu.record_event(pod, "Warning", "Failed", "Error: ImagePullBackOff", component="kubelet", host=host,
                                  field_path=path)
        else:
            st["state"] = {"waiting": {"reason": "ErrImagePull", "message": error}}
            self.emu.record_event(pod, "Normal", "Pulling", f'Pulling image "{image}"', component="kubelet", host=host,
                                  field_path=path)
            self.emu.record_event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {error}',
                                  component="kubelet", host=host, field_path=path)
            self.emu.record_event(pod, "Warning", "Failed", "Error: ErrImagePull", component="kubelet", host=host,
                                  field_path=path)
        st["ready"] = False
        return True

    def _container_started(self, pod: Obj, container: Obj, st: Obj, node_events: bool) -> None:
        name = container["name"]
        st.update(state={"running": {"startedAt": now()}}, started=True, ready=False,
                  containerID="containerd://" + hashlib.sha256(f"{b.meta(pod).get('uid')}/{name}".encode()).hexdigest(),
                  imageID=_image_id(container.get("image", "")))
        self.player.container_started(dict(pod, status={"podIP": (pod.get("status") or {}).get("podIP", "")}), container)
        if node_events:
            host = b.spec(pod).get("nodeName", "")
            is_init = any(c.get("name") == name for c in b.spec(pod).get("initContainers") or [])
            path = f"spec.{'initContainers' if is_init else 'containers'}{{{name}}}"
            self.emu.record_event(pod, "Normal", "Pulled",
                                  f'Container image "{container.get("image", "")}" already present on machine',
                                  component="kubelet", host=host, field_path=path)
            self.emu.record_event(pod, "Normal", "Created", f"Created container: {name}", component="kubelet",
                                  host=host, field_path=path)
            self.emu.record_event(pod, "Normal", "Started", f"Started container {name}", component="kubelet",
                                  host=host, field_path=path)

    def _evict(self, pod: Obj) -> bool:
        fault = self._fault(pod, ("Evicted",))
        ray = b.spec(pod)["containers"][0]
        memory = ((ray.get("resources") or {}).get("requests") or {}).get("memory", "0")
        message = (fault.message if fault and fault.message else
                   f"The node was low on resource: memory. Threshold quantity: 100Mi, available: 91572Ki. "
                   f"Container {ray['name']} was using 5Gi, request is {memory}, has larger consumption of memory. ")
        status = copy.deepcopy(pod["status"])
        status.update(phase="Failed", reason="Evicted", message=message)
        for st in status.get("containerStatuses") or []:
            started = ((st.get("state") or {}).get("running") or {}).get("startedAt", now())
            st.update(ready=False, started=False, state={"terminated": {
                "exitCode": 137, "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated", "startedAt": started,
                "finishedAt": now()}})
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"] + [
            {"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
             "message": message, "lastProbeTime": None, "lastTransitionTime": now()}]
        for c in status["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                c.update(status="False", reason="PodFailed", message="", lastTransitionTime=now())
        self._write_status(pod, status)
        host = b.spec(pod).get("nodeName", "")
        self.emu.record_event(pod, "Warning", "Evicted", message, component="kubelet", host=host)
        self.emu.record_event(pod, "Normal", "Killing", f"Stopping container {ray['name']}", component="kubelet",
                              host=host, field_path=f"spec.containers{{{ray['name']}}}")
        return True

    def _terminate(self, pod: Obj) -> bool:
        host = b.spec(pod).get("nodeName", "")
        for st in (pod.get("status") or {}).get("containerStatuses") or []:
            if (st.get("state") or {}).get("running"):
                self.emu.record_event(pod, "Normal", "Killing", f"Stopping container {st['name']}",
                                      component="kubelet", host=host, field_path=f"spec.containers{{{st['name']}}}")
        try:
            self.emu.delete("pods", b.ns_of(pod), b.name_of(pod), grace_period=0)
        except ApiError:
            pass
        return True

    # --- status helpers --------------------------------------------------------------------------------

    def _conditions(self, pod: Obj, status: Obj) -> None:
        old = {c.get("type"): c for c in status.get("conditions") or []}

        def cond(ctype: str, ok: bool, reason: str = "", message: str = "") -> Obj:
            previous = old.get(ctype) or {}
            value = "True" if ok else "False"
            entry: Obj = {"type": ctype, "status": value, "lastProbeTime": None,
                          "lastTransitionTime": previous.get("lastTransitionTime") if previous.get("status") == value
                          else now()}
            if not ok and reason:
                entry.update(reason=reason, message=message)
            return entry

        inits = status.get("initContainerStatuses") or []
        incomplete = [s["name"] for s in inits if not (s.get("state") or {}).get("terminated")]
        unready = [s["name"] for s in status.get("containerStatuses") or [] if not s.get("ready")]
        unready_text = f"containers with unready status: [{' '.join(unready)}]"
        status["conditions"] = [
            cond("PodReadyToStartContainers", True),
            cond("Initialized", not incomplete, "ContainersNotInitialized",
                 f"containers with incomplete status: [{' '.join(incomplete)}]"),
            cond("Ready", not unready, "ContainersNotReady", unready_text),
            cond("ContainersReady", not unready, "ContainersNotReady", unready_text),
            cond("PodScheduled", True)]

    def _waiting(self, container: Obj, reason: str) -> Obj:
        return {"name": container["name"], "image": container.get("image", ""), "imageID": "", "ready": False,
                "restartCount": 0, "started": False, "state": {"waiting": {"reason": reason}}}

    def _write_status(self, pod: Obj, status: Obj) -> None:
        current = self.emu.peek("pods", b.ns_of(pod), b.name_of(pod))
        if current is None:
            return
        updated = copy.deepcopy(current)
        updated["status"] = status
        self.emu.replace("pods", b.ns_of(pod), b.name_of(pod), updated, sub="status")

    def _host_ip(self, node_name: str) -> str:
        node_obj = self.emu.peek("nodes", None, node_name) or {}
        for address in (node_obj.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return address["address"]
        return "172.18.0.2"

    def _pod_ip(self, node_name: str) -> str:
        node_obj = self.emu.peek("nodes", None, node_name) or {}
        cidr = (b.spec(node_obj).get("podCIDR") or "10.244.1.0/24").split("/")[0].rsplit(".", 1)[0]
        state = self.state.nodes.setdefault(node_name, NodeState())
        ip = f"{cidr}.{state.next_ip}"
        state.next_ip = state.next_ip + 1 if state.next_ip < 254 else 2
        return ip

    def _head_ready(self, pod: Obj) -> bool:
        cluster = (b.meta(pod).get("labels") or {}).get("ray.io/cluster")
        if not cluster:
            return True
        heads = [p for p in self.emu.view("pods", b.ns_of(pod))
                 if (b.meta(p).get("labels") or {}).get("ray.io/cluster") == cluster
                 and (b.meta(p).get("labels") or {}).get("ray.io/node-type") == "head"]
        return any(pod_ready(p) for p in heads)

    def _fault(self, pod: Obj, kinds: tuple[str, ...], container: Obj | None = None,
               record: bool = True) -> PodFault | None:
        for fault in self.state.faults:
            if fault.kind not in kinds or not fault.matches(pod):
                continue
            if container is not None:
                target = fault.container or b.spec(pod)["containers"][0]["name"]
                if container.get("name") != target:
                    continue
            if record:
                fault.hit.add(b.meta(pod).get("uid", ""))
            return fault
        return None

    def _fault_for_container(self, pod: Obj, container: Obj) -> bool:
        return any(f.container == container.get("name") and f.matches(pod) for f in self.state.faults)

    # --- the Job controller ------------------------------------------------------------------------------

    def _jobs(self) -> bool:
        changed = False
        for job in self.emu.view("jobs"):
            if _job_finished(job) or b.meta(job).get("deletionTimestamp"):
                continue
            try:
                changed = self._sync_job(job) or changed
            except ApiError:
                changed = True
        return changed

    def _sync_job(self, job: Obj) -> bool:
        uid = b.meta(job).get("uid", "")
        pods = [p for _, p in self.emu.dependents_of(uid) if p.get("kind") == "Pod"]
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        status = copy.deepcopy(job.get("status") or {})
        status.setdefault("startTime", now())
        backoff = int(b.spec(job).get("backoffLimit", 6))
        if succeeded:
            status.update(succeeded=succeeded, failed=failed or None, active=None, ready=0, completionTime=now(),
                          conditions=_job_conditions(("SuccessCriteriaMet", "Complete"), "CompletionsReached",
                                                     "Reached expected number of succeeded pods"))
        elif failed > backoff:
            status.update(failed=failed, active=None, ready=0,
                          conditions=_job_conditions(("FailureTarget", "Failed"), "BackoffLimitExceeded",
                                                     "Job has reached the specified backoff limit"))
        elif not active:
            self._job_pod(job)
            status.update(active=1, ready=0, failed=failed or None)
        else:
            status.update(active=len(active), ready=sum(1 for p in active if pod_ready(p)), failed=failed or None)
        status = {k: v for k, v in status.items() if v is not None}
        status.setdefault("terminating", 0)
        status.setdefault("uncountedTerminatedPods", {})
        if status == (job.get("status") or {}):
            return False
        updated = copy.deepcopy(job)
        updated["status"] = status
        self.emu.replace("jobs", b.ns_of(job), b.name_of(job), updated, sub="status")
        if status.get("conditions"):
            done = status["conditions"][-1]
            self.emu.record_event(job, "Normal" if done["type"] == "Complete" else "Warning",
                                  "Completed" if done["type"] == "Complete" else "BackoffLimitExceeded",
                                  "Job completed" if done["type"] == "Complete" else "Job has reached the specified backoff limit",
                                  component="job-controller", style="events", action="")
        return True

    def _job_pod(self, job: Obj) -> None:
        template = copy.deepcopy(b.spec(job).get("template") or {})
        uid = b.meta(job).get("uid", "")
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": b.name_of(job),
                       "controller-uid": uid, "job-name": b.name_of(job)})
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": f"{b.name_of(job)}-", "namespace": b.ns_of(job), "labels": labels,
                            "annotations": {"batch.kubernetes.io/job-tracking": ""},
                            "ownerReferences": [{**b.controller_ref(job), "apiVersion": "batch/v1", "kind": "Job"}],
                            "finalizers": ["batch.kubernetes.io/job-tracking"]},
               "spec": template.get("spec") or {}}
        created = self.emu.create("pods", pod, b.ns_of(job))
        self.emu.record_event(job, "Normal", "SuccessfulCreate", f"Created pod: {b.name_of(created)}",
                              component="job-controller", style="events", action="")

    def release_job_pods(self) -> None:
        """The Job controller removes its tracking finalizer from finished pods."""
        for pod in self.emu.view("pods"):
            finalizers = b.meta(pod).get("finalizers") or []
            if "batch.kubernetes.io/job-tracking" not in finalizers:
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or b.meta(pod).get("deletionTimestamp"):
                updated = copy.deepcopy(pod)
                updated["metadata"]["finalizers"] = [f for f in finalizers if f != "batch.kubernetes.io/job-tracking"]
                if not updated["metadata"]["finalizers"]:
                    del updated["metadata"]["finalizers"]
                try:
                    self.emu.replace("pods", b.ns_of(pod), b.name_of(pod), updated)
                except ApiError:
                    pass


def _job_conditions(types: tuple[str, str], reason: str, message: str) -> list[Obj]:
    """The two conditions the Job controller (1.31+) writes when a Job ends."""
    return [{"type": t, "status": "True", "reason": reason, "message": message, "lastProbeTime": now(),
             "lastTransitionTime": now()} for t in types]


def _job_of(pod: Obj) -> str | None:
    for ref in b.meta(pod).get("ownerReferences") or []:
        if ref.get("kind") == "Job":
            return ref.get("name")
    return None


def _job_finished(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def _tolerated(taint: Obj, tolerations: list[Obj]) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _image_id(image: str) -> str:
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if "/" not in repo.split(".")[0] and "." not in repo.split("/")[0]:
        repo = "docker.io/" + (repo if "/" in repo else "library/" + repo)
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _go_duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
