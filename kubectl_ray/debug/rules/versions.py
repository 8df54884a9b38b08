"""VER: operator vs Ray versions, rayVersion vs images, images that disagree (diagnostics.md §1F, §3)."""

from __future__ import annotations

from typing import Any, Callable

from kubectl_ray.debug.finding import CONFIG_DOC, ERROR, INFO, UPGRADE_DOC, WARNING, MissingData, field_ev, note
from kubectl_ray.debug.model import (
    clusters, dig, operator_for_namespace, operators, parse_ray_image, target_object, vtext,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding, finding, target_ref
from kubectl_ray.debug.severity import AT_RISK, BY_DESIGN, CONFIG_CANNOT_WORK, IGNORED_CONFIG
from kubectl_ray.debug.snapshot import Snapshot

# upgrade-guide.md: the oldest Ray each KubeRay release supports (v1.5+ have no row: assumed like v1.3).
RAY_FLOOR: list[tuple[tuple[int, int, int], tuple[int, int, int], bool]] = [
    # (first KubeRay version, minimum Ray, documented)
    ((1, 1, 0), (2, 8, 0), True),
    ((1, 3, 0), (2, 38, 0), True),
    ((1, 5, 0), (2, 38, 0), False),
]


def _operator_or_missing(snap: Snapshot):
    op = operator_for_namespace(snap, snap.target.namespace)
    if op is None:
        if not snap.readable("deployments"):
            denied = snap.forbidden_for("deployments")
            reason = f"forbidden: {denied.describe()}" if denied else "deployments were not collected"
            raise MissingData(f"{reason}, and no head pod names the operator version")
        return None
    return op


def cluster_ray_version(cluster) -> tuple[tuple[int, int, int] | None, str]:
    if cluster.ray_version:
        return cluster.ray_version, cluster.path("rayVersion")
    image = parse_ray_image(cluster.head_container.get("image"))
    return image.version, cluster.path("headGroupSpec.template.spec.containers[0].image")


@rule("VER-01", "the operator supports the cluster's Ray version", policy={ERROR: CONFIG_CANNOT_WORK, WARNING: AT_RISK})
def check_operator_supports_ray(snap: Snapshot) -> list:
    if not clusters(snap):
        return []
    op = _operator_or_missing(snap)
    if op is None or op.version is None:
        return []
    floors = [(ray, documented) for first, ray, documented in RAY_FLOOR if first <= op.version]
    if not floors:
        return []
    floor, documented = floors[-1]
    out = []
    for cluster in clusters(snap):
        version, path = cluster_ray_version(cluster)
        if version is None or version >= floor:
            continue
        severity = ERROR if documented else WARNING
        basis = "upgrade guide" if documented else "assumed from v1.3/v1.4: the upgrade guide has no row for this release"
        out.append(cluster_finding(cluster, "VER-01", severity,
                                   f"KubeRay {op.version_text} supports Ray {vtext(floor)} and later, this cluster runs Ray {vtext(version)}",
                                   evidence=[field_ev(path, vtext(version)), field_ev(f"{op.ref} image", op.image or op.version_text),
                                             note(f"support range per the {basis}")],
                                   fix="upgrade Ray (head, workers and rayVersion together) or use an older KubeRay",
                                   doc=UPGRADE_DOC))
    return out


@rule("VER-02", "spec.rayVersion matches the Ray version of the images", policy={WARNING: AT_RISK})
def check_ray_version_vs_image(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        declared = cluster.ray_version
        if declared is None:
            continue
        wrong = [(label, path, img) for label, path, img in cluster.ray_images()
                 if img.pinned and img.version is not None and img.version != declared]
        if not wrong:
            continue
        label, path, img = wrong[0]
        out.append(cluster_finding(cluster, "VER-02", WARNING,
                                   f"rayVersion {vtext(declared)} but the {label} image runs Ray {img.version_text}",
                                   evidence=[field_ev(cluster.path("rayVersion"), cluster.spec.get("rayVersion")),
                                             *[field_ev(p, i.image) for _, p, i in wrong[:3]]],
                                   fix="set rayVersion to the images' Ray version: the operator picks health checks "
                                       "(HTTP from 2.53) and allowed features from it", doc=CONFIG_DOC))
    return out


def _all_images(snap: Snapshot, cluster) -> list[tuple[str, str, Any]]:
    images = cluster.ray_images()
    auto = dig(cluster.spec, "autoscalerOptions", "image")
    if auto:
        images.append(("autoscaler", cluster.path("autoscalerOptions.image"), parse_ray_image(auto)))
    obj = target_object(snap)
    if snap.target.kind == "RayJob" and obj is not None:
        sub = dig(obj, "spec", "submitterPodTemplate", "spec", "containers", 0, "image")
        if sub:
            images.append(("job submitter", "spec.submitterPodTemplate.spec.containers[0].image", parse_ray_image(sub)))
    return images


@rule("VER-03", "head, workers, autoscaler and submitter use the same Ray and Python", policy={ERROR: CONFIG_CANNOT_WORK})
def check_image_consistency(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        images = [(label, path, img) for label, path, img in _all_images(snap, cluster) if img.is_ray and img.pinned]
        versions = {img.version for _, _, img in images if img.version}
        pythons = {img.python for _, _, img in images if img.python}
        problems = []
        if len(versions) > 1:
            problems.append("Ray " + " vs ".join(sorted(vtext(v) for v in versions)))
        if len(pythons) > 1:
            problems.append("Python " + " vs ".join(sorted(pythons)))
        if not problems:
            continue
        out.append(cluster_finding(cluster, "VER-03", ERROR, f"the images carry different versions: {'; '.join(problems)}",
                                   evidence=[field_ev(path, img.image) for _, path, img in images[:4]],
                                   fix="use one Ray image (same Ray and Python version) for the head, every worker group, "
                                       "the autoscaler and the submitter: Ray refuses mixed versions (`Version mismatch`)",
                                   doc=CONFIG_DOC))
    return out


# (kind the field lives on, description, predicate on the kind's spec / cluster spec, first KubeRay version)
Check = Callable[[dict[str, Any]], bool]
CLUSTER_FEATURES: list[tuple[str, Check, tuple[int, int, int]]] = [
    ("spec.suspend", lambda s: s.get("suspend") is not None, (1, 1, 0)),
    ("workerGroupSpecs[].numOfHosts > 1", lambda s: any(dig(g, "numOfHosts", default=1) > 1 for g in dig(s, "workerGroupSpecs", default=[])), (1, 1, 0)),
    ("spec.gcsFaultToleranceOptions", lambda s: s.get("gcsFaultToleranceOptions") is not None, (1, 3, 0)),
    ("workerGroupSpecs[].idleTimeoutSeconds", lambda s: any(g.get("idleTimeoutSeconds") is not None for g in dig(s, "workerGroupSpecs", default=[])), (1, 3, 0)),
    ("spec.managedBy", lambda s: s.get("managedBy") is not None, (1, 3, 0)),
    ("spec.autoscalerOptions.version", lambda s: dig(s, "autoscalerOptions", "version") is not None, (1, 4, 0)),
    ("workerGroupSpecs[].resources / labels", lambda s: any(g.get("resources") or g.get("labels") for g in dig(s, "workerGroupSpecs", default=[])), (1, 5, 0)),
    ("spec.authOptions", lambda s: s.get("authOptions") is not None, (1, 6, 0)),
    ("spec.upgradeStrategy", lambda s: s.get("upgradeStrategy") is not None, (1, 6, 0)),
    ("workerGroupSpecs[].priority", lambda s: any(g.get("priority") not in (None, 0) for g in dig(s, "workerGroupSpecs", default=[])), (1, 7, 0)),
    ("spec.networkPolicy", lambda s: s.get("networkPolicy") is not None, (1, 7, 0)),
    ("spec.tlsOptions", lambda s: s.get("tlsOptions") is not None, (1, 7, 0)),
    ("spec.historyServerOptions", lambda s: s.get("historyServerOptions") is not None, (1, 7, 0)),
    ("gcsFaultToleranceOptions.backend: rocksdb", lambda s: dig(s, "gcsFaultToleranceOptions", "backend") == "rocksdb", (1, 7, 0)),
]
JOB_FEATURES: list[tuple[str, Check, tuple[int, int, int]]] = [
    ("spec.activeDeadlineSeconds", lambda s: s.get("activeDeadlineSeconds") is not None, (1, 1, 0)),
    ("submissionMode: HTTPMode", lambda s: s.get("submissionMode") == "HTTPMode", (1, 1, 0)),
    # the CRD defaults backoffLimit to 0: only a value someone chose counts
    ("spec.backoffLimit", lambda s: s.get("backoffLimit") not in (None, 0), (1, 2, 0)),
    ("spec.submitterConfig", lambda s: bool(s.get("submitterConfig")), (1, 2, 0)),
    ("submissionMode: InteractiveMode", lambda s: s.get("submissionMode") == "InteractiveMode", (1, 3, 0)),
    ("submissionMode: SidecarMode", lambda s: s.get("submissionMode") == "SidecarMode", (1, 5, 0)),
    ("spec.deletionStrategy", lambda s: s.get("deletionStrategy") is not None, (1, 5, 0)),
    ("spec.preRunningDeadlineSeconds", lambda s: s.get("preRunningDeadlineSeconds") is not None, (1, 6, 0)),
]
SERVICE_FEATURES: list[tuple[str, Check, tuple[int, int, int]]] = [
    ("spec.upgradeStrategy", lambda s: s.get("upgradeStrategy") is not None, (1, 3, 0)),
    ("upgradeStrategy.type: NewClusterWithIncrementalUpgrade",
     lambda s: dig(s, "upgradeStrategy", "type") == "NewClusterWithIncrementalUpgrade", (1, 5, 0)),
    ("spec.suspend", lambda s: s.get("suspend") is not None, (1, 7, 0)),
]


@rule("VER-06", "the operator is new enough for every field in use", policy={WARNING: IGNORED_CONFIG})
def check_field_versions(snap: Snapshot) -> list:
    used: list[tuple[str, str, tuple[int, int, int]]] = []
    for cluster in clusters(snap):
        used += [(cluster.ref, name, first) for name, pred, first in CLUSTER_FEATURES if pred(cluster.spec)]
    obj = target_object(snap)
    table = {"RayJob": JOB_FEATURES, "RayService": SERVICE_FEATURES}.get(snap.target.kind, [])
    if obj is not None:
        used += [(target_ref(snap), name, first) for name, pred, first in table if pred(dig(obj, "spec", default={}))]
    if not used:
        return []
    op = _operator_or_missing(snap)
    if op is None or op.version is None:
        return []
    too_new = [(ref, name, first) for ref, name, first in used if first > op.version]
    if not too_new:
        return []
    newest = max(first for _, _, first in too_new)
    return [finding("VER-06", WARNING, f"KubeRay {op.version_text} does not know {len(too_new)} field(s) in use (need v{vtext(newest)})",
                    too_new[0][0], evidence=[field_ev(name, f"needs KubeRay v{vtext(first)}") for _, name, first in too_new[:5]]
                    + [field_ev(f"{op.ref} image", op.image or op.version_text)],
                    fix="upgrade the CRDs and then the operator; older operators ignore these fields",
                    doc=UPGRADE_DOC, subject="operator")]


# phase 99: a note about this tool, listed after every finding about the workload of the same severity
@rule("VER-07", "the plugin and the operator versions work together", phase=99, policy={INFO: BY_DESIGN})
def check_plugin_skew(snap: Snapshot) -> list:
    from kubectl_ray import __version__
    from kubectl_ray.versions import plugin_compatibility

    ops = operators(snap)
    if not ops:
        return []
    op = operator_for_namespace(snap, snap.target.namespace) or ops[0]
    verdict = plugin_compatibility(op.version_text)
    if verdict.level == "ok" and op.version is not None and op.version[:2] <= (1, 7):
        return []
    return [finding("VER-07", INFO, f"kubectl-ray {__version__} with KubeRay {op.version_text}: {verdict.level}", op.ref,
                    evidence=[note(verdict.message)], subject="operator",
                    fix="use the same plugin and KubeRay versions where possible; this diagnosis interprets statuses as "
                        "KubeRay v1.7 defines them")]


@rule("VER-08", "images are pinned to a Ray version", policy={INFO: BY_DESIGN})
def check_unpinned(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        loose = [(label, path, img) for label, path, img in _all_images(snap, cluster) if img.is_ray and not img.pinned]
        if loose:
            out.append(cluster_finding(cluster, "VER-08", INFO, f"{len(loose)} image(s) are not pinned to a Ray version",
                                       evidence=[field_ev(path, img.image) for _, path, img in loose[:3]],
                                       fix="pin a release tag (rayproject/ray:2.52.0): latest/nightly make version checks "
                                           "impossible and let pods drift apart as the tag moves"))
    return out
