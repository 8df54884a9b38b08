"""The kube-scheduler's FailedScheduling message parsed and ranked (scheduler.py), and the API server's refusals
recognised (admission.py), on the messages Kubernetes really writes (several versions' wordings)."""

from __future__ import annotations

import pytest

from kubectl_ray.debug import admission, scheduler as sched

GPU_TAINTED = ("0/5 nodes are available: 2 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint "
               "{nvidia.com/gpu: present}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.")


def node(name: str, *, labels: dict | None = None, taints: list | None = None, gpus: str | None = None) -> dict:
    allocatable = {"cpu": "8", "memory": "32Gi"} | ({"nvidia.com/gpu": gpus} if gpus else {})
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []},
            "status": {"allocatable": allocatable}}


def pod(*, selector: dict | None = None, tolerations: list | None = None) -> dict:
    return {"spec": {"nodeSelector": selector or {}, "tolerations": tolerations or []}}


def test_a_message_becomes_per_reason_node_counts() -> None:
    msg = sched.parse(GPU_TAINTED)
    assert msg.total == 5
    assert [(r.count, r.kind, r.resource, r.taint) for r in msg.reasons] == [
        (2, sched.INSUFFICIENT, "nvidia.com/gpu", None), (3, sched.TAINT, None, "nvidia.com/gpu: present")]
    assert msg.preemption.startswith("0/5 nodes are available: 5 Preemption is not helpful")
    assert msg.summary() == "0/5 nodes: 2 Insufficient nvidia.com/gpu; 3 node(s) had untolerated taint {nvidia.com/gpu: present}"


@pytest.mark.parametrize("message,kind", [
    # before Kubernetes 1.25 the taint reason read "had taint {k: v}, that the pod didn't tolerate"
    ("0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate, "
     "2 Insufficient cpu.", sched.INSUFFICIENT),
    # a control-plane taint is never the thing to fix
    ("0/8 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {only-test-pods: yes}, 3 node(s) "
     "didn't match Pod's node affinity/selector, 3 node(s) had untolerated taint {node-role.kubernetes.io/master: }. "
     "preemption: 0/8 nodes are available: 1 No preemption victims found for incoming pod, 7 Preemption is not helpful "
     "for scheduling.", sched.INSUFFICIENT),
    ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: "
     "3 Preemption is not helpful for scheduling.", sched.VOLUME),
    ("0/4 nodes are available: 1 node(s) had volume node affinity conflict, 3 Insufficient memory.", sched.VOLUME),
    ("0/2 nodes are available: 2 node(s) were unschedulable.", sched.UNSCHEDULABLE),
    ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", sched.SELECTOR),
    ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.", sched.AFFINITY),
    ("0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports.", sched.PORTS),
    ("0/3 nodes are available: 3 Too many pods.", sched.INSUFFICIENT),
    # dynamic resource allocation adds a note that is not a reason
    ("0/2 nodes are available: 2 Insufficient cpu, no new claims to deallocate.", sched.INSUFFICIENT),
    (GPU_TAINTED, sched.TAINT),  # without the node list: the taint names the scarce resource
])
def test_the_reason_to_fix_first(message: str, kind: str) -> None:
    verdict = sched.rank(sched.parse(message))
    assert verdict is not None and verdict.kind == kind


def test_a_taint_on_the_nodes_holding_the_resource_outranks_insufficient() -> None:
    nodes = [node("cpu-0"), node("cpu-1"),
             node("gpu-0", gpus="1", taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}])]
    msg = sched.parse("0/3 nodes are available: 2 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint(s).")
    verdict = sched.rank(msg, pod(), nodes)
    assert verdict.kind == sched.TAINT and verdict.taints == ("nvidia.com/gpu=present:NoSchedule",)
    assert "adding nodes would not help" in verdict.why
    tolerant = pod(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    assert sched.rank(msg, tolerant, nodes).kind == sched.INSUFFICIENT  # tolerated: the GPU node is just full


def test_a_selector_that_excludes_the_nodes_holding_the_resource_outranks_insufficient() -> None:
    nodes = [node("cpu-0", labels={"pool": "cpu"}), node("gpu-0", labels={"pool": "gpu"}, gpus="4")]
    msg = sched.parse("0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's node "
                      "affinity/selector.")
    assert sched.rank(msg, pod(selector={"pool": "cpu"}), nodes).kind == sched.SELECTOR
    assert sched.rank(msg, pod(selector={"pool": "gpu"}), nodes).kind == sched.INSUFFICIENT


def test_untolerated_taints_are_read_from_the_nodes_the_selector_picks() -> None:
    taint = {"key": "sagemaker.amazonaws.com/node-health-status", "value": "Unschedulable", "effect": "NoSchedule"}
    nodes = [node("m5", labels={"type": "m5"}),
             node("p5", labels={"type": "p5"}, gpus="8",
                  taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}, taint])]
    msg = sched.parse("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had "
                      "untolerated taint(s).")
    p = pod(selector={"type": "p5"}, tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    verdict = sched.rank(msg, p, nodes)
    assert verdict.kind == sched.TAINT
    assert verdict.taints == ("sagemaker.amazonaws.com/node-health-status=Unschedulable:NoSchedule",)


def test_no_reason_no_verdict() -> None:
    assert sched.rank(sched.parse("")) is None
    assert sched.parse("running PreBind plugin \"VolumeBinding\": binding volumes: timed out").reasons[0].kind == sched.VOLUME


@pytest.mark.parametrize("message,kind,pod_name,role", [
    ('Failed to create head Pod ns/, pods "c-head-mbgdc" is forbidden: exceeded quota: q, requested: limits.cpu=500m, '
     'used: limits.cpu=0, limited: limits.cpu=300m', "quota", "c-head-mbgdc", "head"),
    ('pods "c-head-x" is forbidden: failed quota: q: must specify limits.cpu for: autoscaler', "quota", "c-head-x", "head"),
    ('Failed to create worker Pod ns/, Pod "c-small-group-worker-pm2sh" is invalid: spec.containers[0].resources.requests: '
     'Invalid value: "2": must be less than or equal to cpu limit of 250m', "limitrange", "c-small-group-worker-pm2sh", "worker"),
    ('pods "c-worker-gpu-q" is forbidden: maximum cpu usage per Container is 2, but limit is 4', "limitrange",
     "c-worker-gpu-q", "worker"),
    ('pods "c-head-x7k2n" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false',
     "podsecurity", "c-head-x7k2n", "head"),
    ('pods "c-head-1" is forbidden: unable to validate against any security context constraint: [provider "anyuid": '
     'Forbidden: not usable by user or serviceaccount]', "scc", "c-head-1", "head"),
    ('pods "c-head-" is forbidden: error looking up service account ns/autoscaler-sa: serviceaccount "autoscaler-sa" not found',
     "serviceaccount", "c-head-", "head"),
    ('pods "c-head-2" is forbidden: no PriorityClass with name high was found', "priorityclass", "c-head-2", "head"),
    ('admission webhook "validation.gatekeeper.sh" denied the request: [no-latest] image tag latest is not allowed',
     "webhook", "", ""),
    ('Error creating: pods "job-abcde" is forbidden: exceeded quota: compute', "quota", "job-abcde", ""),
])
def test_refusals_are_recognised_wherever_they_are_written(message: str, kind: str, pod_name: str, role: str) -> None:
    refusal = admission.classify(message)
    assert refusal is not None and refusal.kind == kind
    assert refusal.pod == pod_name and refusal.role("c") == role
    assert refusal.message == message  # whole, as found


def test_a_worker_refusal_names_its_group_in_both_pod_name_styles() -> None:
    new = admission.classify('Pod "c-small-group-worker-pm2sh" is invalid: x: must be less than or equal to cpu limit of 1')
    old = admission.classify('Pod "c-worker-gpu-group-hd7ct" is invalid: x: must be less than or equal to cpu limit of 1')
    assert new.group("c", ["small-group", "gpu-group"]) == "small-group"
    assert old.group("c", ["small-group", "gpu-group"]) == "gpu-group"
    assert admission.classify('serviceaccount "autoscaler-sa" not found').service_account == "autoscaler-sa"


def test_messages_that_are_not_refusals() -> None:
    assert admission.classify("") is None
    assert admission.classify("Created worker Pod ns/c-small-group-worker-x") is None
    assert admission.classify("The RayCluster spec is invalid ns/c: worker group names must be unique") is None
