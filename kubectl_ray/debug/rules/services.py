"""SVC: RayService conditions, Serve applications and upgrades (diagnostics.md §1M, §2.3)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import ERROR, INFO, RAYSERVICE_DOC, WARNING, event_ev, field_ev, note
from kubectl_ray.debug.model import (
    age_seconds, clusters, dig, events_matching, labels_of, latest, name_of, pod_phase, pod_ready, short_age, target_object,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import finding, pods_summary, scope_of, target_ref
from kubectl_ray.debug.severity import BY_DESIGN, IGNORED_CONFIG, NOT_RECONCILED, STALLED, WORKLOAD_FAILED
from kubectl_ray.debug.snapshot import Snapshot

LONG_UPGRADE = 1800
LONG_INIT = 600


def _service(snap: Snapshot) -> dict[str, Any] | None:
    return target_object(snap) if snap.target.kind == "RayService" else None


def _cond(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in dig(obj, "status", "conditions", default=[]) if c.get("type") == ctype), None)


def _cond_ev(cond: dict[str, Any]) -> Any:
    return field_ev(f"status.conditions[{cond.get('type')}]",
                    f"{cond.get('status')} {cond.get('reason', '')}: {cond.get('message', '')}".strip(": "))


def _svc_finding(snap: Snapshot, rule_id: str, severity: str, title: str, *, role: str = "active", **kwargs: Any):
    cl = clusters(snap)
    chosen = next((c for c in cl if c.role == role), cl[0] if cl else None)
    return finding(rule_id, severity, title, target_ref(snap), scope=scope_of(chosen) if chosen else "",
                   subject="cluster", doc=RAYSERVICE_DOC, **kwargs)


@rule("SVC-01", "the RayService is not stuck initializing", policy={WARNING: STALLED})
def check_initializing(snap: Snapshot) -> list:
    svc = _service(snap)
    ready = _cond(svc, "Ready") if svc else None
    if not ready or ready.get("status") != "False" or ready.get("reason") != "Initializing":
        return []
    since = age_seconds(snap, ready.get("lastTransitionTime") or dig(svc, "metadata", "creationTimestamp"))
    if since is None or since < LONG_INIT:
        return []
    pending = dig(svc, "status", "pendingServiceStatus", "applicationStatuses", default={}) or \
        dig(svc, "status", "activeServiceStatus", "applicationStatuses", default={})
    evidence = [_cond_ev(ready), note(f"initializing for {short_age(since)}")]
    evidence += [field_ev(f"applicationStatuses[{app}].status", st.get("status")) for app, st in list(pending.items())[:3]]
    return [_svc_finding(snap, "SVC-01", WARNING, f"the RayService has been initializing for {short_age(since)}",
                         role="pending", evidence=evidence,
                         fix="the cluster is not ready or the Serve apps are still deploying: see the cluster findings "
                             "and applicationStatuses")]


@rule("SVC-02", "the RayService did not hit its initializing timeout", policy={ERROR: WORKLOAD_FAILED})
def check_init_timeout(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    ready = _cond(svc, "Ready")
    evidence = []
    if ready and ready.get("reason") == "InitializingTimeout":
        evidence.append(_cond_ev(ready))
    ev = latest(events_matching(snap.events_for(snap.target.namespace, "RayService", snap.target.name), ("RayServiceInitializingTimeout",)))
    if ev is not None:
        evidence.append(event_ev(ev))
    if not evidence:
        return []
    timeout = dig(svc, "metadata", "annotations", "ray.io/initializing-timeout")
    return [_svc_finding(snap, "SVC-02", ERROR, "the RayService timed out initializing (terminal)",
                         evidence=evidence + [field_ev("metadata.annotations[ray.io/initializing-timeout]", timeout)],
                         fix="updating the spec does not retry: delete and recreate the RayService after fixing the cause")]


@rule("SVC-03", "the RayService has serve endpoints", policy={ERROR: WORKLOAD_FAILED})
def check_serve_endpoints(snap: Snapshot) -> list:
    svc = _service(snap)
    ready = _cond(svc, "Ready") if svc else None
    if not ready or ready.get("reason") != "ZeroServeEndpoints":
        return []
    return [_svc_finding(snap, "SVC-03", ERROR, "no pod serves traffic (zero serve endpoints)",
                         evidence=[_cond_ev(ready), field_ev("status.numServeEndpoints", dig(svc, "status", "numServeEndpoints", default=0))],
                         fix="pods get ray.io/serve=true only while their Serve proxy passes the readiness check "
                             "(:8000/-/healthz): check the Serve applications and the worker pods")]


BAD_APP = ("DEPLOY_FAILED", "UNHEALTHY")


@rule("SVC-04", "Serve applications and deployments are healthy", policy={ERROR: WORKLOAD_FAILED})
def check_apps(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    out = []
    for role, key in (("active", "activeServiceStatus"), ("pending", "pendingServiceStatus")):
        for app, st in (dig(svc, "status", key, "applicationStatuses", default={}) or {}).items():
            bad_deployments = {d: s for d, s in dig(st, "serveDeploymentStatuses", default={}).items() if s.get("status") == "UNHEALTHY"}
            if st.get("status") not in BAD_APP and not bad_deployments:
                continue
            evidence = [field_ev(f"status.{key}.applicationStatuses[{app}].status", st.get("status"))]
            if st.get("message"):
                evidence.append(field_ev(f"status.{key}.applicationStatuses[{app}].message", str(st["message"])))
            for d, s in list(bad_deployments.items())[:2]:
                evidence.append(field_ev(f"serveDeploymentStatuses[{d}]", f"UNHEALTHY: {s.get('message', '')}"))
            out.append(_svc_finding(snap, "SVC-04", ERROR, f"Serve application {app} ({role} cluster) is {st.get('status')}",
                                    role=role, evidence=evidence,
                                    fix="the message is Serve's: check serveConfigV2 (import_path, runtime_env, "
                                        "dependencies) and the head's serve logs"))
    return out


@rule("SVC-05", "an upgrade or rollback is not stuck", policy={WARNING: STALLED})
def check_upgrade(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    out = []
    for ctype in ("UpgradeInProgress", "RollbackInProgress"):
        cond = _cond(svc, ctype)
        if not cond or cond.get("status") != "True":
            continue
        since = age_seconds(snap, cond.get("lastTransitionTime"))
        if ctype == "UpgradeInProgress" and (since is None or since < LONG_UPGRADE):
            continue
        out.append(_svc_finding(snap, "SVC-05", WARNING, f"{ctype} for {short_age(since)}", role="pending",
                                evidence=[_cond_ev(cond), field_ev("status.pendingServiceStatus.rayClusterName",
                                                                    dig(svc, "status", "pendingServiceStatus", "rayClusterName"))],
                                fix="the pending cluster does not become ready: the cluster findings for it say why"))
    return out


@rule("SVC-06", "the RayService has an active cluster", policy={ERROR: NOT_RECONCILED})
def check_no_active(snap: Snapshot) -> list:
    svc = _service(snap)
    cond = _cond(svc, "UpgradeInProgress") if svc else None
    if not cond or cond.get("reason") != "NoActiveCluster":
        return []
    return [_svc_finding(snap, "SVC-06", ERROR, "the RayService has no active cluster", evidence=[_cond_ev(cond)],
                         fix="the operator says: please open a GitHub issue in the KubeRay repository (include this output)")]


@rule("SVC-07", "the operator can update the Serve applications", uses=("events",), policy={WARNING: STALLED})
def check_update_failures(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    ev = latest(events_matching(snap.events_for(snap.target.namespace, "RayService", snap.target.name), ("FailedToUpdateServeApplications",)))
    if ev is None:
        return []
    message = str(ev.get("message", ""))
    hint = ("the dashboard agent (52365) is not up yet or a NetworkPolicy blocks it"
            if "52365" in message or "connection refused" in message or "i/o timeout" in message
            else "see the message")
    return [_svc_finding(snap, "SVC-07", WARNING, "the operator failed to update the Serve applications", evidence=[event_ev(ev)],
                         fix=f"{hint}; transient for about a minute after a cluster starts")]


@rule("SVC-08", "the RayService does not name the head Service", policy={ERROR: NOT_RECONCILED})
def check_head_service_name(snap: Snapshot) -> list:
    svc = _service(snap)
    name = dig(svc, "spec", "rayClusterConfig", "headGroupSpec", "headService", "metadata", "name") if svc else None
    if not name:
        return []
    return [_svc_finding(snap, "SVC-08", ERROR, "a RayService may not set the head Service name",
                         evidence=[field_ev("spec.rayClusterConfig.headGroupSpec.headService.metadata.name", name)],
                         fix="remove it: the operator rejects it (ValidationFailed); it names the Services itself")]


@rule("SVC-09", "incremental upgrades are fully configured", policy={ERROR: NOT_RECONCILED})
def check_incremental(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None or dig(svc, "spec", "upgradeStrategy", "type") != "NewClusterWithIncrementalUpgrade":
        return []
    opts = dig(svc, "spec", "upgradeStrategy", "clusterUpgradeOptions", default={})
    problems = []
    if not dig(svc, "spec", "rayClusterConfig", "enableInTreeAutoscaling"):
        problems.append(field_ev("spec.rayClusterConfig.enableInTreeAutoscaling", "false (required)"))
    if not opts.get("gatewayClassName"):
        problems.append(field_ev("spec.upgradeStrategy.clusterUpgradeOptions.gatewayClassName", None))
    step, surge = opts.get("stepSizePercent"), opts.get("maxSurgePercent")
    if isinstance(step, int) and isinstance(surge, int) and step > surge:
        problems.append(field_ev("spec.upgradeStrategy.clusterUpgradeOptions", f"stepSizePercent {step} > maxSurgePercent {surge}"))
    if isinstance(opts.get("intervalSeconds"), int) and opts["intervalSeconds"] <= 0:
        problems.append(field_ev("spec.upgradeStrategy.clusterUpgradeOptions.intervalSeconds", opts["intervalSeconds"]))
    if not problems:
        return []
    return [_svc_finding(snap, "SVC-09", ERROR, "NewClusterWithIncrementalUpgrade is missing required settings", evidence=problems,
                         fix="it needs autoscaling, a Gateway API class and stepSizePercent <= maxSurgePercent")]


@rule("SVC-10", "the RayService is not suspended", policy={INFO: BY_DESIGN})
def check_suspended(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    for ctype in ("Suspending", "Suspended"):
        cond = _cond(svc, ctype)
        if cond and cond.get("status") == "True":
            return [_svc_finding(snap, "SVC-10", INFO, f"the RayService is {ctype.lower()}", evidence=[_cond_ev(cond)],
                                 fix="spec.suspend is true; set it to false to resume")]
    return []


@rule("SVC-11", "no deprecated RayService thresholds are set", policy={WARNING: IGNORED_CONFIG})
def check_deprecated(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    keys = [k for k in ("serviceUnhealthySecondThreshold", "deploymentUnhealthySecondThreshold") if k in dig(svc, "spec", default={})]
    if not keys:
        return []
    return [_svc_finding(snap, "SVC-11", WARNING, f"{', '.join(keys)} are no longer used",
                         evidence=[field_ev(f"spec.{k}", svc['spec'][k]) for k in keys],
                         fix="remove them: the operator ignores them since KubeRay 1.1 (kuberay#1685)")]


SERVE_LABEL = "ray.io/serve"


@rule("SVC-12", "RayService worker pods without a Serve replica are not Ready by design", policy={INFO: BY_DESIGN})
def check_workers_without_replicas(snap: Snapshot) -> list:
    svc = _service(snap)
    if svc is None:
        return []
    out = []
    for cluster in clusters(snap):
        idle = [p for p in cluster.worker_pods if pod_phase(p) == "Running" and not pod_ready(p)
                and labels_of(p).get(SERVE_LABEL) == "false"
                and not any((st.get("restartCount") or 0) or "waiting" in dig(st, "state", default={})
                            for st in dig(p, "status", "containerStatuses", default=[]))]
        if not idle:
            continue
        probe = latest([e for e in cluster.pod_events(idle[0]) if e.get("reason") == "Unhealthy"])
        evidence = [field_ev(f"metadata.labels[{SERVE_LABEL}]", "false"),
                    note(f"{len(idle)} of {len(cluster.worker_pods)} worker pod(s) Running but not Ready: {pods_summary(idle)}")]
        if probe is not None:
            evidence.append(event_ev(probe))
        out.append(finding("SVC-12", INFO, f"{len(idle)} worker pod(s) host no Serve replica, so they are not Ready",
                           f"Pod/{name_of(idle[0])}", scope=scope_of(cluster), subject="cluster",
                           evidence=evidence, doc=RAYSERVICE_DOC,
                           fix="by design: a RayService worker's readiness probe checks its Serve proxy, which only "
                               "runs where a replica is; such pods get no traffic. The autoscaler removes idle "
                               "workers; nothing to fix"))
    return out
