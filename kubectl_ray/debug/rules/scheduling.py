"""SCH: pods that stay Pending, pods the API server refuses to create, and queues that hold them (§1I).

The scheduler's reason is read from the pod's own `PodScheduled=False` condition (always there, unlike
events, which expire) and from `FailedScheduling` events, then parsed into per-reason node counts and
ranked (scheduler.py): a taint or selector that keeps the pod off the nodes holding the resource it
lacks is what to fix, not "Insufficient". Each of SCH-01..04 and GPU-05 reports the pods whose
first-ranked reason is its own, so one Pending pod gives one finding.

Refusals to create a pod (admission.py) are recognised wherever KubeRay or Kubernetes put them:
events on the RayCluster, the RayJob, the RayService and the submitter Job, the ReplicaFailure
condition, the RayCluster's status.reason and the RayJob's status.message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from kubectl_ray.debug import admission
from kubectl_ray.debug import scheduler as sched
from kubectl_ray.debug.finding import ERROR, INFO, WARNING, Evidence, event_ev, field_ev, note
from kubectl_ray.debug.model import (
    age_seconds, clusters, dig, events_matching, labels_of, latest, name_of, pod_condition, pod_phase, short_age,
    target_object,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import STUCK_AFTER_SECONDS, cluster_finding, finding, pods_summary, roles, scope_of, \
    target_ref
from kubectl_ray.debug.severity import BY_DESIGN, PODS_NOT_CREATED, PODS_NOT_SCHEDULED, STALLED


def unschedulable(cluster, pods: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, dict[str, Any] | None]]:
    """(pod, scheduler message, latest FailedScheduling event) for Pending pods the scheduler rejected."""
    out = []
    for pod in pods:
        if pod_phase(pod) != "Pending":
            continue
        cond = pod_condition(pod, "PodScheduled") or {}
        ev = latest(events_matching(cluster.pod_events(pod), ("FailedScheduling",)))
        message = ""
        if cond.get("status") == "False":
            message = str(cond.get("message") or "")
        if not message and ev is not None:
            message = str(ev.get("message") or "")
        if message:
            out.append((pod, message, ev))
    return out


@dataclass
class Blocked:
    """A Pending pod, what the scheduler said, and what to fix first (scheduler.rank)."""

    pod: dict[str, Any]
    message: str
    event: dict[str, Any] | None
    parsed: sched.SchedulerMessage
    verdict: sched.Verdict | None

    @property
    def kind(self) -> str:
        return self.verdict.kind if self.verdict is not None else sched.OTHER

    @property
    def gpu_taint(self) -> bool:
        """The taint to fix first is the GPU nodes' own (nvidia.com/gpu, amd.com/gpu ...)."""
        if self.kind != sched.TAINT or self.verdict is None:
            return False
        named = [self.verdict.reason.taint or ""] if self.verdict.reason else []
        return any(_gpu_key(t.split(":")[0].split("=")[0]) for t in [*self.verdict.taints, *named] if t)


def _gpu_key(key: str) -> bool:
    key = key.strip().lower()
    return key.endswith("/gpu") or key == "gpu" or "nvidia.com" in key


def blocked(snap, cluster, pods: list[dict[str, Any]]) -> list[Blocked]:
    """Pending pods the scheduler rejected, each with its ranked reason (nodes, when readable, sharpen it)."""
    nodes = snap.items("nodes") if snap.readable("nodes") else None
    out = []
    for pod, message, ev in unschedulable(cluster, pods):
        parsed = sched.parse(message)
        out.append(Blocked(pod, message, ev, parsed, sched.rank(parsed, pod, nodes)))
    return out


def scheduling_evidence(hits: list[Blocked], pods: list[dict[str, Any]], subject: str, label: str) -> list:
    """The scheduler's whole message, its per-reason counts, and why the ranking chose the reason it did."""
    first = hits[0]
    evidence = [field_ev("status.conditions[PodScheduled].message", first.message)]
    if first.event is not None and first.event.get("message") != first.message:
        evidence.append(event_ev(first.event))
    if len(first.parsed.reasons) > 1 or first.parsed.total:
        evidence.append(note(f"per reason: {first.parsed.summary()}"))
    if first.verdict is not None and first.verdict.why:
        evidence.append(note(first.verdict.why))
    if first.verdict is not None and first.verdict.taints:
        evidence.append(note(f"untolerated taints on those nodes: {', '.join(first.verdict.taints)}"))
    if subject != "head":
        evidence.append(note(f"{len(hits)} of {len(pods)} pod(s) of {label} Pending: {pods_summary([h.pod for h in hits])}"))
    evidence += _request_note(first.pod)
    return evidence


def _scheduling_findings(snap, rule_id: str, matches: Callable[[Blocked], bool], title: Callable[[str, Blocked], str],
                         fix: Callable[[Blocked], str] | str, severity: str = ERROR) -> list:
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            hits = [b for b in blocked(snap, cluster, pods) if matches(b)]
            if not hits:
                continue
            out.append(cluster_finding(cluster, rule_id, severity, title(label, hits[0]), obj=f"Pod/{name_of(hits[0].pod)}",
                                       subject=subject, evidence=scheduling_evidence(hits, pods, subject, label),
                                       fix=fix(hits[0]) if callable(fix) else fix))
    return out


def _request_note(pod: dict[str, Any]) -> list:
    """What one pod asks for in total (all containers, and the largest init container), RES-11."""
    from kubectl_ray.resources.quantity import QuantityError, parse_quantity

    totals: dict[str, Any] = {}
    for c in dig(pod, "spec", "containers", default=[]):
        for key, value in dig(c, "resources", "requests", default={}).items():
            try:
                q = parse_quantity(value)
            except QuantityError:
                continue
            totals[key] = totals[key] + q if key in totals else q
    if not totals:
        return []
    shown = ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
    return [note(f"each pod requests {shown} (containers incl. sidecars; wait-gcs-ready adds 200m/256Mi while it runs)")]


def _role(label: str) -> str:
    return "the head" if label == "head" else label


def _reason_text(b: Blocked) -> str:
    return b.verdict.reason.text if b.verdict is not None and b.verdict.reason is not None else b.message


GENERIC = (sched.INSUFFICIENT, sched.UNSCHEDULABLE, sched.PORTS, sched.OTHER)


@rule("SCH-01", "Pending pods fit on a node (cpu, memory, GPU)", policy={ERROR: PODS_NOT_SCHEDULED})
def check_insufficient(snap) -> list:
    def title(label: str, b: Blocked) -> str:
        if b.kind == sched.INSUFFICIENT:
            kinds = sorted({r.resource for r in b.parsed.of_kind(sched.INSUFFICIENT) if r.resource})
            return f"{_role(label)} cannot be scheduled: Insufficient {', '.join(kinds)}"
        return f"{_role(label)} cannot be scheduled: {_reason_text(b)}"

    def fix(b: Blocked) -> str:
        if b.kind == sched.UNSCHEDULABLE:
            return "the nodes are cordoned (kubectl uncordon) or being drained; wait for them or add nodes"
        return ("compare the pod's requests (incl. the autoscaler sidecar) with node allocatable: shrink the pods, add "
                "or enlarge nodes, or enable a cluster autoscaler for this node pool")

    return _scheduling_findings(snap, "SCH-01", lambda b: b.kind in GENERIC, title, fix)


@rule("SCH-02", "Pending pods tolerate the nodes' taints", policy={ERROR: PODS_NOT_SCHEDULED})
def check_taints(snap) -> list:
    def title(label: str, b: Blocked) -> str:
        taint = (b.verdict.taints[0] if b.verdict and b.verdict.taints else
                 b.verdict.reason.taint if b.verdict and b.verdict.reason and b.verdict.reason.taint else "")
        return f"{_role(label)} cannot be scheduled: untolerated taint{' ' + taint if taint else ''}"

    return _scheduling_findings(snap, "SCH-02", lambda b: b.kind == sched.TAINT and not b.gpu_taint, title,
                                "add a matching toleration to the pod template (key, operator: Exists, effect), or "
                                "schedule on other nodes; `kubectl get nodes -o custom-columns=NAME:.metadata.name,"
                                "TAINTS:.spec.taints` shows which nodes carry it")


@rule("SCH-03", "nodeSelector / affinity of Pending pods matches a node", policy={ERROR: PODS_NOT_SCHEDULED})
def check_selectors(snap) -> list:
    out = _scheduling_findings(snap, "SCH-03", lambda b: b.kind in (sched.SELECTOR, sched.AFFINITY),
                               lambda label, b: f"{_role(label)} cannot be scheduled: no node matches its node selector/affinity"
                               if b.kind == sched.SELECTOR else f"{_role(label)} cannot be scheduled: {_reason_text(b)}",
                               "compare the template's nodeSelector/affinity with the node labels "
                               "(kubectl get nodes --show-labels); a node pool may be missing or scaled to zero")
    if out:
        return out
    return _static_selectors(snap)


def _static_selectors(snap) -> list:
    """Pending pods whose nodeSelector no existing node satisfies (needs `list nodes`)."""
    out = []
    for cluster in clusters(snap):
        for subject, label, pods in roles(cluster):
            pending = [p for p in pods if pod_phase(p) == "Pending" and not dig(p, "spec", "nodeName")]
            if not pending:
                continue
            selector = dig(pending[0], "spec", "nodeSelector", default={})
            if not selector:
                continue
            nodes = snap.need("nodes")
            if any(all(labels_of(n).get(k) == v for k, v in selector.items()) for n in nodes):
                continue
            out.append(cluster_finding(cluster, "SCH-03", ERROR, f"no node matches the nodeSelector of {_role(label)}",
                                       obj=f"Pod/{name_of(pending[0])}", subject=subject,
                                       evidence=[field_ev("spec.nodeSelector", ", ".join(f"{k}={v}" for k, v in selector.items())),
                                                 note(f"none of the {len(nodes)} node(s) has these labels")],
                                       fix="fix the nodeSelector or create the node pool it points at"))
    return out


@rule("SCH-04", "Pending pods' PersistentVolumeClaims are bound", policy={ERROR: PODS_NOT_SCHEDULED})
def check_pvcs(snap) -> list:
    return _scheduling_findings(snap, "SCH-04", lambda b: b.kind == sched.VOLUME,
                                lambda label, b: f"{_role(label)} waits for a PersistentVolumeClaim to be bound"
                                if "unbound" in b.message.lower() or "PersistentVolumeClaim" in b.message
                                else f"{_role(label)} cannot be scheduled: {_reason_text(b)}",
                                "kubectl get pvc: a claim stays Pending without a (default) StorageClass or when its "
                                "volume is in another zone")


@rule("SCH-05", "pods are not held back by a gang scheduler or suspension", policy={WARNING: STALLED, INFO: BY_DESIGN})
def check_gang(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.suspended:
            out.append(cluster_finding(cluster, "SCH-05", INFO, "the cluster is suspended: no pods run until it is resumed",
                                       evidence=[field_ev(cluster.path("suspend"), True)],
                                       fix="a queue (e.g. Kueue) resumes it when admitted; otherwise set spec.suspend: false"))
            continue
        for subject, label, pods in roles(cluster):
            stuck = [p for p in pods if pod_phase(p) == "Pending" and not dig(p, "spec", "nodeName")
                     and (dig(p, "spec", "schedulerName") or "default-scheduler") != "default-scheduler"
                     and (age_seconds(snap, dig(p, "metadata", "creationTimestamp")) or 0) > STUCK_AFTER_SECONDS]
            if not stuck:
                continue
            scheduler = dig(stuck[0], "spec", "schedulerName")
            age = age_seconds(snap, dig(stuck[0], "metadata", "creationTimestamp"))
            out.append(cluster_finding(cluster, "SCH-05", WARNING, f"{_role(label)} waits for scheduler {scheduler}",
                                       obj=f"Pod/{name_of(stuck[0])}", subject=subject,
                                       evidence=[field_ev("spec.schedulerName", scheduler),
                                                 note(f"{len(stuck)} pod(s) Pending for {short_age(age)}")],
                                       fix="gang schedulers start no pod until the whole cluster fits: check the queue/"
                                           "PodGroup status and that the cluster's total requests fit the queue's quota"))
    return out


_POD_WORD = re.compile(r"\bpods?\b", re.I)
# Events that carry the operator's own validation or another rule's subject, not an API server refusal.
NOT_REFUSALS = ("InvalidRayClusterSpec", "InvalidRayClusterMetadata", "InvalidRayClusterStatus", "InvalidRayJobSpec",
                "InvalidRayJobMetadata", "InvalidRayServiceSpec", "InvalidRayServiceMetadata", "FailedScheduling")


@dataclass
class Refused:
    refusal: admission.Refusal
    evidence: Evidence
    subject: str  # head | group:<name> | submitter | cluster
    label: str  # "the head", "workers of group x", ...


def refusals(snap, cluster) -> list[Refused]:
    """Every API-server refusal to create a pod of this cluster (or the RayJob's submitter), newest first."""
    groups = [g.name for g in cluster.groups]
    found: list[tuple[str, Evidence, str, str]] = []  # (message, evidence, hint, when)
    failure = cluster.condition("ReplicaFailure")
    if failure and failure.get("status") == "True":
        found.append((str(failure.get("message", "")), field_ev("status.conditions[ReplicaFailure].message",
                                                                 failure.get("message", "")),
                      str(failure.get("reason", "")), str(failure.get("lastTransitionTime", ""))))
    reason = cluster.status.get("reason")
    if reason:
        found.append((str(reason), field_ev(f"{cluster.ref} status.reason", reason), "", ""))
    events = list(cluster.events())
    obj = target_object(snap)
    if obj is not None and cluster.obj is not None:
        events += snap.events_for(snap.target.namespace, snap.target.kind, snap.target.name)
    if snap.target.kind == "RayJob":
        events += snap.events_for(snap.target.namespace, "Job", snap.target.name)
        message = dig(obj, "status", "message")
        if message:
            found.append((str(message), field_ev("status.message", message), "", ""))
    for ev in events:
        if ev.get("type") == "Warning" and ev.get("reason") not in NOT_REFUSALS:
            found.append((str(ev.get("message", "")), event_ev(ev), str(ev.get("reason", "")),
                          str(ev.get("lastTimestamp") or ev.get("eventTime") or "")))
    out: list[Refused] = []
    seen: set[tuple[str, str]] = set()
    for message, evidence, hint, _ in sorted(found, key=lambda f: f[3], reverse=True):
        refusal = admission.classify(message)
        if refusal is None or not (refusal.pod or _POD_WORD.search(message)):
            continue  # a refusal of something else (an Ingress, a Service): not this rule's
        subject, label = _refused_role(refusal, hint, cluster.name, groups, evidence)
        if (subject, refusal.kind) in seen:
            continue
        seen.add((subject, refusal.kind))
        out.append(Refused(refusal, evidence, subject, label))
    return out


def _refused_role(refusal: admission.Refusal, hint: str, cluster: str, groups: list[str], evidence: Evidence) -> tuple[str, str]:
    role = refusal.role(cluster)
    if role == "head" or "Head" in hint:
        return "head", "the head"
    if role == "worker" or "Worker" in hint:
        group = refusal.group(cluster, groups)
        return (f"group:{group}", f"workers of group {group}") if group else ("cluster", "worker pods")
    if "Job/" in evidence.where or hint == "FailedCreate":
        return "submitter", "the job submitter"
    return "cluster", "Ray pods"


FIXES = {
    "quota": "the namespace ResourceQuota has no room: raise it or shrink the pods (count the autoscaler sidecar "
             "500m/512Mi and the wait-gcs-ready init container 200m/256Mi too); a quota on limits.* also requires "
             "every container, sidecars included, to set those limits",
    "limitrange": "a LimitRange in the namespace bounds container resources: its defaults apply to containers that set "
                  "no limit (a CPU request above the default limit is invalid): set explicit limits (>= requests) "
                  "on every container, or change the LimitRange",
    "podsecurity": "the namespace enforces a Pod Security level: set the securityContext the message lists on every "
                   "container (runAsNonRoot, allowPrivilegeEscalation: false, capabilities.drop [ALL], seccompProfile "
                   "RuntimeDefault), or label the namespace with a lower pod-security.kubernetes.io/enforce level",
    "scc": "grant the pods' ServiceAccount an OpenShift SecurityContextConstraints that allows them (oc adm policy "
           "add-scc-to-user ...), or make the pod templates comply with restricted-v2",
    "serviceaccount": "create the ServiceAccount the pod template names (serviceAccountName), or remove the field",
    "priorityclass": "create the PriorityClass the pod template names (priorityClassName), or remove the field",
    "webhook": "an admission webhook or policy engine (Gatekeeper, Kyverno ...) refused the pod: make the template "
               "comply with the rule it names, or exempt the namespace",
    "invalid": "the API server rejects the pod template as invalid: fix the field the message names",
    "forbidden": "an admission check refused the pod: the message names it",
}


@rule("SCH-06", "the API server accepts the Ray pods (quota, LimitRange, PodSecurity, webhooks)", uses=("events",),
      policy={ERROR: PODS_NOT_CREATED})
def check_admission(snap) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None and snap.target.kind != "RayJob":
            continue
        for item in refusals(snap, cluster):
            r = item.refusal
            if r.kind == "serviceaccount" and cluster.autoscaling and \
                    r.service_account == cluster.head_template_spec.get("serviceAccountName"):
                continue  # the autoscaler's ServiceAccount: AS-03
            evidence = [item.evidence, *_admission_context(snap, cluster, r)]
            out.append(cluster_finding(cluster, "SCH-06", ERROR, f"{r.who} refuses to create {item.label}",
                                       subject=item.subject, evidence=evidence, fix=FIXES[r.kind]))
    return out


def _admission_context(snap, cluster, refusal: admission.Refusal) -> list:
    """The namespace objects behind a refusal: LimitRanges, ResourceQuotas, Pod Security labels."""
    ns = cluster.namespace
    out: list = []
    if refusal.kind == "limitrange":
        for lr in snap.items("limitranges", ns)[:3]:
            for item in dig(lr, "spec", "limits", default=[]):
                parts = [f"{k} {_quantities(item.get(k))}" for k in ("default", "defaultRequest", "max", "min") if item.get(k)]
                out.append(field_ev(f"LimitRange/{name_of(lr)} spec.limits[type={item.get('type')}]", "; ".join(parts)))
    elif refusal.kind == "quota":
        for q in snap.items("resourcequotas", ns)[:3]:
            out.append(field_ev(f"ResourceQuota/{name_of(q)} status", f"hard {_quantities(dig(q, 'status', 'hard'))}; "
                                                                      f"used {_quantities(dig(q, 'status', 'used'))}"))
    elif refusal.kind == "podsecurity":
        labels = {k: v for k, v in labels_of(snap.get("namespaces", None, ns)).items() if k.startswith("pod-security.")}
        if labels:
            out.append(field_ev(f"Namespace/{ns} metadata.labels", ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))))
    return out


def _quantities(values: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in (values or {}).items()) or "<none>"


# --- Kueue ---------------------------------------------------------------------------------------

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
NEVER_FITS = ("maximum capacity", "insufficient quota for", "doesn't exist", "does not exist", "is inactive")


def _condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in dig(obj, "status", "conditions", default=[]) if c.get("type") == ctype), None)


def _admitted(workload: dict[str, Any]) -> bool:
    return (_condition(workload, "Admitted") or {}).get("status") == "True" or bool(dig(workload, "status", "admission"))


def _owned_by(obj: dict[str, Any], kind: str, name: str) -> bool:
    return any(o.get("kind") == kind and o.get("name") == name for o in dig(obj, "metadata", "ownerReferences", default=[]))


@rule("SCH-07", "a Kueue queue admits the workload", policy={ERROR: PODS_NOT_SCHEDULED, INFO: BY_DESIGN})
def check_kueue(snap) -> list:
    obj = target_object(snap)
    if obj is None:
        return []
    views = clusters(snap)
    scope = scope_of(views[0]) if views else ""
    ns, kind, name = snap.target.namespace, snap.target.kind, snap.target.name
    queue = labels_of(obj).get(QUEUE_LABEL) or next((labels_of(c.obj).get(QUEUE_LABEL) for c in views
                                                    if c.obj is not None and labels_of(c.obj).get(QUEUE_LABEL)), None)
    if not queue:
        return []

    def result(severity: str, title: str, evidence: list, fix: str, ref: str | None = None):
        return [finding("SCH-07", severity, title, ref or target_ref(snap), scope=scope, subject="cluster",
                        evidence=[field_ev(f"metadata.labels[{QUEUE_LABEL}]", queue), *evidence], fix=fix)]

    if snap.meta.get("kueue") is None:  # Kueue's API is not served (or was not looked up)
        if "workloads" in snap.collected and not snap.forbidden_for("workloads", ns) and dig(obj, "spec", "suspend") is True:
            return result(ERROR, "the object waits for Kueue, but the cluster does not serve Kueue's API",
                          [field_ev("spec.suspend", True), note("GET /apis/kueue.x-k8s.io: not served")],
                          "install Kueue (and enable its RayJob/RayCluster integration), or remove the queue label "
                          "and set spec.suspend: false")
        return []
    if not snap.readable("workloads", ns):
        return []
    workloads = snap.items("workloads", ns)
    mine = [w for w in workloads if _owned_by(w, kind, name)]
    cluster_wls = [(c, w) for c in views if c.obj is not None for w in workloads
                   if _owned_by(w, "RayCluster", c.name) and kind != "RayCluster"]
    # a RayCluster created by an admitted RayJob/RayService queued a second time (it copied the queue label)
    for c, w in cluster_wls:
        if not _admitted(w) and any(_admitted(m) for m in mine):
            return result(ERROR, f"RayCluster {c.name} waits for a second Kueue admission: it carries the queue label "
                                 f"of its admitted {kind}",
                          [field_ev(f"RayCluster/{c.name} metadata.labels[{QUEUE_LABEL}]", labels_of(c.obj).get(QUEUE_LABEL)),
                           field_ev(f"Workload/{name_of(mine[0])}", "admitted"),
                           *_pending_evidence(w), field_ev(f"RayCluster/{c.name} spec.suspend", c.spec.get("suspend"))],
                          f"the {kind}'s admission covers its cluster: remove {QUEUE_LABEL} from the RayCluster (KubeRay "
                          "versions that copy the RayJob's labels to the cluster do this; upgrade KubeRay) so Kueue "
                          "does not hold it", ref=c.ref)
    pending = [w for w in mine if not _admitted(w)]
    queues = [name_of(q) for q in snap.items("localqueues", ns)] if snap.readable("localqueues", ns) else None
    if queues is not None and queue not in queues and (pending or (not mine and dig(obj, "spec", "suspend") is True)):
        return result(ERROR, f"LocalQueue {queue} does not exist in namespace {ns}",
                      _pending_evidence(pending[0]) if pending else [],
                      f"create LocalQueue {queue} (pointing at a ClusterQueue) or fix the label")
    if not pending:
        return []
    w = pending[0]
    message = _pending_message(w)
    since = age_seconds(snap, dig(w, "metadata", "creationTimestamp"))
    if any(p in message for p in NEVER_FITS):
        return result(ERROR, "Kueue will never admit the workload as it is",
                      [*_pending_evidence(w), note(f"pending for {short_age(since)}")],
                      "shrink the request (replicas, per-pod resources) to fit the ClusterQueue's nominal quota (plus "
                      "what it may borrow), or make a ResourceFlavor match the pods' node selectors/tolerations")
    return result(INFO, f"queued in Kueue LocalQueue {queue}: waiting for quota", [*_pending_evidence(w),
                  note(f"pending for {short_age(since)}")],
                  "Kueue admits it when its ClusterQueue has room; kubectl get workloads shows the queue")


def _pending_message(workload: dict[str, Any]) -> str:
    for ctype in ("QuotaReserved", "Admitted", "Evicted", "Pending"):
        cond = _condition(workload, ctype)
        if cond and cond.get("message") and (cond.get("status") == "False" or ctype == "Evicted"):
            return str(cond["message"])
    return ""


def _pending_evidence(workload: dict[str, Any]) -> list:
    out = []
    for ctype in ("QuotaReserved", "Admitted"):
        cond = _condition(workload, ctype)
        if cond and cond.get("status") == "False":
            out.append(field_ev(f"Workload/{name_of(workload)} status.conditions[{ctype}]",
                                f"False {cond.get('reason', '')}: {cond.get('message', '')}".strip(": ")))
            break
    if not out:
        out.append(field_ev(f"Workload/{name_of(workload)} status.admission", "<none>"))
    return out
