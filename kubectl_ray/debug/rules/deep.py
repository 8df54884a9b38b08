"""DEEP (and AS-16): what only the Ray dashboard knows, collected with `--deep`.

snap.deep["<namespace>/<cluster>"] holds the dashboard's answers (see deep.py at the package level):
address, version, gcsHealthz {ok,status,message}, clusterStatus (the autoscaler's view), nodes, and
errors per endpoint ("unreachable" lands in "connect").
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from kubectl_ray.debug.finding import AUTOSCALING_DOC, ERROR, TROUBLESHOOTING_DOC, WARNING, Evidence, note
from kubectl_ray.debug.model import clusters, dig, gpu_limits, parse_ray_image, parse_ray_version, resource_quantity, vtext
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding
from kubectl_ray.debug.severity import AT_RISK, DEGRADED, HEAD_DOWN, STALLED
from kubectl_ray.debug.snapshot import Snapshot

EXPECTED_DEATH = ("expected termination", "idle", "drain", "autoscaler", "scale down", "scaled down", "terminated by user")


def expected_death(node: dict[str, Any]) -> bool:
    """Scale-down and shutdown leave DEAD nodes behind too; only unexpected deaths are findings."""
    message = str(node.get("state_message") or "").lower()
    if "unexpected" in message:
        return False
    return any(word in message for word in EXPECTED_DEATH)


def dash(where: str, value: Any) -> Evidence:
    return Evidence("dashboard", where, str(value))


def _deep(snap: Snapshot, cluster) -> dict[str, Any] | None:
    return snap.deep.get(f"{cluster.namespace}/{cluster.name}")


@rule("DEEP-05", "the Ray dashboard answers", deep=True, policy={ERROR: HEAD_DOWN})
def check_reachable(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        data = _deep(snap, cluster)
        if not data or not dig(data, "errors", "connect"):
            continue
        out.append(cluster_finding(cluster, "DEEP-05", ERROR, "the Ray dashboard cannot be reached", subject="cluster",
                                   evidence=[dash(data.get("address", "?"), data["errors"]["connect"])],
                                   fix="the head must be Ready and serve the dashboard on 8265 (NET-03); with a port-forward, "
                                       "check `kubectl ray session` works", doc=TROUBLESHOOTING_DOC))
    return out


@rule("DEEP-01", "the GCS reports healthy (/api/gcs_healthz)", deep=True, policy={ERROR: HEAD_DOWN})
def check_gcs_health(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        health = dig(_deep(snap, cluster), "gcsHealthz")
        if not health or health.get("ok"):
            continue
        out.append(cluster_finding(cluster, "DEEP-01", ERROR, "the GCS is unhealthy", subject="head",
                                   evidence=[dash("/api/gcs_healthz", f"{health.get('status')} {health.get('message', '')}".strip())],
                                   fix="read the head's gcs_server.out/err (kubectl ray log) and the head container log",
                                   doc=TROUBLESHOOTING_DOC))
    return out


@rule("DEEP-02", "the running Ray version is the one the spec declares", deep=True, policy={WARNING: AT_RISK})
def check_running_version(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        running = parse_ray_version(dig(_deep(snap, cluster), "version", "ray_version"))
        if running is None:
            continue
        declared = [(cluster.path("rayVersion"), cluster.ray_version)]
        image = parse_ray_image(cluster.head_container.get("image"))
        declared.append((cluster.path("headGroupSpec.template.spec.containers[0].image"), image.version))
        wrong = [(path, v) for path, v in declared if v is not None and v != running]
        if wrong:
            out.append(cluster_finding(cluster, "DEEP-02", WARNING,
                                       f"the cluster runs Ray {vtext(running)}, the spec says {vtext(wrong[0][1])}",
                                       evidence=[dash("/api/version ray_version", vtext(running)),
                                                 *[Evidence("field", p, vtext(v)) for p, v in wrong]],
                                       fix="align rayVersion and the image tags with the Ray that actually runs: the operator "
                                           "chooses health checks and features from rayVersion"))
    return out


@rule("DEEP-03", "no Ray node died unexpectedly", deep=True, policy={WARNING: DEGRADED})
def check_dead_nodes(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        nodes = dig(_deep(snap, cluster), "nodes")
        if not isinstance(nodes, list):
            continue
        dead = [n for n in nodes if n.get("state") == "DEAD" and not expected_death(n)]
        if not dead:
            continue
        first = dead[0]
        alive = sum(1 for n in nodes if n.get("state") == "ALIVE")
        out.append(cluster_finding(cluster, "DEEP-03", WARNING, f"{len(dead)} Ray node(s) died unexpectedly",
                                   evidence=[dash("/api/v0/nodes", f"{first.get('node_ip', '?')} ({first.get('node_name') or first.get('node_id', '')[:12]}) "
                                                                   f"DEAD: {first.get('state_message') or 'no reason given'}"),
                                             note(f"{alive} node(s) alive, {len(dead)} dead")],
                                   fix="dead nodes lose their tasks and objects: look at the pod's last termination "
                                       "(OOMKilled, evicted, node gone) and its raylet log"))
    return out


@rule("DEEP-04", "the autoscaler reports no errors or failed nodes", deep=True, policy={WARNING: DEGRADED})
def check_autoscaler_report(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        status = dig(_deep(snap, cluster), "clusterStatus")
        if not isinstance(status, dict):
            continue
        evidence = []
        if status.get("autoscalingError"):
            evidence.append(dash("/api/cluster_status autoscalingError", str(status["autoscalingError"])))
        failed = dig(status, "clusterStatus", "autoscalerReport", "failedNodes", default=[])
        if failed:
            evidence.append(dash("/api/cluster_status failedNodes", f"{len(failed)}: {json.dumps(failed[:2])}"))
        if evidence:
            out.append(cluster_finding(cluster, "DEEP-04", WARNING, "the autoscaler reports errors", subject="autoscaler",
                                       evidence=evidence, fix="see the autoscaler container's log on the head pod",
                                       doc=AUTOSCALING_DOC))
    return out


def group_capacity(template_container: dict[str, Any], params: dict[str, Any], group_resources: dict[str, Any]) -> dict[str, float]:
    """The Ray resources one pod of a group offers, as KubeRay derives them (diagnostics.md §1G)."""
    cap: dict[str, float] = {}
    cpu = params.get("num-cpus")
    if cpu is None:
        q = resource_quantity(template_container, "limits", "cpu") or resource_quantity(template_container, "requests", "cpu")
        cpu = math.ceil(q.value) if q is not None else None
    if _number(cpu) is not None:
        cap["CPU"] = _number(cpu)
    gpus = params.get("num-gpus")
    if gpus is None:
        limits = gpu_limits(template_container)
        gpus = sum(float(Decimal(str(v))) for v in limits.values()) if limits else None
    if _number(gpus) is not None:
        cap["GPU"] = _number(gpus)
    memory = params.get("memory")
    if memory is None:
        q = resource_quantity(template_container, "limits", "memory")
        memory = q.value if q is not None else None
    if _number(memory) is not None:
        cap["memory"] = _number(memory)
    custom = params.get("resources")
    if custom:
        try:
            text = str(custom).strip().strip("'\"").replace('\\"', '"')
            cap.update({k: float(v) for k, v in json.loads(text).items()})
        except (ValueError, TypeError, AttributeError):
            pass
    for k, v in (group_resources or {}).items():
        try:
            cap[k] = float(Decimal(str(v)))
        except ArithmeticError:
            continue
    return cap


def _number(value: Any) -> float | None:
    """A rayStartParams number as Ray reads it; anything else (a typo, a list) offers nothing countable."""
    try:
        return float(str(value).strip()) if value is not None and not isinstance(value, (dict, list, bool)) else None
    except ValueError:
        return None


AUTODETECTED = ("CPU", "memory", "object_store_memory")  # Ray measures these when KubeRay passes none


def fits(demand: dict[str, float], capacity: dict[str, float]) -> bool:
    """Whether one pod of a group could ever hold this request (placement-only keys are ignored)."""
    for key, amount in demand.items():
        if amount <= 0 or key.startswith(("node:", "accelerator_type:", "bundle_group_")):
            continue
        if key in AUTODETECTED and key not in capacity:
            continue
        if capacity.get(key, 0.0) < amount:
            return False
    return True


def _demands(status: dict[str, Any]) -> list[dict[str, float]]:
    report = dig(status, "clusterStatus", "loadMetricsReport", default={})
    out = []
    for entry in dig(report, "resourceDemand", default=[]) + dig(report, "requestDemand", default=[]):
        bundle = entry[0] if isinstance(entry, list) and entry else entry
        if isinstance(bundle, dict):
            out.append({str(k): float(v) for k, v in bundle.items() if isinstance(v, (int, float))})
    for pg in dig(report, "pgDemand", default=[]):
        for bundle in (pg.get("bundles") if isinstance(pg, dict) else None) or []:
            if isinstance(bundle, dict):
                out.append({str(k): float(v) for k, v in (bundle.get("resources") or bundle).items() if isinstance(v, (int, float))})
    return out


@rule("AS-16", "every pending resource request fits some worker group", deep=True, policy={WARNING: STALLED})
def check_infeasible(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        status = dig(_deep(snap, cluster), "clusterStatus")
        if not isinstance(status, dict):
            continue
        caps = [("head", group_capacity(cluster.head_container, cluster.head_params, {}))]
        caps += [(g.name, group_capacity(g.ray_container, g.params, dig(g.spec, "resources", default={})))
                 for g in cluster.groups if dig(g.spec, "maxReplicas", default=0) > 0 or dig(g.spec, "replicas", default=0) > 0]
        infeasible = [d for d in _demands(status) if d and not any(fits(d, cap) for _, cap in caps)]
        if not infeasible:
            continue
        shown = json.dumps(infeasible[0], sort_keys=True)
        biggest = ", ".join(f"{name}: {json.dumps({k: v for k, v in cap.items() if k != 'memory'}, sort_keys=True)}" for name, cap in caps[:4])
        out.append(cluster_finding(cluster, "AS-16", WARNING, f"{len(infeasible)} pending request(s) fit no worker group, e.g. {shown}",
                                   subject="autoscaler",
                                   evidence=[dash("/api/cluster_status resourceDemand", shown), note(f"per-pod capacity: {biggest}")],
                                   fix="a task or actor must fit on one Ray node: add a group whose pods are big enough (or "
                                       "request less); the autoscaler never scales up for it", doc=TROUBLESHOOTING_DOC))
    return out
