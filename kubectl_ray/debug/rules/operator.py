"""OP: CRDs, the operator, reconciliation, validation, feature gates and CRD schema (diagnostics.md §1A)."""

from __future__ import annotations

import json
import re
from typing import Any

from kubectl_ray.debug.finding import ERROR, INFO, INSTALL_DOC, UPGRADE_DOC, WARNING, MissingData, event_ev, field_ev, note
from kubectl_ray.debug.model import (
    annotations_of, clusters, dig, events_matching, latest, name_of, operators, operator_for_namespace, target_object,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import crs, finding, kind_ref, stale_status, target_ref
from kubectl_ray.debug.severity import AT_RISK, BY_DESIGN, IGNORED_CONFIG, NOT_RECONCILED, STALLED
from kubectl_ray.debug.snapshot import Snapshot

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
OPERATOR_LOGS = "kubectl -n {ns} logs deploy/{name}"
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAME_LIMITS = {"RayCluster": 53, "RayJob": 47, "RayService": 47}


@rule("OP-01", "KubeRay CRDs are installed and ray.io/v1 is served", policy={ERROR: NOT_RECONCILED})
def check_crds(snap: Snapshot) -> list:
    missing = snap.meta.get("crdsMissing")
    if missing:
        return [finding("OP-01", ERROR, "KubeRay CRDs are not installed (ray.io/v1 is not served)",
                        f"CustomResourceDefinition/{snap.target.plural}.ray.io", evidence=[note(str(missing))],
                        fix="install the KubeRay CRDs and operator: helm install kuberay-operator kuberay/kuberay-operator "
                            "(or kubectl create -k \"github.com/ray-project/kuberay/ray-operator/config/crd?ref=v1.7.0\")",
                        doc=INSTALL_DOC, subject="operator")]
    if not snap.readable("customresourcedefinitions"):
        return []
    out = []
    for plural in sorted({"rayclusters", snap.target.plural}):
        name = f"{plural}.ray.io"
        crd = snap.get("customresourcedefinitions", None, name)
        if crd is None:
            if snap.is_absent("customresourcedefinitions", None, name):
                out.append(finding("OP-01", ERROR, f"CRD {name} is not installed", f"CustomResourceDefinition/{name}",
                                   evidence=[note(f"GET customresourcedefinitions/{name}: NotFound")],
                                   fix="install the KubeRay CRDs (Helm chart kuberay-operator installs them)", doc=INSTALL_DOC,
                                   subject="operator"))
            continue
        served = [v["name"] for v in dig(crd, "spec", "versions", default=[]) if v.get("served") and isinstance(v.get("name"), str)]
        if "v1" not in served:
            out.append(finding("OP-01", ERROR, f"CRD {name} does not serve ray.io/v1", f"CustomResourceDefinition/{name}",
                               evidence=[field_ev("spec.versions[served=true].name", ", ".join(served) or "none")],
                               fix="upgrade the KubeRay CRDs to v1.0.0 or newer (CRDs first, then the operator)",
                               doc=UPGRADE_DOC, subject="operator"))
    return out


@rule("OP-02", "the KubeRay operator is installed and running", policy={ERROR: NOT_RECONCILED, WARNING: STALLED})
def check_operator_running(snap: Snapshot) -> list:
    stale = [(o, ev) for o in crs(snap) if (ev := stale_status(snap, o)) is not None]
    ops = [op for op in operators(snap) if op.source == "deployment"]
    if not ops:
        try:
            snap.need("deployments")
        except MissingData as exc:
            if not stale:
                raise
            o, ev = stale[0]
            return [finding("OP-02", ERROR, "the KubeRay operator is not reconciling this object", kind_ref(o),
                            evidence=[ev, note(f"the operator Deployment could not be checked ({exc.reason})")],
                            fix="check that the KubeRay operator runs and watches this namespace: "
                                "kubectl get deploy -A -l 'app.kubernetes.io/name in (kuberay-operator,kuberay)'",
                            doc=INSTALL_DOC, subject="operator")]
        evidence = [note("no Deployment labelled app.kubernetes.io/name in (kuberay-operator,kuberay) in any namespace")]
        evidence += [ev for _, ev in stale[:1]]
        return [finding("OP-02", ERROR, "the KubeRay operator is not installed", "Deployment/kuberay-operator",
                        evidence=evidence,
                        fix='install it: helm install kuberay-operator kuberay/kuberay-operator (did you install it with '
                            'the name "kuberay-operator"?)', doc=INSTALL_DOC, subject="operator")]
    op = operator_for_namespace(snap, snap.target.namespace) or ops[0]
    if op.available:
        if stale and not _namespace_unwatched(snap):
            o, ev = stale[0]
            return [finding("OP-02", WARNING, "the KubeRay operator runs but has not reconciled this object", kind_ref(o),
                            evidence=[ev, field_ev(f"{op.ref} status.availableReplicas", op.available)],
                            fix=f"look for errors about it in the operator log: {OPERATOR_LOGS.format(ns=op.namespace, name=op.name)}",
                            subject="operator")]
        return []
    evidence = [field_ev("status.availableReplicas", op.available or 0), field_ev("spec.replicas", op.replicas)]
    evidence += _operator_pod_evidence(snap, op.namespace)
    evidence += [ev for _, ev in stale[:1]]
    return [finding("OP-02", ERROR, "the KubeRay operator has no available replica", op.ref, namespace=op.namespace,
                    evidence=evidence, fix=f"see why it is down: {OPERATOR_LOGS.format(ns=op.namespace, name=op.name)} "
                                           "(and kubectl describe on its pod: OOMKilled or CrashLoopBackOff are common)",
                    doc=INSTALL_DOC, subject="operator")]


def _operator_pod_evidence(snap: Snapshot, namespace: str) -> list:
    from kubectl_ray.debug.model import last_termination, waiting_reason

    out = []
    for pod in snap.items("operatorpods", namespace):
        for cs in dig(pod, "status", "containerStatuses", default=[]):
            reason = waiting_reason(cs) or dig(cs, "state", "terminated", "reason", default="")
            last = last_termination(cs)
            if reason or last:
                detail = f"{reason or 'running'}; restarts {cs.get('restartCount', 0)}"
                if last:
                    detail += f"; last terminated: {last.get('reason', '')} (exit {last.get('exitCode', '?')})"
                out.append(field_ev(f"Pod/{name_of(pod)} containerStatuses[{cs.get('name')}]", detail))
    return out[:3]


def _namespace_unwatched(snap: Snapshot) -> bool:
    ops = [op for op in operators(snap) if op.source == "deployment"]
    ns = snap.target.namespace
    return bool(ops) and all((w := op.watched_namespaces()) is not None and ns not in w for op in ops)


@rule("OP-03", "the operator watches the object's namespace", policy={ERROR: NOT_RECONCILED})
def check_watched_namespace(snap: Snapshot) -> list:
    snap.need("deployments")
    if not _namespace_unwatched(snap):
        return []
    ops = [op for op in operators(snap) if op.source == "deployment"]
    ns = snap.target.namespace
    evidence = [field_ev(f"{op.ref} (namespace {op.namespace}) args --watch-namespace", ",".join(op.watched_namespaces() or []))
                for op in ops]
    return [finding("OP-03", ERROR, f'no KubeRay operator watches namespace "{ns}"', target_ref(snap), evidence=evidence,
                    fix=f'add "{ns}" to the operator\'s watchNamespace (Helm value watchNamespace) or install an operator '
                        "for this namespace", doc=INSTALL_DOC, subject="operator")]


@rule("OP-04", "the object is not managed by an external controller", policy={INFO: BY_DESIGN})
def check_managed_by(snap: Snapshot) -> list:
    out = []
    for obj in crs(snap):
        managed = dig(obj, "spec", "managedBy")
        if managed and managed != "ray.io/kuberay-operator":
            out.append(finding("OP-04", INFO, f"managed by {managed}: this operator does not reconcile it", kind_ref(obj),
                               evidence=[field_ev("spec.managedBy", managed)],
                               fix="look at the cluster where the external controller (e.g. a MultiKueue worker cluster) runs it",
                               subject="operator"))
    return out


@rule("OP-05", "the operator accepted the spec (validation)", uses=("events",), policy={ERROR: NOT_RECONCILED, WARNING: AT_RISK})
def check_validation(snap: Snapshot) -> list:
    out = []
    obj = target_object(snap)
    if obj is None:
        return []
    out += _name_checks(snap, obj)
    for cluster in clusters(snap):
        names = [g.name for g in cluster.groups]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            out.append(finding("OP-05", ERROR, f"worker group names must be unique: {', '.join(dupes)}", cluster.ref,
                               evidence=[field_ev(cluster.path("workerGroupSpecs[].groupName"), ", ".join(names))],
                               fix="give every worker group its own groupName", scope=f"{cluster.namespace}/{cluster.name}"))
        if cluster.obj is None:
            continue
        # the v1.7 autoscaler-v1 restartPolicy warning shares the reason but does not block (AS-14)
        invalid = [e for e in events_matching(cluster.events(), ("InvalidRayClusterSpec", "InvalidRayClusterMetadata",
                                                                  "InvalidRayClusterStatus"))
                   if "restartPolicy for worker groups" not in str(e.get("message", ""))]
        ev = latest(invalid)
        if ev is not None and _not_reconciled_since(cluster.obj):
            out.append(finding("OP-05", ERROR, f"the operator rejected the RayCluster spec: {ev.get('message', '')}",
                               cluster.ref, evidence=[event_ev(ev)],
                               fix="fix the field the message names; the operator retries on the next change",
                               scope=f"{cluster.namespace}/{cluster.name}", subject="cluster"))
    if snap.target.kind in ("RayJob", "RayService"):
        kind = snap.target.kind
        ev = latest(events_matching(snap.events_for(snap.target.namespace, kind, snap.target.name),
                                    (f"Invalid{kind}Spec", f"Invalid{kind}Metadata")))
        if ev is not None and _not_reconciled_since(obj) and not dig(obj, "status", "jobDeploymentStatus") == "ValidationFailed":
            out.append(finding("OP-05", ERROR, f"the operator rejected the {kind} spec: {ev.get('message', '')}",
                               target_ref(snap), evidence=[event_ev(ev)],
                               fix="fix the field the message names; the operator creates nothing until then"))
    if snap.target.kind == "RayService":
        ready = next((c for c in dig(obj, "status", "conditions", default=[]) if c.get("type") == "Ready"), None)
        if ready and ready.get("status") == "False" and ready.get("reason") == "ValidationFailed":
            out.append(finding("OP-05", ERROR, f"the operator rejected the RayService spec: {ready.get('message', '')}",
                               target_ref(snap), evidence=[field_ev("status.conditions[Ready].reason", "ValidationFailed"),
                                                           field_ev("status.conditions[Ready].message", ready.get("message", ""))],
                               fix="fix the field the message names", doc=None))
    return out


NAME_LIMIT_SINCE = (1, 4, 0)  # the operator rejects longer names from this release on


def _name_checks(snap: Snapshot, obj: dict[str, Any]) -> list:
    kind, name = obj.get("kind", ""), name_of(obj)
    limit = NAME_LIMITS.get(kind)
    out = []
    if limit and len(name) > limit:
        op = operator_for_namespace(snap, snap.target.namespace)
        rejects = op is None or op.version is None or op.version >= NAME_LIMIT_SINCE
        evidence = [field_ev("metadata.name", f"{name} ({len(name)} characters)")]
        if not rejects:
            evidence.append(field_ev(f"{op.ref} image", op.image or op.version_text))
            # what goes wrong meanwhile: objects named or labelled after it exceed 63 characters
            evidence += [event_ev(e) for e in sorted(_events_of(snap, obj), key=lambda e: str(e.get("lastTimestamp", "")))
                         if e.get("type") == "Warning" and "63 characters" in str(e.get("message", ""))][-1:]
        out.append(finding("OP-05", ERROR if rejects else WARNING, f"{kind} name is longer than {limit} characters",
                           kind_ref(obj), evidence=evidence,
                           fix=f"use a shorter name: KubeRay v1.4+ rejects {kind} names over {limit} characters"
                               + ("" if rejects else f"; {op.version_text} accepts it, but Services, Ingresses and labels "
                                                     "derived from it exceed Kubernetes' 63-character limit"),
                           policy=NOT_RECONCILED if rejects else AT_RISK))
    if name and not DNS1035.match(name):
        out.append(finding("OP-05", ERROR, f"{kind} name is not a DNS-1035 label", kind_ref(obj),
                           evidence=[field_ev("metadata.name", name)],
                           fix="use lowercase letters, digits and '-', starting with a letter (Services are named after it)"))
    return out


def _events_of(snap: Snapshot, obj: dict[str, Any]) -> list[dict[str, Any]]:
    return snap.events_for(snap.target.namespace, obj.get("kind", ""), name_of(obj))


def _not_reconciled_since(obj: dict[str, Any]) -> bool:
    status = dig(obj, "status", default={})
    observed, generation = status.get("observedGeneration"), dig(obj, "metadata", "generation")
    if not status:
        return True
    if isinstance(observed, int) and isinstance(generation, int):
        return observed < generation
    return True


# field present -> (feature gate, what it is)
GATED_FIELDS: list[tuple[str, str, Any, str]] = [
    ("RayCluster", "networkPolicy", None, "RayClusterNetworkPolicy"),
    ("RayCluster", "tlsOptions", None, "RayClusterMTLS"),
    ("RayCluster", "historyServerOptions", None, "RayClusterHistoryServer"),
    ("RayCluster", "gcsFaultToleranceOptions.backend", "rocksdb", "GCSFaultToleranceEmbeddedStorage"),
    ("RayService", "upgradeStrategy.type", "NewClusterWithIncrementalUpgrade", "RayServiceIncrementalUpgrade"),
    ("RayJob", "deletionStrategy", None, "RayJobDeletionPolicy"),
]


def gated_fields(snap: Snapshot) -> list[tuple[str, str, str, Any]]:
    """(object ref, field path, gate, value) for every gated field in use."""
    out = []
    obj = target_object(snap)
    for cluster in clusters(snap):
        for kind, path, want, gate in GATED_FIELDS:
            if kind != "RayCluster":
                continue
            value = dig(cluster.spec, *path.split("."))
            if value is not None and (want is None or value == want) and not _disabled(value):
                out.append((cluster.ref, cluster.path(path), gate, value))
    if obj is not None and snap.target.kind != "RayCluster":
        for kind, path, want, gate in GATED_FIELDS:
            if kind == snap.target.kind:
                value = dig(obj, "spec", *path.split("."))
                if value is not None and (want is None or value == want):
                    out.append((target_ref(snap), f"spec.{path}", gate, value))
    return out


def _disabled(value: Any) -> bool:
    return isinstance(value, dict) and value.get("enabled") is False


@rule("OP-06", "fields that need an operator feature gate have it enabled", uses=("events",), policy={ERROR: NOT_RECONCILED})
def check_feature_gates(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        for ev in cluster.events():
            if "feature gate" in str(ev.get("message", "")) and ev.get("type") == "Warning":
                out.append(finding("OP-06", ERROR, "the operator refuses a field whose feature gate is off", cluster.ref,
                                   evidence=[event_ev(ev)], fix="enable the gate the message names on the operator "
                                   "(--feature-gates=<Gate>=true, Helm value featureGates)",
                                   scope=f"{cluster.namespace}/{cluster.name}"))
                break
    if out:
        return out
    used = gated_fields(snap)
    if not used:
        return []
    op = operator_for_namespace(snap, snap.target.namespace)
    if op is None or op.source != "deployment":
        snap.need("deployments")  # unreadable: "not checked"; readable but absent: OP-02's business
        return []
    for ref, path, gate, value in used:
        state = op.gate(gate)
        if state is False:
            shown = value if not isinstance(value, (dict, list)) else "set"
            out.append(finding("OP-06", ERROR, f"{path.rsplit('.', 1)[-1]} needs the {gate} feature gate, which is off",
                               ref, evidence=[field_ev(path, shown),
                                              field_ev(f"{op.ref} args --feature-gates", op.flag("feature-gates") or "<unset>"),
                                              note(f"operator {op.version_text}: {gate} defaults to off")],
                               fix=f"start the operator with --feature-gates={gate}=true (Helm: featureGates[{gate}]=true) "
                                   "or remove the field", subject="operator"))
    return out


@rule("OP-07", "every field the object uses is known to the installed CRD", policy={WARNING: IGNORED_CONFIG})
def check_crd_schema(snap: Snapshot) -> list:
    out = []
    for obj in crs(snap):
        plural = {"RayCluster": "rayclusters", "RayJob": "rayjobs", "RayService": "rayservices"}.get(obj.get("kind", ""))
        if plural is None:
            continue
        snap.need("customresourcedefinitions")
        crd = snap.get("customresourcedefinitions", None, f"{plural}.ray.io")
        if crd is None:
            continue
        schema = next((dig(v, "schema", "openAPIV3Schema") for v in dig(crd, "spec", "versions", default=[])
                       if v.get("name") == "v1"), None)
        if not schema:
            continue
        manifest, source = _user_manifest(obj)
        unknown = unknown_fields(dig(manifest, "spec", default={}), dig(schema, "properties", "spec", default={}), "spec")
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            out.append(finding("OP-07", WARNING, f"the installed CRD does not know {len(unknown)} field(s) the object uses",
                               kind_ref(obj), evidence=[field_ev(f"{source} fields missing from the CRD schema", shown)],
                               fix="upgrade the CRDs to match the operator (Helm does not upgrade CRDs: "
                                   "kubectl replace -k \"github.com/ray-project/kuberay/ray-operator/config/crd?ref=<version>\"); "
                                   "the API server silently drops unknown fields", doc=UPGRADE_DOC))
    return out


def _user_manifest(obj: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """What the user applied (last-applied annotation), else the stored object."""
    raw = annotations_of(obj).get(LAST_APPLIED)
    if raw:
        try:
            doc = json.loads(raw)
            if isinstance(doc, dict):
                return doc, "last-applied-configuration"
        except ValueError:
            pass
    return obj, "object"


def unknown_fields(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Paths in value that a structural schema does not declare (ignoring elided subtrees)."""
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubectl-ray-elided"):
        return []
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if props is not None and key in props:
                out += unknown_fields(sub, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                out += unknown_fields(sub, extra, f"{path}.{key}")
            elif props is not None and extra is not True:
                out.append(f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            for p in unknown_fields(item, schema["items"], f"{path}[{i}]"):
                if p not in out:
                    out.append(p)
    return out


@rule("OP-08", "objects are written as ray.io/v1, not the deprecated v1alpha1", aliases=("VER-05",), policy={WARNING: IGNORED_CONFIG})
def check_v1alpha1(snap: Snapshot) -> list:
    out = []
    for obj in crs(snap):
        managers = [m.get("manager", "?") for m in dig(obj, "metadata", "managedFields", default=[])
                    if m.get("apiVersion") == "ray.io/v1alpha1"]
        manifest, source = _user_manifest(obj)
        evidence = []
        if managers:
            evidence.append(field_ev("metadata.managedFields[].apiVersion", f"ray.io/v1alpha1 (manager {', '.join(sorted(set(managers)))})"))
        if source == "last-applied-configuration" and manifest.get("apiVersion") == "ray.io/v1alpha1":
            evidence.append(field_ev("last-applied-configuration apiVersion", "ray.io/v1alpha1"))
        if evidence:
            out.append(finding("OP-08", WARNING, "written as ray.io/v1alpha1, which is deprecated and goes away in KubeRay 1.9",
                               kind_ref(obj), evidence=evidence, aliases=("VER-05",),
                               fix="change apiVersion to ray.io/v1 in your manifests and tools", doc=UPGRADE_DOC))
    return out
