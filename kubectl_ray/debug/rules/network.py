"""NET: the head Service, its endpoints, the dashboard, NetworkPolicies, service meshes, auth and TLS (§1K)."""

from __future__ import annotations

from typing import Any

from kubectl_ray.debug.finding import CONFIG_DOC, ERROR, INFO, RAYSERVICE_DOC, TROUBLESHOOTING_DOC, WARNING, event_ev, \
    field_ev, note
from kubectl_ray.debug.model import (
    age_seconds, annotations_of, clusters, dig, events_matching, labels_of, latest, name_of, short_age, vtext,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import STALE_AFTER_SECONDS, cluster_finding
from kubectl_ray.debug.severity import (
    AT_RISK, BY_DESIGN, CONFIG_CANNOT_WORK, NOT_RECONCILED, PODS_NOT_STARTING, WORKERS_CUT_OFF,
)
from kubectl_ray.debug.snapshot import Snapshot


@rule("NET-01", "the head Service exists", policy={ERROR: WORKERS_CUT_OFF})
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
                for ep in dig(s, "endpoints", default=[]):
                    n = len(dig(ep, "addresses", default=[]))
                    total += n
                    if dig(ep, "conditions", "ready", default=True):
                        ready += n
            return ready, total
    ep = snap.get("endpoints", namespace, service)
    if ep is not None:
        ready = sum(len(dig(s, "addresses", default=[])) for s in dig(ep, "subsets", default=[]))
        not_ready = sum(len(dig(s, "notReadyAddresses", default=[])) for s in dig(ep, "subsets", default=[]))
        return ready, ready + not_ready
    if snap.is_absent("endpoints", namespace, service):
        return 0, 0
    return None


@rule("NET-02", "the head Service has endpoints", policy={ERROR: WORKERS_CUT_OFF})
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


@rule("NET-03", "the dashboard is reachable through the head Service", policy={ERROR: CONFIG_CANNOT_WORK, WARNING: AT_RISK})
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
            ports = dig(cluster.head_container, "ports", default=[])
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
    return any(str(p.get("port")) == "53" for r in rules or [] for p in dig(r, "ports", default=[]))


@rule("NET-04", "NetworkPolicies let Ray pods reach each other and DNS", policy={ERROR: WORKERS_CUT_OFF, WARNING: AT_RISK})
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
        denying = [(p, denied) for p in selecting if (denied := denied_ingress(p))]
        workers_stuck = bool(cluster.worker_pods) and not all(_started(p) for p in cluster.worker_pods)
        timeouts = [e for e in snap.events_for(snap.target.namespace, snap.target.kind, snap.target.name)
                    if e.get("type") == "Warning" and any(t in str(e.get("message", "")) for t in TIMEOUTS)]
        if denying and (workers_stuck or timeouts or snap.target.kind in ("RayJob", "RayService")):
            policy_obj, denied = denying[0]
            evidence = [field_ev(f"NetworkPolicy/{name_of(policy_obj)} spec.podSelector",
                                 _selector_text(dig(policy_obj, "spec", "podSelector", default={}))),
                        field_ev(f"NetworkPolicy/{name_of(policy_obj)} spec.ingress",
                                 "[] (no ingress allowed)" if not dig(policy_obj, "spec", "ingress") else
                                 f"no rule admits {', '.join(str(p) for p in denied)}"),
                        note(f"blocked head ports: {', '.join(f'{p} ({RAY_PORTS[p]})' for p in denied)}")]
            if timeouts:
                evidence.append(event_ev(latest(timeouts)))
            if workers_stuck:
                evidence.append(note(f"{sum(not _started(p) for p in cluster.worker_pods)} worker pod(s) not Running"))
            who = ("the operator cannot reach the dashboard (8265) and the Serve/agent API (52365)"
                   if snap.target.kind in ("RayJob", "RayService") else "workers cannot reach the GCS (6379)")
            out.append(cluster_finding(cluster, "NET-04", ERROR, f"NetworkPolicy {name_of(policy_obj)} blocks traffic to the "
                                       f"head: {who}", obj=f"NetworkPolicy/{name_of(policy_obj)}", subject="head",
                                       evidence=evidence, doc=RAYSERVICE_DOC,
                                       fix="allow ingress to the head from the Ray pods (6379, 8265, 52365, and the "
                                           "object-manager/node-manager ports) and from the KubeRay operator's namespace "
                                           "(8265, 52365), or remove the policy"))
        elif selecting and workers_stuck:
            out.append(cluster_finding(cluster, "NET-04", WARNING, f"{len(selecting)} NetworkPolicy object(s) select the Ray pods",
                                       evidence=[note(", ".join(name_of(p) for p in selecting[:3]))],
                                       fix="make sure they allow Ray traffic between the pods (6379, 8265, 52365, node ports) "
                                           "and DNS egress", doc=RAYSERVICE_DOC))
    return out


RAY_PORTS = {6379: "GCS", 8265: "dashboard", 52365: "dashboard agent / Serve API"}
TIMEOUTS = ("i/o timeout", "context deadline exceeded", "Client.Timeout", "connection timed out")


def denied_ingress(policy: dict[str, Any]) -> list[int]:
    """The Ray head ports a NetworkPolicy gives no ingress rule for (it then denies them to everyone)."""
    spec = dig(policy, "spec", default={})
    types = spec.get("policyTypes") or ["Ingress"]
    if "Ingress" not in types:
        return []
    rules = dig(spec, "ingress", default=[])
    allowed: set[Any] = set()
    for r in rules:
        ports = dig(r, "ports", default=[])
        if not ports:
            return []  # a rule without ports admits every port (from its sources)
        allowed |= {p.get("port") for p in ports}
    return [p for p in RAY_PORTS if p not in allowed and str(p) not in {str(a) for a in allowed}
            and not any(isinstance(a, str) and not a.isdigit() for a in allowed)]


def _selector_text(selector: dict[str, Any]) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in dig(selector, "matchLabels", default={}).items())
    exprs = ", ".join(f"{e.get('key')} {e.get('operator')} {e.get('values') or ''}".strip()
                      for e in dig(selector, "matchExpressions", default=[]))
    return "; ".join(x for x in (labels, exprs) if x) or "{} (every pod)"


def _started(pod: dict[str, Any]) -> bool:
    return dig(pod, "status", "phase") == "Running"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = dig(selector, "matchLabels", default={})
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in dig(selector, "matchExpressions", default=[]):
        key, op, values = expr.get("key"), expr.get("operator"), dig(expr, "values", default=[])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@rule("NET-05", "an Ingress for the head has a controller", policy={INFO: BY_DESIGN})
def check_ingress(snap: Snapshot) -> list:
    return [cluster_finding(c, "NET-05", INFO, f"enableIngress creates Ingress {c.name}-head-ingress",
                            evidence=[field_ev(c.path("headGroupSpec.enableIngress"), True)],
                            fix="it needs an ingress controller in the cluster; check the Ingress's status.loadBalancer")
            for c in clusters(snap) if c.head_spec.get("enableIngress") is True]


@rule("NET-06", "token authentication fits the Ray version and workload", policy={ERROR: NOT_RECONCILED})
def check_auth(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        auth = dig(cluster.spec, "authOptions", default={})
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


@rule("NET-07", "mTLS certificates are ready", uses=("events",), policy={ERROR: WORKERS_CUT_OFF, WARNING: AT_RISK})
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


# --- service meshes -----------------------------------------------------------------------------------

MESH_PROXIES = {"istio-proxy": "Istio", "linkerd-proxy": "Linkerd"}
MESH_INITS = {"istio-init": "Istio", "istio-validation": "Istio", "linkerd-init": "Linkerd"}
MESH_ANNOTATIONS = {"sidecar.istio.io/status": "Istio", "linkerd.io/proxy-version": "Linkerd"}
MESH_FIXES = {
    "Istio": "set ENABLE_INIT_CONTAINER_INJECTION=false on the KubeRay operator (the Ray docs' Istio guide) and let the "
             "workers retry until the GCS answers; or keep GCS traffic out of the proxy with the pod annotation "
             "traffic.sidecar.istio.io/excludeOutboundPorts: \"6379\" on the worker template; or run the proxy as a "
             "native sidecar (Istio ENABLE_NATIVE_SIDECARS=true) so it starts before the init containers",
    "Linkerd": "set ENABLE_INIT_CONTAINER_INJECTION=false on the KubeRay operator; or skip the GCS port with the pod "
               "annotation config.linkerd.io/skip-outbound-ports: \"6379\"; or use Linkerd's native sidecar "
               "(config.alpha.linkerd.io/proxy-enable-native-sidecar: \"true\")",
}


def pod_mesh(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(mesh, what shows it) when a service mesh injected its proxy into the pod."""
    spec = dig(pod, "spec", default={})
    for c in dig(spec, "containers", default=[]):
        if c.get("name") in MESH_PROXIES:
            return MESH_PROXIES[c["name"]], f"container {c['name']}"
    for c in dig(spec, "initContainers", default=[]):
        name = c.get("name")
        if name in MESH_PROXIES or name in MESH_INITS:
            return (MESH_PROXIES.get(name) or MESH_INITS[name]), f"init container {name}"
    for key, mesh in MESH_ANNOTATIONS.items():
        if key in annotations_of(pod):
            return mesh, f"annotation {key}"
    return None


def namespace_mesh(snap: Snapshot, namespace: str) -> tuple[str, str] | None:
    """(mesh, label) when the namespace asks a mesh to inject its proxy."""
    ns = snap.get("namespaces", None, namespace)
    labels, notes = labels_of(ns), annotations_of(ns)
    if labels.get("istio-injection") == "enabled":
        return "Istio", "istio-injection=enabled"
    if labels.get("istio.io/rev"):
        return "Istio", f"istio.io/rev={labels['istio.io/rev']}"
    for where in (labels, notes):
        if where.get("linkerd.io/inject") == "enabled":
            return "Linkerd", "linkerd.io/inject=enabled"
    return None


def _proxy_trouble(pod: dict[str, Any]) -> dict[str, Any] | None:
    """The mesh proxy's status when it crashes or never becomes ready (a native sidecar runs as an init container)."""
    from kubectl_ray.debug.model import waiting_reason

    status = dig(pod, "status", default={})
    for st in dig(status, "containerStatuses", default=[]) + dig(status, "initContainerStatuses", default=[]):
        if st.get("name") in MESH_PROXIES and (waiting_reason(st) == "CrashLoopBackOff" or (st.get("restartCount") or 0) >= 3):
            return st
    return None


@rule("NET-08", "a service mesh sidecar does not cut Ray pods off each other",
      policy={ERROR: (WORKERS_CUT_OFF, PODS_NOT_STARTING)})
def check_mesh(snap: Snapshot) -> list:
    from kubectl_ray.debug.model import WAIT_GCS_READY, operator_for_namespace
    from kubectl_ray.debug.rules._common import STUCK_AFTER_SECONDS, pods_summary
    from kubectl_ray.debug.rules.workers import waiting_for_gcs

    out = []
    for cluster in clusters(snap):
        meshed = [(p, m) for p in cluster.pods if (m := pod_mesh(p))]
        if not meshed:
            continue
        mesh, shown = meshed[0][1]
        evidence = [field_ev(f"Pod/{name_of(meshed[0][0])}", f"{shown} ({mesh}); {len(meshed)} of {len(cluster.pods)} "
                                                               "Ray pod(s) carry the mesh proxy")]
        ns_mesh = namespace_mesh(snap, cluster.namespace)
        if ns_mesh:
            evidence.append(field_ev(f"Namespace/{cluster.namespace} metadata.labels", ns_mesh[1]))
        crashing = [(p, st) for p, _ in meshed if (st := _proxy_trouble(p))]
        stuck = [p for p in cluster.worker_pods if pod_mesh(p) and waiting_for_gcs(p)
                 and (age_seconds(snap, dig(p, "metadata", "creationTimestamp")) or 0) > STUCK_AFTER_SECONDS]
        if crashing:
            pod, st = crashing[0]
            subject = "head" if pod is cluster.head_pod else f"group:{dig(pod, 'metadata', 'labels', 'ray.io/group')}"
            out.append(cluster_finding(cluster, "NET-08", ERROR, f"the {mesh} proxy ({st.get('name')}) of the Ray pods "
                                       "keeps crashing, so they are not Ready", obj=f"Pod/{name_of(pod)}", subject=subject,
                                       evidence=[*evidence, field_ev(f"status.containerStatuses[{st.get('name')}]",
                                                 f"restarts {st.get('restartCount', 0)}, {st.get('state')}")],
                                       fix=f"read its log (kubectl logs {name_of(pod)} -c {st.get('name')} --previous); "
                                           "a proxy that cannot get its certificate or config crashes; or exclude Ray pods "
                                           "from injection (sidecar.istio.io/inject: \"false\")", policy=PODS_NOT_STARTING))
            continue
        if not stuck:
            continue
        op = operator_for_namespace(snap, cluster.namespace)
        oldest = max(age_seconds(snap, dig(p, "metadata", "creationTimestamp")) or 0 for p in stuck)
        evidence += [note(f"{len(stuck)} worker pod(s) in {WAIT_GCS_READY} for up to {short_age(oldest)}: {pods_summary(stuck)}"),
                     note(f"{WAIT_GCS_READY} runs before the {mesh} proxy starts, while the mesh's init container "
                          "already redirects its traffic to that proxy: it cannot reach the GCS")]
        if op is not None:
            evidence.append(field_ev(f"{op.ref} env ENABLE_INIT_CONTAINER_INJECTION",
                                     op.env.get("ENABLE_INIT_CONTAINER_INJECTION", "<unset: true>")))
        out.append(cluster_finding(cluster, "NET-08", ERROR, f"the {mesh} sidecar cuts the workers off the GCS: "
                                   f"{WAIT_GCS_READY} cannot get through before the proxy runs",
                                   obj=f"Pod/{name_of(stuck[0])}", evidence=evidence, fix=MESH_FIXES[mesh],
                                   policy=WORKERS_CUT_OFF))
    return out
