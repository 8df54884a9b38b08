"""What kube-apiserver does on a write: decoding, admission, validation, storage, deletion.

    result = create(emu, res, body, "default", dry_run=False, field_validation="Strict")
    result.obj, result.code, result.warnings

Errors are raised as ApiError (HTTP status + the Status body the server sends). Semantics follow
k8s.io/apiserver and k8s.io/apiextensions-apiserver v0.32:
* custom resources are pruned, defaulted and validated against their CRD schema (schema.py);
  unknown fields are an error with fieldValidation=Strict (what kubectl sends), a `Warning`
  header otherwise;
* with a status subresource, create and update of the main resource ignore `status`, and
  `/status` ignores everything but `status`; metadata.generation goes up when anything outside
  metadata changes (for custom resources), or when `spec` changes (built-in kinds);
* delete honours finalizers (deletionTimestamp first), propagationPolicy Foreground
  (`foregroundDeletion` finalizer until the dependents are gone), Background (dependents are
  collected after the owner is gone, controllers.py) and Orphan, and pods on a node terminate
  gracefully while a kubelet plays (the KubeRay player's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.emulator import schema
from tests.emulator.resources import ResourceInfo
from tests.emulator.state import Emulator, clone, now_rfc3339

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
            500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
_GENERATION_BUILTINS = ("deployments", "replicasets", "jobs", "statefulsets", "daemonsets", "networkpolicies")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def status_body(code: int, message: str, reason: str | None = None, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason or _REASONS.get(code, "Unknown"), "code": code}
    if details is not None:
        body["details"] = details
    return body


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, message, reason, details)


@dataclass
class Result:
    obj: dict[str, Any]
    code: int = 200
    warnings: list[str] = field(default_factory=list)


def not_found(res: ResourceInfo, name: str) -> ApiError:
    return ApiError(404, f'{res.display} "{name}" not found', details={"name": name, "group": res.group,
                                                                      "kind": res.plural})


def conflict(res: ResourceInfo, name: str) -> ApiError:
    return ApiError(409, f'Operation cannot be fulfilled on {res.display} "{name}": the object has been modified; '
                         "please apply your changes to the latest version and try again", "Conflict",
                    details={"name": name, "group": res.group, "kind": res.plural})


def invalid(res: ResourceInfo, name: str, causes: list[dict[str, Any]]) -> ApiError:
    """422 as apierrors.NewInvalid words it: `Kind.group "name" is invalid: <aggregate>`."""
    qualified = f"{res.kind}.{res.group}" if res.group else res.kind
    messages: list[str] = []
    for cause in causes:
        text = f"{cause['field']}: {cause['message']}" if cause.get("field") else cause["message"]
        if text not in messages:
            messages.append(text)
    aggregate = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    return ApiError(422, f'{qualified} "{name}" is invalid: {aggregate}',
                    details={"name": name, "group": res.group, "kind": res.kind, "causes": causes})


# --- decoding: pruning and defaulting ---------------------------------------------------------------

def coerce(emu: Emulator, res: ResourceInfo, obj: dict[str, Any]) -> list[str]:
    """Prune and default a custom resource in place; the unknown field paths that were dropped."""
    crd = emu.crd_kind(res)
    if crd is None:
        return []
    unknown = schema.prune(obj, crd.schema)
    schema.default(obj, crd.schema)
    return unknown


def _decode(emu: Emulator, res: ResourceInfo, body: dict[str, Any], field_validation: str | None) -> tuple[dict, list[str]]:
    obj = clone(body)
    unknown = coerce(emu, res, obj)
    warnings: list[str] = []
    if unknown:
        texts = [f'unknown field "{path}"' for path in unknown]
        if (field_validation or "Warn") == "Strict":
            raise ApiError(400, f"{res.kind} in version \"{res.version}\" cannot be handled as a {res.kind}: "
                                f"strict decoding error: {', '.join(texts)}")
        if (field_validation or "Warn") == "Warn":
            warnings = texts
    return obj, warnings


# --- validation ---------------------------------------------------------------------------------------

def validation_causes(emu: Emulator, res: ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None) -> list[dict]:
    causes = _metadata_causes(res, obj.get("metadata") or {})
    crd = emu.crd_kind(res)
    if crd is not None:
        causes += schema.validate(obj, crd.schema, old)
    if emu.validator is not None:
        causes += emu.validator(res, obj) or []
    return causes


def _metadata_causes(res: ResourceInfo, meta: dict[str, Any]) -> list[dict]:
    causes = []
    name = meta.get("name") or ""
    if res.plural == "services":
        if not _DNS_LABEL_1035.match(name) or len(name) > 63:
            causes.append(schema.invalid("metadata.name", name, _dns1035_message(name)))
    elif res.plural not in ("events",) and name:
        if len(name) > 253:
            causes.append(schema.invalid("metadata.name", name, "must be no more than 253 characters"))
        elif not _DNS_SUBDOMAIN.match(name):
            causes.append(schema.invalid("metadata.name", name, _subdomain_message()))
    for key, value in sorted((meta.get("labels") or {}).items()):
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(schema.invalid("metadata.labels", value if isinstance(value, str) else str(value),
                                         _label_value_message(value)))
        if not _label_key_ok(key):
            causes.append(schema.invalid("metadata.labels", key, "name part must consist of alphanumeric characters, "
                                         "'-', '_' or '.', and must start and end with an alphanumeric character "
                                         "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                                         "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
    return causes


def _label_key_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(name) and len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _subdomain_message() -> str:
    return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def _dns1035_message(name: str) -> str:
    if len(name) > 63:
        return "must be no more than 63 characters"
    return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
            "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
            "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def _label_value_message(value: Any) -> str:
    if isinstance(value, str) and len(value) > 63:
        return "must be no more than 63 characters"
    return ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
            "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


# --- create ---------------------------------------------------------------------------------------------

def create(emu: Emulator, res: ResourceInfo, body: Any, namespace: str | None, *, dry_run: bool = False,
           field_validation: str | None = None) -> Result:
    if not isinstance(body, dict):
        raise ApiError(400, "the body of the request was in an unknown format")
    if body.get("apiVersion") != res.group_version or body.get("kind") != res.kind:
        raise ApiError(400, f"the API version in the data ({body.get('apiVersion')}) does not match the expected "
                            f"API version ({res.group_version}) or kind ({body.get('kind')} vs {res.kind})")
    obj, warnings = _decode(emu, res, body, field_validation)
    meta = obj.setdefault("metadata", {})
    if res.namespaced:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
        if emu.peek("namespaces", None, namespace or "") is None:
            raise ApiError(404, f'namespaces "{namespace}" not found', details={"name": namespace, "kind": "namespaces"})
    else:
        meta.pop("namespace", None)
    if not meta.get("name"):
        if not meta.get("generateName"):
            raise ApiError(422, f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                           details={"kind": res.kind, "causes": [{"reason": "FieldValueRequired", "field": "metadata.name",
                                                                   "message": "Required value: name or generateName is required"}]})
        meta["name"] = meta["generateName"] + emu.generate_suffix()
    _prepare_for_create(res, obj)
    causes = validation_causes(emu, res, obj, None)
    if causes:
        raise invalid(res, meta["name"], causes)
    with emu.lock:
        if emu.peek(res, meta.get("namespace"), meta["name"]) is not None:
            raise ApiError(409, f'{res.display} "{meta["name"]}" already exists', "AlreadyExists",
                           details={"name": meta["name"], "group": res.group, "kind": res.plural})
        meta["uid"] = _uid()
        meta["creationTimestamp"] = now_rfc3339()
        if res.plural == "jobs":
            _default_job(obj)
        meta.pop("resourceVersion", None)
        meta.pop("deletionTimestamp", None)
        if dry_run:
            return Result(obj, 201, warnings)
        stored = emu.commit(res, obj, "ADDED", None)
    return Result(clone(stored), 201, warnings)


def _prepare_for_create(res: ResourceInfo, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    meta["generation"] = 1
    if res.plural == "secrets":
        _secret_string_data(obj)
    elif res.plural == "pods":
        default_pod_spec(obj.setdefault("spec", {}))
    elif res.plural == "services":
        _default_service(obj)
    if "status" not in res.subresources:
        return
    if res.plural == "pods":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    elif res.plural == "services":
        obj["status"] = {"loadBalancer": {}}
    elif res.group == "ray.io" or res.plural in _GENERATION_BUILTINS:
        obj.pop("status", None)


def default_pod_spec(spec: dict[str, Any]) -> None:
    """The defaults kube-apiserver gives a pod (pkg/apis/core/v1/defaults.go and the default admission plugins)."""
    for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30), ("dnsPolicy", "ClusterFirst"),
                       ("securityContext", {}), ("schedulerName", "default-scheduler"), ("priority", 0),
                       ("enableServiceLinks", True), ("preemptionPolicy", "PreemptLowerPriority"),
                       ("serviceAccountName", "default")):
        spec.setdefault(key, value)
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        image = str(container.get("image") or "")
        tag = image.rsplit("/", 1)[-1]
        latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _default_job(job: dict[str, Any]) -> None:
    """batch/v1 Job defaults: the generated selector on the controller uid, labels on the template."""
    spec = job.setdefault("spec", {})
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
              "controller-uid": uid, "job-name": name}
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
    for key, value in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6), ("completionMode", "NonIndexed"),
                       ("suspend", False), ("podReplacementPolicy", "TerminatingOrFailed"), ("manualSelector", False)):
        spec.setdefault(key, value)
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def _default_service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    import uuid

    digest = uuid.uuid4().int
    if spec["type"] in ("NodePort", "LoadBalancer"):
        for i, port in enumerate(spec.get("ports") or []):
            port.setdefault("nodePort", 30000 + (digest + i * 7919) % 2768)
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = f"10.96.{digest % 250 + 1}.{(digest >> 8) % 250 + 2}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")


def _secret_string_data(obj: dict[str, Any]) -> None:
    """stringData is write-only: the API server merges it into data (base64) and drops it."""
    import base64

    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed when every container has equal cpu and memory requests and limits, BestEffort with none."""
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set, guaranteed = False, True
    for c in containers:
        resources = c.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits.get(name)) != limits.get(name):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# --- update (PUT) and patch ---------------------------------------------------------------------------

def replace(emu: Emulator, res: ResourceInfo, namespace: str | None, name: str, body: Any, *, sub: str | None = None,
            dry_run: bool = False, field_validation: str | None = None) -> Result:
    if not isinstance(body, dict):
        raise ApiError(400, "the body of the request was in an unknown format")
    ns = namespace if res.namespaced else None
    with emu.lock:
        current = emu.peek(res, ns, name)
        if current is None:
            raise not_found(res, name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if not rv:
            raise ApiError(422, f'{res.kind}.{res.group} "{name}" is invalid: metadata.resourceVersion: '
                                "Invalid value: 0x0: must be specified for an update",
                           details={"name": name, "kind": res.kind, "causes": [
                               {"reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                                "message": "Invalid value: 0x0: must be specified for an update"}]})
        if rv != current["metadata"]["resourceVersion"]:
            raise conflict(res, name)
        obj, warnings = _decode(emu, res, body, field_validation)
        return _update(emu, res, current, obj, sub, dry_run, warnings)


def patch(emu: Emulator, res: ResourceInfo, namespace: str | None, name: str, patch_body: Any, content_type: str, *,
          sub: str | None = None, dry_run: bool = False, field_validation: str | None = None) -> Result:
    ns = namespace if res.namespaced else None
    with emu.lock:
        current = emu.peek(res, ns, name)
        if current is None:
            if content_type == "application/apply-patch+yaml" and isinstance(patch_body, dict):
                return create(emu, res, patch_body, namespace, dry_run=dry_run, field_validation=field_validation)
            raise not_found(res, name)
        try:
            if content_type == "application/json-patch+json":
                patched = json_patch(current, patch_body)
            elif content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                                  "application/apply-patch+yaml"):
                patched = merge_patch(current, patch_body)
            else:
                raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                                    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, f"the patch could not be applied: {exc}") from None
        if not isinstance(patched, dict):
            raise ApiError(422, "the patch could not be applied: the result is not an object")
        rv = (patched.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise conflict(res, name)
        obj, warnings = _decode(emu, res, patched, field_validation)
        return _update(emu, res, current, obj, sub, dry_run, warnings)


def _update(emu: Emulator, res: ResourceInfo, current: dict, obj: dict, sub: str | None, dry_run: bool,
            warnings: list[str]) -> Result:
    updated = merge_update(res, current, obj, sub)
    causes = validation_causes(emu, res, updated, current)
    if causes:
        raise invalid(res, current["metadata"]["name"], causes)
    updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    if dry_run:
        return Result(updated, 200, warnings)
    if updated["metadata"].get("deletionTimestamp") and not updated["metadata"].get("finalizers"):
        return Result(clone(emu.commit(res, updated, "DELETED", current)), 200, warnings)
    stored = emu.commit(res, updated, "MODIFIED", current)
    return Result(clone(stored), 200, warnings)


def merge_update(res: ResourceInfo, current: dict, body: dict, sub: str | None) -> dict:
    """The object an update stores: status-subresource rules, immutable metadata, generation."""
    if sub == "status":
        updated = clone(current)
        if "status" in body:
            updated["status"] = clone(body["status"])
        else:
            updated.pop("status", None)
        return updated
    updated = clone(body)
    meta = updated.setdefault("metadata", {})
    for key in ("uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds"):
        if key in current["metadata"]:
            meta[key] = current["metadata"][key]
        else:
            meta.pop(key, None)
    if "status" in res.subresources:
        if "status" in current:
            updated["status"] = clone(current["status"])
        else:
            updated.pop("status", None)
    if _generation_changes(res, current, updated):
        meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
    return updated


def _generation_changes(res: ResourceInfo, current: dict, updated: dict) -> bool:
    if res.group == "ray.io" or res.plural in _GENERATION_BUILTINS:
        return {k: v for k, v in current.items() if k != "metadata"} != \
            {k: v for k, v in updated.items() if k != "metadata"}
    return updated.get("spec") != current.get("spec")


# --- delete ------------------------------------------------------------------------------------------

def delete(emu: Emulator, res: ResourceInfo, namespace: str | None, name: str, *, propagation: str | None = None,
           dry_run: bool = False, grace_period: int | None = None, preconditions: dict | None = None) -> Result:
    ns = namespace if res.namespaced else None
    with emu.lock:
        current = emu.peek(res, ns, name)
        if current is None:
            raise not_found(res, name)
        meta = current["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid") or \
                pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise ApiError(409, f'Operation cannot be fulfilled on {res.display} "{name}": Precondition failed: '
                                f'UID in precondition: {pre.get("uid")}, UID in object meta: {meta.get("uid")}',
                           "Conflict", details={"name": name, "group": res.group, "kind": res.plural})
        if dry_run:
            return Result(clone(current))
        if propagation == "Orphan":
            _orphan_dependents(emu, meta.get("uid", ""))
        graceful = _pod_grace(emu, res, current, grace_period)
        if meta.get("deletionTimestamp"):
            if graceful is None and res.plural == "pods" and grace_period == 0 and not meta.get("finalizers"):
                return Result(clone(emu.commit(res, clone(current), "DELETED", current)))
            return Result(clone(current))
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Foreground" and emu.dependents_of(meta.get("uid", "")):
            finalizers.append("foregroundDeletion")
        if finalizers or graceful is not None:
            updated = clone(current)
            if updated["metadata"].get("generation"):  # rest.BeforeDelete: controllers must notice
                updated["metadata"]["generation"] = int(updated["metadata"]["generation"]) + 1
            updated["metadata"]["deletionTimestamp"] = now_rfc3339() if graceful is None else graceful[0]
            updated["metadata"]["deletionGracePeriodSeconds"] = 0 if graceful is None else graceful[1]
            if finalizers:
                updated["metadata"]["finalizers"] = finalizers
            stored = emu.commit(res, updated, "MODIFIED", current)
            if "foregroundDeletion" in finalizers:
                from tests.emulator.controllers import delete_dependents

                delete_dependents(emu, stored, "Foreground")
            return Result(clone(emu.peek(res, ns, name) or stored))
        gone = emu.commit(res, clone(current), "DELETED", current)
    return Result(clone(gone))


def _pod_grace(emu: Emulator, res: ResourceInfo, pod: dict, grace_period: int | None) -> tuple[str, int] | None:
    """(deletionTimestamp, grace seconds) when a pod terminates gracefully: on a node, a kubelet playing."""
    if res.plural != "pods" or not emu.kubelet_active or grace_period == 0:
        return None
    if not (pod.get("spec") or {}).get("nodeName") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return None
    seconds = grace_period if grace_period is not None else int((pod.get("spec") or {}).get(
        "terminationGracePeriodSeconds") or 30)
    from datetime import datetime, timedelta, timezone

    when = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return when, seconds


def _orphan_dependents(emu: Emulator, uid: str) -> None:
    for dep_res, dep in emu.dependents_of(uid):
        refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        updated = clone(dep)
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        emu.commit(dep_res, updated, "MODIFIED", dep)


def _uid() -> str:
    import uuid

    return str(uuid.uuid4())


# --- patch formats ----------------------------------------------------------------------------------

def merge_patch(target: Any, patch_doc: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch_doc, dict):
        return clone(patch_doc)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch_doc.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, test, move, copy)."""
    doc = clone(target)
    if not isinstance(ops, list):
        raise ValueError("a JSON patch must be a list of operations")
    for op in ops:
        kind, path = op["op"], op["path"]
        if kind == "test":
            if _pointer_get(doc, path) != op["value"]:
                raise ValueError(f"test failed at {path}")
        elif kind == "remove":
            _pointer_remove(doc, path)
        elif kind in ("add", "replace"):
            if kind == "replace":
                _pointer_get(doc, path)
            doc = _pointer_set(doc, path, clone(op["value"]), insert=kind == "add")
        elif kind in ("move", "copy"):
            value = _pointer_get(doc, op["from"])
            if kind == "move":
                _pointer_remove(doc, op["from"])
            doc = _pointer_set(doc, path, clone(value), insert=True)
        else:
            raise ValueError(f"unknown JSON patch op {kind!r}")
    return doc


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in path.lstrip("/").split("/")]


def _pointer_get(doc: Any, path: str) -> Any:
    for token in _tokens(path):
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def _pointer_remove(doc: Any, path: str) -> None:
    *parents, last = _tokens(path)
    parent = _pointer_get(doc, "/" + "/".join(parents)) if parents else doc
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]


def _pointer_set(doc: Any, path: str, value: Any, insert: bool) -> Any:
    tokens = _tokens(path)
    if not tokens:
        return value
    *parents, last = tokens
    parent = doc
    for token in parents:
        parent = parent[int(token)] if isinstance(parent, list) else parent[token]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif insert:
            parent.insert(int(last), value)
        else:
            parent[int(last)] = value
    else:
        parent[last] = value
    return doc
