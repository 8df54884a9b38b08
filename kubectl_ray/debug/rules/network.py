"""NET: the head Service, its endpoints, the dashboard, NetworkPolicies, auth and TLS (diagnostics.md §1K)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import CONFIG_DOC, ERROR, INFO, RAYSERVICE_DOC, TROUBLESHOOTING_DOC, WARNING, event_ev, \
    field_ev, note
from kubectl_ray.debug.model import (
    age_seconds, clusters, dig, events_matching, labels_of, latest, name_of, short_age, vtext,
)
from kubectl_ray.debug.rules import rule
from kubectl_ray.debug.rules._common import STALE_AFTER_SECONDS, cluster_finding
from kubectl_ray.debug.snapshot import Snapshot


@rule("NET-01", "the head Service exists")
def check_head_service(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None or cluster.suspended or cluster.deleting:
            continue
        name = cluster.head_service_name
        if snap.get("services", cluster.namespace, name) is not None:
            continue
        evidence = []
        ev = latest(events_matching(cluster.events(), ("FailedToCreateService", "FailedToCreateHeadService")))
        if ev is not None:
            evidence.append(event_ev(ev))
        if not snap.is_absent("services", cluster.namespace, name) and not evidence:
            snap.need("services", cluster.namespace)
            continue  # not looked up by this name
        age = age_seconds(snap, dig(cluster.obj, "metadata", "creationTimestamp"))
        if not evidence and (age is None or age < STALE_AFTER_SECONDS):
            continue
        evidence.append(note(f'Service "{name}" not found ({short_age(age)} after the RayCluster was created)'))
        out.append(cluster_finding(cluster, "NET-01", ERROR, f"the head Service {name} does not exist", obj=f"Service/{name}",
                                   subject="cluster", evidence=evidence, doc=TROUBLESHOOTING_DOC,
                                   fix="workers, RayJobs, RayServices and `kubectl ray session` reach the head through it; "
                                       "the operator recreates it unless its creation fails (see the event)"))
    return out


def _addresses(snap: Snapshot, namespace: str, service: str) -> tuple[int, int] | None:
    """(ready, total) endpoint addresses of a Service, from EndpointSlices or Endpoints; None if unreadable."""
    if snap.readable("endpointslices", namespace):
        slices = [s for s in snap.items("endpointslices", namespace)
                  if labels_of(s).get("kubernetes.io/service-name") == service]
        if slices or "endpoints" not in snap.collected:
            ready = total = 0
            for s in slices:
                for ep in s.get("endpoints") or []:
                    n = len(ep.get("addresses") or [])
                    total += n
                    if dig(ep, "conditions", "ready", default=True):
                        ready += n
            return ready, total
    ep = snap.get("endpoints", namespace, service)
    if ep is not None:
        ready = sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])
        not_ready = sum(len(s.get("notReadyAddresses") or []) for s in ep.get("subsets") or [])
        return ready, ready + not_ready
    if snap.is_absent("endpoints", namespace, service):
        return 0, 0
    return None


@rule("NET-02", "the head Service has endpoints")
def check_head_endpoints(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        svc = snap.get("services", cluster.namespace, cluster.head_service_name)
        if svc is None or cluster.suspended:
            continue
        counts = _addresses(snap, cluster.namespace, name_of(svc))
        if counts is None:
            snap.need("endpointslices", cluster.namespace)
            continue
        ready, total = counts
        headless = dig(svc, "spec", "clusterIP") == "None"
        usable = total if dig(svc, "spec", "publishNotReadyAddresses") else ready
        if usable > 0:
            continue
        age = age_seconds(snap, dig(svc, "metadata", "creationTimestamp"))
        if age is not None and age < STALE_AFTER_SECONDS:
            continue
        why = "no head pod" if total == 0 else "the head pod is not Ready"
        out.append(cluster_finding(cluster, "NET-02", ERROR, f"the head Service {name_of(svc)} has no endpoints ({why})",
                                   obj=f"Service/{name_of(svc)}", subject="cluster",
                                   evidence=[field_ev("EndpointSlice addresses", f"{ready} ready of {total}"),
                                             field_ev("spec.clusterIP", dig(svc, "spec", "clusterIP", default="")),
                                             note("headless (publishes not-ready addresses)" if headless else "ClusterIP Service")],
                                   fix="the Service selects the head pod by its labels; when the head runs and is Ready the "
                                       "endpoints follow — look at the head first", doc=TROUBLESHOOTING_DOC))
    return out


@rule("NET-03", "the dashboard is reachable through the head Service")
def check_dashboard(snap: Snapshot) -> list:
    out = []
    needs = snap.target.kind in ("RayJob", "RayService")
    severity = ERROR if needs else WARNING
    for cluster in clusters(snap):
        evidence = []
        params = cluster.head_params
        if str(params.get("include-dashboard", "")).lower() == "false":
            evidence.append(field_ev(cluster.path("headGroupSpec.rayStartParams.include-dashboard"), "false"))
        host = params.get("dashboard-host")
        if host is not None and str(host) not in ("0.0.0.0", "::"):
            evidence.append(field_ev(cluster.path("headGroupSpec.rayStartParams.dashboard-host"), host))
        svc = snap.get("services", cluster.namespace, cluster.head_service_name)
        if svc is not None:
            names = [p.get("name") for p in dig(svc, "spec", "ports", default=[])]
            if "dashboard" not in names:
                evidence.append(field_ev(f"Service/{name_of(svc)} spec.ports[].name", ", ".join(str(n) for n in names) or "<none>"))
        else:
            ports = cluster.head_container.get("ports")
            if ports and "dashboard" not in [p.get("name") for p in ports]:
                evidence.append(field_ev(cluster.path("headGroupSpec.template.spec.containers[0].ports[].name"),
                                         ", ".join(str(p.get("name")) for p in ports)))
        if evidence:
            who = "the RayJob submitter and RayService" if needs else "RayJobs, RayServices and `kubectl ray session`"
            out.append(cluster_finding(cluster, "NET-03", severity, "the Ray dashboard (8265) is not reachable through the head Service",
                                       evidence=evidence, doc=CONFIG_DOC,
                                       fix=f"{who} need it: keep include-dashboard on, dashboard-host 0.0.0.0, and a head "
                                           "container port named `dashboard` when you list ports"))
    return out


def _dns_allowed(rules: list[dict[str, Any]]) -> bool:
    return any(str(p.get("port")) == "53" for r in rules or [] for p in r.get("ports") or [])


@rule("NET-04", "NetworkPolicies let Ray pods reach each other and DNS")
def check_network_policies(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        policy = cluster.spec.get("networkPolicy")
        if isinstance(policy, dict) and policy.get("mode") in ("DenyAll", "DenyAllEgress"):
            missing = [role for role in ("head", "worker")
                       if not _dns_allowed(dig(policy, role, "egressRules", default=[]))]
            if missing:
                out.append(cluster_finding(cluster, "NET-04", WARNING, f"networkPolicy {policy.get('mode')} blocks DNS for the {' and '.join(missing)}",
                                           evidence=[field_ev(cluster.path("networkPolicy.mode"), policy.get("mode"))]
                                           + [field_ev(cluster.path(f"networkPolicy.{r}.egressRules"), "no rule for port 53") for r in missing],
                                           fix="add an egress rule to kube-dns on port 53 (UDP and TCP) for head and workers; "
                                               "without it workers never resolve the head and the cluster does not start"))
        head = cluster.head_pod
        if head is None or not snap.readable("networkpolicies", cluster.namespace):
            continue
        selecting = [p for p in snap.items("networkpolicies", cluster.namespace)
                     if _selects(dig(p, "spec", "podSelector", default={}), labels_of(head))
                     and not labels_of(p).get("ray.io/cluster")]
        if selecting and cluster.worker_pods and not all(_started(p) for p in cluster.worker_pods):
            out.append(cluster_finding(cluster, "NET-04", WARNING, f"{len(selecting)} NetworkPolicy object(s) select the Ray pods",
                                       evidence=[note(", ".join(name_of(p) for p in selecting[:3]))],
                                       fix="make sure they allow Ray traffic between the pods (6379, 8265, 52365, node ports) "
                                           "and DNS egress", doc=RAYSERVICE_DOC))
    return out


def _started(pod: dict[str, Any]) -> bool:
    return dig(pod, "status", "phase") == "Running"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@rule("NET-05", "an Ingress for the head has a controller")
def check_ingress(snap: Snapshot) -> list:
    return [cluster_finding(c, "NET-05", INFO, f"enableIngress creates Ingress {c.name}-head-ingress",
                            evidence=[field_ev(c.path("headGroupSpec.enableIngress"), True)],
                            fix="it needs an ingress controller in the cluster; check the Ingress's status.loadBalancer")
            for c in clusters(snap) if c.head_spec.get("enableIngress") is True]


@rule("NET-06", "token authentication fits the Ray version and workload")
def check_auth(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        auth = cluster.spec.get("authOptions") or {}
        if auth.get("mode") != "token":
            continue
        ray = cluster.ray_version
        evidence = []
        if ray is not None and ray < (2, 52, 0):
            evidence.append(field_ev(cluster.path("rayVersion"), f"{vtext(ray)} (token auth needs 2.52.0)"))
        if auth.get("enableK8sTokenAuth"):
            if ray is not None and ray < (2, 55, 0):
                evidence.append(field_ev(cluster.path("rayVersion"), f"{vtext(ray)} (Kubernetes token auth needs 2.55.0)"))
            if snap.target.kind in ("RayJob", "RayService"):
                evidence.append(field_ev(cluster.path("authOptions.enableK8sTokenAuth"), f"true (not supported for a {snap.target.kind})"))
        if evidence:
            out.append(cluster_finding(cluster, "NET-06", ERROR, "token authentication is configured in a way the operator rejects",
                                       evidence=evidence,
                                       fix="upgrade Ray (rayVersion and images) or drop the option; clients then need the "
                                           "token: kubectl ray get token"))
    return out


@rule("NET-07", "mTLS certificates are ready", uses=("events",))
def check_mtls(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not dig(cluster.spec, "tlsOptions", "enabled"):
            continue
        bad = latest(events_matching(cluster.events(), ("MTLSCertsNotReady", "MTLSFailedToReconcile")))
        expiring = latest(events_matching(cluster.events(), ("MTLSCertificateExpiringSoon",)))
        if bad is not None:
            out.append(cluster_finding(cluster, "NET-07", ERROR, "mTLS certificates are not ready", evidence=[event_ev(bad)],
                                       fix="mTLS needs cert-manager and the RayClusterMTLS gate; check the Certificate objects "
                                           "(kubectl get certificates) and cert-manager's log"))
        elif expiring is not None:
            out.append(cluster_finding(cluster, "NET-07", WARNING, "an mTLS certificate expires soon", evidence=[event_ev(expiring)],
                                       fix="check that cert-manager renews it"))
    return out
