"""Table responses (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), as kubectl get asks for them.

Custom resources get the CRD's additionalPrinterColumns exactly as apiextensions' table convertor
builds them (tableconvertor.go: a Name column, then each column's JSONPath; `string` columns print
any value, `integer`/`number`/`boolean` keep typed values, `date` becomes an age computed by the
server). A few built-in kinds get the columns kube-apiserver's printers give them (pods, services,
events, nodes, namespaces, deployments, jobs, secrets, configmaps, endpointslices, CRDs); the rest
get the default Name/Created At table.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

from kubectl_ray.printing import human_duration  # a port of apimachinery's duration.HumanDuration
from tests.emulator.crds import json_path_value
from tests.emulator.resources import ResourceInfo

Column = dict[str, Any]
RowFn = Callable[[dict[str, Any]], list[Any]]

_NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
              "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
              "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
              "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")


def wants_table(accept: str) -> bool:
    return any("as=Table" in part for part in accept.split(",")) and "g=meta.k8s.io" in accept


def table(columns: list[Column], rows: list[list[Any]], objects: list[dict[str, Any]], *, resource_version: str,
          continue_token: str | None = None, remaining: int | None = None, include_object: str = "Metadata") -> dict:
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    out_rows = []
    for cells, obj in zip(rows, objects):
        row: dict[str, Any] = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj.get("metadata") or {}}
        out_rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns,
            "rows": out_rows}


def converter(res: ResourceInfo, crd: Any) -> tuple[list[Column], RowFn]:
    """Column definitions and a row function for a resource (crd: a crds.CRDKind or None)."""
    if crd is not None:
        return _crd_converter(crd)
    builtin = _BUILTIN.get(res.plural)
    if builtin is not None:
        columns, row = builtin
        return [_col(*c) for c in columns], row
    return [_col("Name", "string", "name", _NAME_DESC), _col("Created At", "date")], \
        lambda o: [_name(o), (o.get("metadata") or {}).get("creationTimestamp")]


def _col(name: str, ctype: str = "string", fmt: str = "", description: str = "", priority: int = 0) -> Column:
    return {"name": name, "type": ctype, "format": fmt, "description": description or name, "priority": priority}


def _name(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("name", "")


# --- custom resources ----------------------------------------------------------------------------

def _crd_converter(crd: Any) -> tuple[list[Column], RowFn]:
    columns = [_col("Name", "string", "name", _NAME_DESC)]
    for c in crd.columns:
        columns.append(_col(c.name, c.type, c.format, c.description or
                            f"Custom resource definition column (in JSONPath format): {c.json_path}", c.priority))
    specs = list(crd.columns)

    def row(obj: dict[str, Any]) -> list[Any]:
        cells: list[Any] = [_name(obj)]
        for c in specs:
            cells.append(_cell(c.type, json_path_value(obj, c.json_path)))
        return cells

    return columns, row


def _cell(ctype: str, value: Any) -> Any:
    if value is None:
        return None
    if ctype == "string":
        return value if isinstance(value, str) else _go_print(value)
    if ctype == "integer":
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if ctype == "number":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if ctype == "boolean":
        return value if isinstance(value, bool) else None
    if ctype == "date":
        return human_age(value) if isinstance(value, str) else None
    return None


def _go_print(value: Any) -> str:
    """client-go jsonpath's PrintResults of a non-string: fmt's %v of the decoded value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# --- ages (what ConvertToHumanReadableDateType gives: duration.HumanDuration of the time since) --------

def human_age(timestamp: str, now: datetime | None = None) -> str:
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = int(((now or datetime.now(timezone.utc)) - then).total_seconds())
    return human_duration(seconds)


def _age_of(obj: dict[str, Any]) -> str:
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    return human_age(ts) if ts else "<unknown>"


# --- built-in printers (k8s.io/kubernetes/pkg/printers/internalversion) ----------------------------

def _pod_row(pod: dict[str, Any]) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = spec.get("containers") or []
    reason = status.get("reason") or status.get("phase") or ""
    restarts, ready, last_restart = 0, 0, ""
    initializing = False
    inits = spec.get("initContainers") or []
    for i, st in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(st.get("restartCount") or 0)
        state = st.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break
    if not initializing:
        restarts, has_running = 0, False
        for st in reversed(status.get("containerStatuses") or []):
            restarts += int(st.get("restartCount") or 0)
            last = ((st.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            if last and last > last_restart:
                last_restart = last
            state = st.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif (state.get("terminated") or {}).get("reason"):
                reason = state["terminated"]["reason"]
            elif state.get("terminated"):
                reason = f"ExitCode:{state['terminated'].get('exitCode')}"
            elif st.get("ready") and state.get("running"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if any(c.get("type") == "Ready" and c.get("status") == "True"
                                      for c in status.get("conditions") or []) else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    restart_text = f"{restarts} ({human_age(last_restart)} ago)" if restarts and last_restart else str(restarts)
    gates = spec.get("readinessGates") or []
    return [_name(pod), f"{ready}/{len(containers)}", reason, restart_text, _age_of(pod),
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", f"{len(gates)}" if gates else "<none>"]


def _ports_text(ports: list[dict[str, Any]]) -> str:
    parts = []
    for p in ports:
        text = f"{p.get('port')}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort"):
            text = f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        parts.append(text)
    return ",".join(parts) if parts else "<none>"


def _service_row(svc: dict[str, Any]) -> list[Any]:
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or \
        ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [_name(svc), spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", external,
            _ports_text(spec.get("ports") or []), _age_of(svc), selector]


def _event_row(event: dict[str, Any]) -> list[Any]:
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    first = event.get("firstTimestamp") or event.get("eventTime") or last
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    source = (event.get("source") or {}).get("component") or event.get("reportingComponent") or ""
    host = (event.get("source") or {}).get("host")
    return [human_age(last) if last else "<unknown>", event.get("type", ""), event.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}", event.get("message", ""),
            involved.get("fieldPath", ""), f"{source}, {host}" if host else source,
            human_age(first) if first else "<unknown>", int(count), _name(event)]


def _node_row(node: dict[str, Any]) -> list[Any]:
    conditions = {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}
    status = "Ready" if conditions.get("Ready") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
    info = (node.get("status") or {}).get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in (node.get("status") or {}).get("addresses") or []}
    return [_name(node), status, ",".join(roles), _age_of(node), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"), info.get("osImage", ""),
            info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _deployment_row(dep: dict[str, Any]) -> list[Any]:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    return [_name(dep), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), _age_of(dep)]


def _job_row(job: dict[str, Any]) -> list[Any]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = "Complete" if conditions.get("Complete") == "True" else "Failed" if conditions.get("Failed") == "True" \
        else "Running"
    completions = spec.get("completions", 1)
    duration = ""
    if status.get("startTime"):
        end = status.get("completionTime")
        start = datetime.fromisoformat(status["startTime"].replace("Z", "+00:00"))
        stop = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else datetime.now(timezone.utc)
        duration = human_duration(int((stop - start).total_seconds()))
    return [_name(job), state, f"{status.get('succeeded', 0)}/{completions}", duration, _age_of(job)]


_BUILTIN: dict[str, tuple[list[tuple], RowFn]] = {
    "pods": ([("Name", "string", "name"), ("Ready",), ("Status",), ("Restarts", "string"), ("Age",),
              ("IP", "string", "", "", 1), ("Node", "string", "", "", 1), ("Nominated Node", "string", "", "", 1),
              ("Readiness Gates", "string", "", "", 1)], _pod_row),
    "services": ([("Name", "string", "name"), ("Type",), ("Cluster-IP",), ("External-IP",), ("Port(s)",), ("Age",),
                  ("Selector", "string", "", "", 1)], _service_row),
    "events": ([("Last Seen",), ("Type",), ("Reason",), ("Object",), ("Message",), ("Subobject", "string", "", "", 1),
                ("Source", "string", "", "", 1), ("First Seen", "string", "", "", 1), ("Count", "integer", "", "", 1),
                ("Name", "string", "name", "", 1)], _event_row),
    "nodes": ([("Name", "string", "name"), ("Status",), ("Roles",), ("Age",), ("Version",),
               ("Internal-IP", "string", "", "", 1), ("External-IP", "string", "", "", 1),
               ("OS-Image", "string", "", "", 1), ("Kernel-Version", "string", "", "", 1),
               ("Container-Runtime", "string", "", "", 1)], _node_row),
    "namespaces": ([("Name", "string", "name"), ("Status",), ("Age",)],
                   lambda o: [_name(o), (o.get("status") or {}).get("phase", "Active"), _age_of(o)]),
    "deployments": ([("Name", "string", "name"), ("Ready",), ("Up-to-date", "integer"), ("Available", "integer"),
                     ("Age",)], _deployment_row),
    "jobs": ([("Name", "string", "name"), ("Status",), ("Completions",), ("Duration",), ("Age",)], _job_row),
    "secrets": ([("Name", "string", "name"), ("Type",), ("Data", "string"), ("Age",)],
                lambda o: [_name(o), o.get("type", "Opaque"), str(len(o.get("data") or {})), _age_of(o)]),
    "configmaps": ([("Name", "string", "name"), ("Data", "string"), ("Age",)],
                   lambda o: [_name(o), str(len(o.get("data") or {}) + len(o.get("binaryData") or {})), _age_of(o)]),
    "endpointslices": ([("Name", "string", "name"), ("AddressType",), ("Ports",), ("Endpoints",), ("Age",)],
                       lambda o: [_name(o), o.get("addressType", ""),
                                  ",".join(str(p.get("port")) for p in o.get("ports") or []) or "<unset>",
                                  ",".join(a for e in o.get("endpoints") or [] for a in e.get("addresses") or [])
                                  or "<unset>", _age_of(o)]),
    "customresourcedefinitions": ([("Name", "string", "name"), ("Created At", "date")],
                                  lambda o: [_name(o), (o.get("metadata") or {}).get("creationTimestamp")]),
}
