"""JOB: RayJob deployment states, submitters and clean-up settings (diagnostics.md §1L, §2.2)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import ERROR, INFO, RAYJOB_DOC, WARNING, event_ev, field_ev, log_ev, note
from kubectl_ray.debug.model import (
    SUBMITTER_CONTAINER, age_seconds, clusters, container_status, current_termination, dig, events_matching, labels_of,
    latest, name_of, short_age, target_object,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import finding, scope_of, target_ref
from kubectl_ray.debug.severity import (
    BY_DESIGN, DEGRADED, IGNORED_CONFIG, MISSING_DEPENDENCY, NOT_RECONCILED, STALLED, WORKLOAD_FAILED,
)
from kubectl_ray.debug.snapshot import Snapshot

LONG_INIT = 600  # ten minutes in Initializing is longer than any image pull and cluster start should take


def _job(snap: Snapshot) -> dict[str, Any] | None:
    return target_object(snap) if snap.target.kind == "RayJob" else None


def _status(job: dict[str, Any]) -> dict[str, Any]:
    return dig(job, "status", default={})


def _job_finding(snap: Snapshot, rule_id: str, severity: str, title: str, **kwargs: Any):
    cl = clusters(snap)
    return finding(rule_id, severity, title, target_ref(snap), scope=scope_of(cl[0]) if cl else "", subject="cluster",
                   doc=RAYJOB_DOC, **kwargs)


def _status_evidence(job: dict[str, Any]) -> list:
    st = _status(job)
    out = [field_ev("status.jobDeploymentStatus", st.get("jobDeploymentStatus", ""))]
    if st.get("jobStatus"):
        out.append(field_ev("status.jobStatus", st["jobStatus"]))
    if st.get("reason"):
        out.append(field_ev("status.reason", st["reason"]))
    if st.get("message"):
        out.append(field_ev("status.message", str(st["message"])))
    return out


@rule("JOB-01", "the RayJob passed the operator's validation", aliases=("OP-05",), policy={ERROR: NOT_RECONCILED})
def check_job_validation(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None or _status(job).get("jobDeploymentStatus") != "ValidationFailed":
        return []
    return [_job_finding(snap, "JOB-01", ERROR, f"the operator rejected the RayJob: {_status(job).get('message', '')}",
                         evidence=_status_evidence(job), aliases=("OP-05",),
                         fix="fix the field the message names and re-apply")]


@rule("JOB-02", "the RayJob does not hang in Initializing", policy={ERROR: WORKLOAD_FAILED, WARNING: STALLED})
def check_initializing(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None:
        return []
    st = _status(job)
    if st.get("reason") == "PreRunningDeadlineExceeded":
        return [_job_finding(snap, "JOB-02", ERROR, "the RayJob gave up: its cluster was not ready before preRunningDeadlineSeconds",
                             evidence=_status_evidence(job) + [field_ev("spec.preRunningDeadlineSeconds", dig(job, "spec", "preRunningDeadlineSeconds"))],
                             fix="find out why the cluster did not start (head, images, scheduling) or raise the deadline")]
    if st.get("jobDeploymentStatus") != "Initializing":
        return []
    since = age_seconds(snap, st.get("startTime") or dig(job, "metadata", "creationTimestamp"))
    if since is None or since < LONG_INIT:
        return []
    return [_job_finding(snap, "JOB-02", WARNING, f"the RayJob has been Initializing for {short_age(since)}",
                         evidence=_status_evidence(job) + [field_ev("status.rayClusterName", st.get("rayClusterName"))],
                         fix="the RayCluster is not ready yet: the cluster findings say why")]


@rule("JOB-03", "an InteractiveMode RayJob waits for its submission", policy={ERROR: NOT_RECONCILED, INFO: BY_DESIGN})
def check_interactive(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None or dig(job, "spec", "submissionMode") != "InteractiveMode":
        return []
    out = []
    if (dig(job, "spec", "backoffLimit") or 0) > 0:
        out.append(_job_finding(snap, "JOB-03", ERROR, "InteractiveMode does not allow backoffLimit > 0",
                                evidence=[field_ev("spec.backoffLimit", dig(job, "spec", "backoffLimit"))],
                                fix="set backoffLimit: 0 (the operator rejects it otherwise)"))
    if _status(job).get("jobDeploymentStatus") == "Waiting":
        out.append(_job_finding(snap, "JOB-03", INFO, "the RayJob waits for you to submit the job (InteractiveMode)",
                                evidence=_status_evidence(job),
                                fix="submit it (kubectl ray job submit) and set spec.jobId to the submission id"))
    return out


SUBMITTER_LABELS = ("batch.kubernetes.io/job-name", "job-name")
# exit codes a retry cannot fix: the shell could not find (127) or run (126) the command
HOPELESS_EXITS = {126: "the command is not executable", 127: "command not found"}


def submitter_pods(snap: Snapshot) -> list[dict[str, Any]]:
    """The pods of the RayJob's submitter batch Job, oldest first."""
    name = snap.target.name
    pods = [p for p in snap.items("pods", snap.target.namespace)
            if any(labels_of(p).get(k) == name for k in SUBMITTER_LABELS)
            and any(o.get("kind") == "Job" for o in dig(p, "metadata", "ownerReferences", default=[]))]
    return sorted(pods, key=lambda p: str(dig(p, "metadata", "creationTimestamp", default="")))


def _exit(pod: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(container name, its termination) for a failed submitter pod."""
    for st in dig(pod, "status", "containerStatuses", default=[]):
        term = current_termination(st) or dig(st, "lastState", "terminated", default={})
        if term and term.get("exitCode") not in (0, None):
            return st.get("name", ""), term
    return "", {}


def _log_tail(text: str) -> str:
    """The part of a submitter log that says what failed: the last traceback, else the last lines."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call last)")]
    return "\n".join(lines[starts[-1]:] if starts else lines[-5:])


@rule("JOB-04", "the submitter Job (K8sJobMode) succeeded", uses=("events",),
      policy={ERROR: WORKLOAD_FAILED, WARNING: DEGRADED})
def check_submitter_job(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None or dig(job, "spec", "submissionMode", default="K8sJobMode") != "K8sJobMode":
        return []
    st = _status(job)
    evidence = []
    terminal = st.get("reason") == "SubmissionFailed"
    if terminal:
        evidence += _status_evidence(job)
    k8s_job = snap.get("jobs", snap.target.namespace, snap.target.name)
    failed = next((c for c in dig(k8s_job, "status", "conditions", default=[])
                   if c.get("type") == "Failed" and c.get("status") == "True"), None)
    if failed is not None:
        terminal = True
        evidence.append(field_ev(f"Job/{snap.target.name} status.conditions[Failed]",
                                 f"{failed.get('reason', '')}: {failed.get('message', '')}".strip(": ")))
    ev = latest(events_matching(snap.events_for(snap.target.namespace, "RayJob", snap.target.name), ("FailedToCreateRayJobSubmitter",)))
    if ev is not None:
        terminal = True
        evidence.append(event_ev(ev))
    pods = submitter_pods(snap)
    failed_pods = [p for p in pods if dig(p, "status", "phase") == "Failed"]
    hopeless = ""
    title = "the job submitter failed"
    if failed_pods:
        last = failed_pods[-1]
        container, term = _exit(last)
        code = term.get("exitCode")
        evidence.append(field_ev(f"Pod/{name_of(last)} status.containerStatuses[{container}].state.terminated",
                                 f"{term.get('reason', '')} exit {code}".strip()))
        evidence.append(note(f"{len(failed_pods)} of {len(pods)} submitter pod(s) failed"))
        tails = [t for t in snap.logs_for(snap.target.namespace, name_of(last), container) if t.text.strip()]
        if tails:
            evidence.append(log_ev(name_of(last), container, _log_tail(tails[0].text)))
        if code in HOPELESS_EXITS:
            hopeless = HOPELESS_EXITS[code]
            image = next((c.get("image", "") for c in dig(last, "spec", "containers", default=[]) if c.get("name") == container), "")
            title = f"the job submitter cannot run: {hopeless} (exit {code}) in image {image}"
        else:
            title = f"the job submitter failed (exit {code})"
    if not evidence:
        return []
    if not terminal and not hopeless:
        return [_job_finding(snap, "JOB-04", WARNING, f"{title}; the submitter Job retries", evidence=evidence,
                             fix="a submitter that starts before the dashboard answers fails once and is retried "
                                 "(submitterConfig.backoffLimit, default 2); if it keeps failing, read its log: "
                                 f"kubectl logs job/{snap.target.name}")]
    fix = (f"the submitter image must contain the Ray CLI (`ray job submit`): use a Ray image for "
           "submitterPodTemplate, or the same image as the head" if hopeless else
           f"read the submitter's log: kubectl logs job/{snap.target.name} (container {SUBMITTER_CONTAINER}); it waits "
           "for /api/gcs_healthz, then runs ray job submit; retries follow submitterConfig.backoffLimit (default 2)")
    return [_job_finding(snap, "JOB-04", ERROR, title, evidence=evidence, fix=fix)]


@rule("JOB-05", "the SidecarMode submitter works", policy={ERROR: WORKLOAD_FAILED})
def check_sidecar_mode(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None or dig(job, "spec", "submissionMode") != "SidecarMode":
        return []
    out = []
    conflicts = [k for k in ("submitterPodTemplate", "submitterConfig", "clusterSelector") if dig(job, "spec", k)]
    if conflicts:
        out.append(_job_finding(snap, "JOB-05", ERROR, f"SidecarMode cannot be used with {', '.join(conflicts)}",
                                evidence=[field_ev(f"spec.{k}", "set") for k in conflicts],
                                fix="remove them: in SidecarMode the submitter is a container of the head pod"))
    for cluster in clusters(snap):
        policy = cluster.head_template_spec.get("restartPolicy")
        if policy not in (None, "Never"):
            out.append(_job_finding(snap, "JOB-05", ERROR, "SidecarMode needs the head's restartPolicy Never",
                                    evidence=[field_ev(cluster.path("headGroupSpec.template.spec.restartPolicy"), policy)],
                                    fix="set restartPolicy: Never (or leave it unset)"))
        head = cluster.head_pod
        sub = container_status(head, SUBMITTER_CONTAINER) if head is not None else None
        term = current_termination(sub) or dig(sub, "lastState", "terminated", default={})
        if term and term.get("exitCode") not in (0, None):
            out.append(_job_finding(snap, "JOB-05", ERROR, f"the {SUBMITTER_CONTAINER} container exited with code {term.get('exitCode')}",
                                    evidence=[field_ev(f"status.containerStatuses[{SUBMITTER_CONTAINER}].state.terminated",
                                                       f"{term.get('reason', '')} exit {term.get('exitCode')}")] + _status_evidence(job),
                                    fix=f"read it: kubectl logs {name_of(head)} -c {SUBMITTER_CONTAINER}"))
    if not out and _status(job).get("reason") == "SubmissionFailed":
        out.append(_job_finding(snap, "JOB-05", ERROR, "the sidecar submitter failed", evidence=_status_evidence(job),
                                fix=f"read the {SUBMITTER_CONTAINER} container's log on the head pod"))
    return out


@rule("JOB-06", "the Ray job itself did not fail", policy={ERROR: WORKLOAD_FAILED})
def check_app_failed(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None:
        return []
    st = _status(job)
    message = str(st.get("message") or "")
    if not (st.get("reason") == "AppFailed" or (st.get("jobStatus") == "FAILED" and st.get("reason") in (None, "", "AppFailed"))
            or "Ray job not found in RayCluster" in message):
        return []
    return [_job_finding(snap, "JOB-06", ERROR, "the Ray job failed", evidence=_status_evidence(job),
                         fix=f"fetch the driver logs before the cluster is deleted: kubectl ray job logs {snap.target.name} "
                             "(or the dashboard); the message above is Ray's")]


@rule("JOB-07", "the RayJob did not pass its activeDeadlineSeconds", policy={ERROR: WORKLOAD_FAILED})
def check_deadline(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None or _status(job).get("reason") != "DeadlineExceeded":
        return []
    return [_job_finding(snap, "JOB-07", ERROR, "the RayJob ran past activeDeadlineSeconds and was stopped",
                         evidence=_status_evidence(job) + [field_ev("spec.activeDeadlineSeconds", dig(job, "spec", "activeDeadlineSeconds"))],
                         fix="raise activeDeadlineSeconds or make the job faster; deadline failures are not retried")]


@rule("JOB-08", "the RayJob is not retrying", policy={WARNING: DEGRADED})
def check_retrying(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None:
        return []
    st = _status(job)
    failed = st.get("failed") or 0
    if st.get("jobDeploymentStatus") != "Retrying" and not (failed and st.get("jobDeploymentStatus") not in ("Failed", "Complete")):
        return []
    return [_job_finding(snap, "JOB-08", WARNING, f"the RayJob is retrying ({failed} failed attempt(s) of backoffLimit {dig(job, 'spec', 'backoffLimit', default=0)})",
                         evidence=_status_evidence(job) + [field_ev("status.failed", failed), field_ev("status.succeeded", st.get("succeeded", 0))],
                         fix="each retry creates a new RayCluster: look at why the previous attempt failed (status.message)")]


@rule("JOB-09", "the operator can reach the job's dashboard", policy={ERROR: WORKLOAD_FAILED})
def check_status_timeout(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None:
        return []
    reason = _status(job).get("reason")
    if reason not in ("JobDeploymentStatusTransitionGracePeriodExceeded", "JobStatusCheckTimeoutExceeded"):
        return []
    return [_job_finding(snap, "JOB-09", ERROR, f"the operator gave up waiting for the job's status ({reason})",
                         evidence=_status_evidence(job),
                         fix="the dashboard (8265) was unreachable or the submitter stuck for the grace period (300 s by "
                             "default): check the head and NET-03")]


@rule("JOB-10", "the cluster a clusterSelector names exists", uses=("events",), policy={ERROR: MISSING_DEPENDENCY})
def check_cluster_selector(snap: Snapshot) -> list:
    job = _job(snap)
    selector = dig(job, "spec", "clusterSelector") if job else None
    if not selector:
        return []
    name = selector.get("ray.io/cluster")
    evidence = []
    ev = latest(events_matching(snap.events_for(snap.target.namespace, "RayJob", snap.target.name), ("RayClusterNotFound",)))
    if ev is not None:
        evidence.append(event_ev(ev))
    if name and snap.is_absent("rayclusters", snap.target.namespace, name):
        evidence.append(note(f'RayCluster "{name}" not found in namespace "{snap.target.namespace}"'))
    if not evidence:
        return []
    out = [_job_finding(snap, "JOB-10", ERROR, f"the RayCluster {name or '?'} named by clusterSelector does not exist",
                        evidence=[field_ev("spec.clusterSelector[ray.io/cluster]", name), *evidence],
                        fix="create the cluster first (the operator does not create it in this mode) or fix the selector")]
    forbidden = [k for k in ("suspend", "backoffLimit") if dig(job, "spec", k)]
    if forbidden:
        out[0].evidence.append(note(f"clusterSelector also forbids {', '.join(forbidden)}"))
    return out


@rule("JOB-11", "a suspended RayJob is set up to be suspended", policy={ERROR: NOT_RECONCILED, INFO: BY_DESIGN})
def check_suspended(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None:
        return []
    out = []
    if dig(job, "spec", "suspend") is True and dig(job, "spec", "shutdownAfterJobFinishes") is not True:
        out.append(_job_finding(snap, "JOB-11", ERROR, "suspend needs shutdownAfterJobFinishes: true",
                                evidence=[field_ev("spec.suspend", True), field_ev("spec.shutdownAfterJobFinishes", dig(job, "spec", "shutdownAfterJobFinishes"))],
                                fix="set shutdownAfterJobFinishes: true (the operator rejects it otherwise)"))
    state = _status(job).get("jobDeploymentStatus")
    if state in ("Suspending", "Suspended"):
        out.append(_job_finding(snap, "JOB-11", INFO, f"the RayJob is {state}", evidence=_status_evidence(job),
                                fix="a queue such as Kueue resumes it when admitted; or set spec.suspend: false"))
    return out


@rule("JOB-12", "clean-up settings are consistent", policy={ERROR: NOT_RECONCILED, WARNING: IGNORED_CONFIG, INFO: BY_DESIGN})
def check_cleanup(snap: Snapshot) -> list:
    job = _job(snap)
    if job is None:
        return []
    spec = dig(job, "spec", default={})
    out = []
    ttl = spec.get("ttlSecondsAfterFinished") or 0
    if spec.get("shutdownAfterJobFinishes") is not True and ttl > 0:
        out.append(_job_finding(snap, "JOB-12", ERROR, "ttlSecondsAfterFinished needs shutdownAfterJobFinishes: true",
                                evidence=[field_ev("spec.ttlSecondsAfterFinished", ttl),
                                          field_ev("spec.shutdownAfterJobFinishes", spec.get("shutdownAfterJobFinishes"))],
                                fix="set shutdownAfterJobFinishes: true or drop the TTL (the operator rejects it)"))
    strategy = dig(spec, "deletionStrategy", default={})
    legacy = [k for k in ("onSuccess", "onFailure") if k in strategy]
    if legacy:
        out.append(_job_finding(snap, "JOB-12", WARNING, "deletionStrategy uses the deprecated onSuccess/onFailure",
                                evidence=[field_ev(f"spec.deletionStrategy.{k}", "set") for k in legacy],
                                fix="use deletionStrategy.deletionRules"))
    if spec.get("shutdownAfterJobFinishes") is True and ttl == 0 and not legacy and not strategy:
        out.append(_job_finding(snap, "JOB-12", INFO, "the cluster and its logs are deleted as soon as the job finishes",
                                evidence=[field_ev("spec.shutdownAfterJobFinishes", True), field_ev("spec.ttlSecondsAfterFinished", ttl)],
                                fix="set ttlSecondsAfterFinished to keep the cluster around long enough to read logs"))
    return out
