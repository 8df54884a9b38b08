"""What kube-controller-manager and the components' event recorders add to the API server's state.

* Garbage collector: when an owner is gone, its dependents (ownerReferences by uid) are deleted
  unless another owner still exists (then the dangling reference is dropped). An owner deleted
  with propagationPolicy=Foreground keeps the `foregroundDeletion` finalizer until every dependent
  with blockOwnerDeletion is gone.
* EndpointSlice controller: one slice per Service with a selector, labelled
  kubernetes.io/service-name, listing the selected pods that have an IP (ready = pod Ready or
  service publishNotReadyAddresses; serving; terminating).
* record_event(): an Event recorder with the API server's aggregation of repeats: core/v1 style
  (kubelet: count, firstTimestamp/lastTimestamp, source) or events.k8s.io style (controllers and
  the scheduler: eventTime, series, reportingComponent, action).

Both controllers react to API-level writes only (see state.py): objects seeded with add() keep
the state they were given until something changes them through the API.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from tests.emulator.resources import ResourceInfo
from tests.emulator.selectors import label_selector
from tests.emulator.state import Emulator, clone, now_rfc3339

MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"


def install_builtin_controllers(emu: Emulator) -> None:
    emu.observe(lambda event, res, obj, old, api: _on_change(emu, event, res, obj, old, api))


def _on_change(emu: Emulator, event: str, res: ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None,
               api: bool) -> None:
    if not api or not emu.controllers_enabled:
        return
    if event == "DELETED":
        collect_dependents(emu, obj)
        _release_foreground_owners(emu, obj)
    if res.plural == "services":
        sync_endpoint_slice(emu, obj if event != "DELETED" else None, obj)
    elif res.plural == "pods":
        _pod_changed(emu, obj, old)


# --- garbage collector ------------------------------------------------------------------------------

def collect_dependents(emu: Emulator, owner: dict[str, Any]) -> None:
    """Background collection after owner is gone."""
    uid = owner["metadata"].get("uid", "")
    for res, dependent in emu.dependents_of(uid):
        _delete_or_unlink(emu, res, dependent, uid, "Background")


def delete_dependents(emu: Emulator, owner: dict[str, Any], propagation: str) -> None:
    """Foreground deletion: delete the dependents now; release the owner once they are gone."""
    uid = owner["metadata"].get("uid", "")
    for res, dependent in emu.dependents_of(uid):
        _delete_or_unlink(emu, res, dependent, uid, propagation)
    _maybe_release(emu, uid)


def _delete_or_unlink(emu: Emulator, res: ResourceInfo, dependent: dict[str, Any], owner_uid: str,
                      propagation: str) -> None:
    from tests.emulator.api import ApiError, delete

    meta = dependent["metadata"]
    others = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner_uid and emu.by_uid(r.get("uid", ""))]
    if others:
        updated = clone(dependent)
        updated["metadata"]["ownerReferences"] = [r for r in meta["ownerReferences"] if r.get("uid") != owner_uid]
        emu.commit(res, updated, "MODIFIED", dependent)
        return
    if meta.get("deletionTimestamp"):
        return
    try:
        delete(emu, res, meta.get("namespace"), meta["name"], propagation=propagation)
    except ApiError:
        pass  # already gone


def _release_foreground_owners(emu: Emulator, dependent: dict[str, Any]) -> None:
    for ref in dependent["metadata"].get("ownerReferences") or []:
        _maybe_release(emu, ref.get("uid", ""))


def _maybe_release(emu: Emulator, owner_uid: str) -> None:
    """Drop the foregroundDeletion finalizer of an owner whose blocking dependents are all gone."""
    found = emu.by_uid(owner_uid)
    if found is None:
        return
    res, owner = found
    finalizers = owner["metadata"].get("finalizers") or []
    if "foregroundDeletion" not in finalizers or not owner["metadata"].get("deletionTimestamp"):
        return
    for _, dependent in emu.dependents_of(owner_uid):
        if any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in
               dependent["metadata"].get("ownerReferences") or []):
            return
    updated = clone(owner)
    updated["metadata"]["finalizers"] = [f for f in finalizers if f != "foregroundDeletion"]
    if not updated["metadata"]["finalizers"]:
        del updated["metadata"]["finalizers"]
        emu.commit(res, updated, "DELETED", owner)
    else:
        emu.commit(res, updated, "MODIFIED", owner)


# --- EndpointSlices ---------------------------------------------------------------------------------

def _pod_changed(emu: Emulator, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
    ns = pod["metadata"].get("namespace")
    for svc in emu.view("services", ns):
        selector = (svc.get("spec") or {}).get("selector")
        if not selector:
            continue
        if _selects(selector, pod) or (old is not None and _selects(selector, old)):
            sync_endpoint_slice(emu, svc, svc)


def _selects(selector: dict[str, str], pod: dict[str, Any]) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def sync_endpoint_slice(emu: Emulator, svc: dict[str, Any] | None, ref: dict[str, Any]) -> None:
    """Make the managed EndpointSlice of a Service match its pods (delete it when svc is None)."""
    ns, name = ref["metadata"].get("namespace"), ref["metadata"]["name"]
    selector = ((svc or {}).get("spec") or {}).get("selector")
    existing = [s for s in emu.view("endpointslices", ns)
                if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == SLICE_CONTROLLER]
    if svc is None or not selector:
        for stale in existing:
            _delete_quietly(emu, "endpointslices", ns, stale["metadata"]["name"])
        return
    assert svc is not None
    desired = _slice_content(emu, svc)
    if existing:
        current = existing[0]
        for extra in existing[1:]:
            _delete_quietly(emu, "endpointslices", ns, extra["metadata"]["name"])
        if all(current.get(k) == desired[k] for k in ("endpoints", "ports")) and \
                current["metadata"].get("labels") == desired["metadata"]["labels"]:
            return
        updated = clone(current)
        updated.update({k: desired[k] for k in ("endpoints", "ports", "addressType")})
        updated["metadata"]["labels"] = desired["metadata"]["labels"]
        updated["metadata"].setdefault("annotations", {})["endpoints.kubernetes.io/last-change-trigger-time"] = \
            now_rfc3339()
        emu.replace("endpointslices", ns, current["metadata"]["name"], updated)
        return
    emu.create("endpointslices", desired, ns)


def _slice_content(emu: Emulator, svc: dict[str, Any]) -> dict[str, Any]:
    meta, spec = svc["metadata"], svc.get("spec") or {}
    ns = meta.get("namespace")
    match = label_selector(",".join(f"{k}={v}" for k, v in spec["selector"].items()))
    pods = [p for p in emu.view("pods", ns) if match(p) and (p.get("status") or {}).get("podIP")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    publish = bool(spec.get("publishNotReadyAddresses"))
    endpoints = []
    for pod in pods:
        ready = pod_ready(pod)
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        endpoint: dict[str, Any] = {
            "addresses": [pod["status"]["podIP"]],
            "conditions": {"ready": (publish or ready) and not terminating, "serving": ready,
                           "terminating": terminating},
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"],
                          "uid": pod["metadata"].get("uid", "")}}
        if (pod.get("spec") or {}).get("nodeName"):
            endpoint["nodeName"] = pod["spec"]["nodeName"]
        endpoints.append(endpoint)
    ports = []
    for port in spec.get("ports") or []:
        entry = {"name": port.get("name", ""), "port": _target_port(port, pods), "protocol": port.get("protocol", "TCP")}
        if port.get("appProtocol"):
            entry["appProtocol"] = port["appProtocol"]
        ports.append(entry)
    labels = dict(meta.get("labels") or {})
    labels.update({SERVICE_NAME: meta["name"], MANAGED_BY: SLICE_CONTROLLER})
    if spec.get("clusterIP") == "None":
        labels["service.kubernetes.io/headless"] = ""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": ns, "labels": labels,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"],
                                              "uid": meta.get("uid", ""), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def _target_port(port: dict[str, Any], pods: list[dict[str, Any]]) -> int:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for cport in container.get("ports") or []:
                if cport.get("name") == target:
                    return int(cport.get("containerPort"))
    return int(port.get("port") or 0)


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _delete_quietly(emu: Emulator, plural: str, ns: str | None, name: str) -> None:
    from tests.emulator.api import ApiError

    try:
        emu.delete(plural, ns, name)
    except ApiError:
        pass


# --- events -------------------------------------------------------------------------------------

def record_event(emu: Emulator, involved: dict[str, Any], etype: str, reason: str, message: str, *,
                 component: str = "kuberay-operator", style: str = "core", action: str = "", host: str = "",
                 field_path: str = "") -> dict[str, Any]:
    """Create an Event, or count a repeat of the same one (same object, type, reason, message, source)."""
    meta = involved["metadata"]
    ns = meta.get("namespace") or "default"
    key = (meta.get("uid", ""), involved.get("kind"), ns, meta["name"], etype, reason, message, component, field_path)
    index: dict[tuple, str] = emu.__dict__.setdefault("_event_index", {})
    now, micro = now_rfc3339(), _micro_now()
    with emu.lock:
        name = index.get(key)
        existing = emu.peek("events", ns, name) if name else None
        if existing is not None:
            updated = clone(existing)
            if style == "core":
                updated["count"] = int(updated.get("count") or 1) + 1
                updated["lastTimestamp"] = now
            else:
                count = int((updated.get("series") or {}).get("count") or 1) + 1
                updated["series"] = {"count": count, "lastObservedTime": micro}
            return emu.replace("events", ns, name, updated)
        event = _event_object(involved, ns, etype, reason, message, component, style, action, host, field_path,
                              now, micro)
        created = emu.create("events", event, ns)
        index[key] = created["metadata"]["name"]
        return created


def _event_object(involved: dict[str, Any], ns: str, etype: str, reason: str, message: str, component: str,
                  style: str, action: str, host: str, field_path: str, now: str, micro: str) -> dict[str, Any]:
    meta = involved["metadata"]
    ref = {"apiVersion": involved.get("apiVersion", "v1"), "kind": involved.get("kind"), "name": meta["name"],
           "namespace": ns, "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion", "")}
    if field_path:
        ref["fieldPath"] = field_path
    event: dict[str, Any] = {"apiVersion": "v1", "kind": "Event",
                             "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": ns},
                             "involvedObject": ref, "reason": reason, "message": message, "type": etype}
    if style == "core":
        event.update({"count": 1, "firstTimestamp": now, "lastTimestamp": now, "eventTime": None,
                      "source": {"component": component, **({"host": host} if host else {})},
                      "reportingComponent": component, "reportingInstance": host})
    else:
        event.update({"eventTime": micro, "firstTimestamp": None, "lastTimestamp": None, "source": {},
                      "action": action, "reportingComponent": component,
                      "reportingInstance": host or f"{component}-0"})
    return event


def _micro_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
