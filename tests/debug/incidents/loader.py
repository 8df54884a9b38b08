"""The incident corpus: one YAML file per real incident, rebuilt on a healthy KubeRay sample and run
through the real `kubectl ray debug` over HTTP against the API emulator.

Fixture format (every key but `source`, `title`, `sample` and `expect` is optional):

    source: https://github.com/ray-project/kuberay/issues/4287   # the public thread it is built from
    title: one line
    summary: what the reporter saw and what the cause turned out to be
    sample: ray-cluster.autoscaler.yaml      # a KubeRay v1.7.0 sample (../shared/samples)
    kind: RayService                         # which Ray CR of the sample file
    sim: {operator_version: v1.1.1}          # Sim(...) arguments: operator version, gates, namespace ...
    manifest:                                # edits to the CR before the fake operator runs it
      - set: {spec.headGroupSpec.template.spec.containers[0].image: ubuntu:22.04}
    steps:                                   # what broke, applied to the running objects in order
      - crash: {at: head, reason: OOMKilled, exit_code: 137, restarts: 4}
    objects: [...]                           # extra objects as the API server holds them
    api: {serve: [kueue], remove_groups: [ray.io], forbid: [[list, nodes]]}
    logs: [{at: head, container: ray-head, previous: true, text: "..."}]   # implies --logs
    expect: {first: CRASH-01, severity: error, exit: 1, present: [GCS-02]}
    known_miss: why the diagnosis does not get it right yet (the test then expects the miss)

Selectors (`at:`): target (the CR), cluster (its RayCluster), head, worker (the first worker pod),
workers, group:<name> (that group's worker pods), head-service, endpoints, operator, job (the
submitter batch Job), node (the first node), nodes, crd:<plural>, or kind:<Kind>[/<name>].

Steps: set (dotted paths, `[i]` indexes, `["key.with/dots"]`), unset, append, remove (the selected
objects), crash, pending, waiting_for_gcs, not_ready, event, condition, age, add_container. String
values "ago:<n><s|m|h|d>" become timestamps that long before the frozen "now".
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import yaml

from tests.debug.sim import ago, sample, ts
from tests.debug.world import World

HERE = Path(__file__).resolve().parent
REQUIRED = ("source", "title", "summary", "sample", "expect")
SOURCE = re.compile(r"^https://(github\.com/[\w.-]+/[\w.-]+/(issues|pull|discussions)/\d+|discuss\.ray\.io/t/\S+)")

# Resources a real API server always serves that the emulator does not: registered for every incident.
CORE_EXTRAS = {
    "limitranges": ("", "v1", "LimitRange", True),
    "priorityclasses": ("scheduling.k8s.io", "v1", "PriorityClass", False),
}
# Served only when a fixture says the cluster has them (`api: {serve: [kueue]}`).
OPTIONAL_APIS = {
    "kueue": [("kueue.x-k8s.io", "v1beta1", "workloads", "Workload", True),
              ("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue", True),
              ("kueue.x-k8s.io", "v1beta1", "clusterqueues", "ClusterQueue", False)],
}


@dataclass
class Incident:
    path: Path
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def expect(self) -> dict[str, Any]:
        return self.doc["expect"]

    @property
    def known_miss(self) -> str | None:
        return self.doc.get("known_miss")

    @property
    def source(self) -> str:
        return self.doc["source"]


def incident_files() -> list[Path]:
    return sorted(HERE.glob("*.yaml"))


def load(path: Path) -> Incident:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise ValueError(f"{path.name}: missing {', '.join(missing)}")
    if not SOURCE.match(str(doc["source"])):
        raise ValueError(f"{path.name}: source must be a public issue, pull request or discussion URL")
    return Incident(path, doc)


def incidents() -> list[Incident]:
    return [load(p) for p in incident_files()]


# --- building the broken world --------------------------------------------------------------------

def build(incident: Incident) -> World:
    doc = incident.doc
    manifest = sample(doc["sample"], doc.get("kind"))
    for step in doc.get("manifest") or []:
        apply_step(step, lambda sel: [manifest], None)
    w = World.from_manifest(manifest, **(doc.get("sim") or {}))
    w.objs += companions(doc["sample"], w.sim.namespace)
    if doc.get("crds"):
        replace_crds(w, doc["crds"])
    for step in doc.get("steps") or []:
        apply_step(step, lambda sel: select(w, sel), w)
    for obj in doc.get("objects") or []:
        w.add(resolve(copy.deepcopy(obj), names(w)))
    return w


def names(w: World) -> dict[str, str]:
    """What `${...}` in a fixture's strings stands for: the generated names of this world."""
    out = {"ns": w.sim.namespace, "target": w.target.name}
    clusters = [o for o in w.objs if o["kind"] == "RayCluster"]
    if clusters:
        out["cluster"] = clusters[0]["metadata"]["name"]
        out["head-svc"] = f"{out['cluster']}-head-svc"
    heads = [o for o in w.objs if o["kind"] == "Pod" and o["metadata"].get("labels", {}).get("ray.io/node-type") == "head"]
    if heads:
        out["head"] = heads[0]["metadata"]["name"]
    if w.workers:
        out["worker"] = w.workers[0]["metadata"]["name"]
    return out


def companions(sample_name: str, namespace: str) -> list[dict[str, Any]]:
    """The other objects of the sample file (Redis, ConfigMaps, Secrets ...): the user applied them too."""
    from tests.debug.sim import RAY_KINDS, load_docs

    out = []
    for doc in load_docs(sample_name):
        if doc.get("kind") in RAY_KINDS:
            continue
        obj = copy.deepcopy(doc)
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
        obj["metadata"].setdefault("creationTimestamp", ago(hours=2))
        out.append(obj)
    return out


def replace_crds(w: World, version: str) -> None:
    """Install the KubeRay CRDs of another release (e.g. an operator upgraded without its CRDs)."""
    from kubectl_ray.debug.collector import crd_skeleton
    from tests.conftest import shared_path

    w.objs = [o for o in w.objs if o["kind"] != "CustomResourceDefinition"]
    for plural in ("rayclusters", "rayjobs", "rayservices"):
        with open(shared_path("crds", version, f"ray.io_{plural}.yaml"), encoding="utf-8") as fh:
            w.objs.append(crd_skeleton(yaml.safe_load(fh)))


def select(w: World, selector: str) -> list[dict[str, Any]]:
    """The objects a selector names (see the module docstring)."""
    simple: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "target": lambda: [w.obj], "cluster": lambda: [w.cluster], "head": lambda: [w.head],
        "worker": lambda: w.workers[:1], "workers": lambda: w.workers, "operator": lambda: [w.operator],
        "head-service": lambda: [w.head_service], "endpoints": lambda: _kind(w, "EndpointSlice"),
        "job": lambda: _kind(w, "Job"), "node": lambda: _kind(w, "Node")[:1], "nodes": lambda: _kind(w, "Node"),
    }
    if selector in simple:
        found = simple[selector]()
    elif selector.startswith("group:"):
        group = selector.split(":", 1)[1]
        found = [p for p in w.workers if p["metadata"]["labels"].get("ray.io/group") == group]
    elif selector.startswith("crd:"):
        name = f"{selector.split(':', 1)[1]}.ray.io"
        found = [o for o in _kind(w, "CustomResourceDefinition") if o["metadata"]["name"] == name]
    elif selector.startswith("kind:"):
        kind, _, name = selector.split(":", 1)[1].partition("/")
        found = [o for o in _kind(w, kind) if not name or o["metadata"]["name"] == name]
    else:
        raise ValueError(f"unknown selector {selector!r}")
    if not found:
        raise ValueError(f"selector {selector!r} matches nothing")
    return found


def _kind(w: World, kind: str) -> list[dict[str, Any]]:
    return [o for o in w.objs if o["kind"] == kind]


def apply_step(step: dict[str, Any], pick: Callable[[str], list[dict[str, Any]]], w: World | None) -> None:
    if len(step) != 1:
        raise ValueError(f"a step has exactly one operation: {step}")
    op, args = next(iter(step.items()))
    args = resolve(copy.deepcopy(args), names(w) if w is not None else {})
    if op == "remove":
        assert w is not None
        for obj in pick(args):
            w.remove(obj)
        return
    targets = pick(args.pop("at", "target"))
    for obj in targets:
        OPS[op](w, obj, args)


def _set(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    for path, value in args.items():
        put(obj, path, copy.deepcopy(value))


def _unset(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    for path in args["paths"]:
        parent, key = walk(obj, path, create=False)
        if isinstance(parent, dict):
            parent.pop(key, None)
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            parent.pop(key)


def _append(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    for path, value in args.items():
        parent, key = walk(obj, path, create=True)
        parent.setdefault(key, []).append(copy.deepcopy(value))


def _crash(w: World | None, pod: dict[str, Any], args: dict[str, Any]) -> None:
    assert w is not None
    w.crash(pod, reason=args.get("reason", "Error"), exit_code=args.get("exit_code", 1), restarts=args.get("restarts", 5),
            message=args.get("message", ""), container=args.get("container"))


def _pending(w: World | None, pod: dict[str, Any], args: dict[str, Any]) -> None:
    assert w is not None
    w.pending(pod, args.get("message", ""), minutes=args.get("minutes", 10))


def _waiting(w: World | None, pod: dict[str, Any], args: dict[str, Any]) -> None:
    assert w is not None
    w.waiting_for_gcs(pod, minutes=args.get("minutes", 10))


def _not_ready(w: World | None, pod: dict[str, Any], args: dict[str, Any]) -> None:
    assert w is not None
    w.not_ready(pod, args.get("reason", "ContainersNotReady"))


def _event(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    assert w is not None
    ev = w.event(obj, args["reason"], args["message"], etype=args.get("type", "Warning"), minutes=args.get("minutes", 1),
                 count=args.get("count", 1))
    if "source" in args:
        ev["source"] = {"component": args["source"]}


def _condition(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    conds = [c for c in (obj.setdefault("status", {}).get("conditions") or []) if c.get("type") != args["type"]]
    cond = {"type": args["type"], "status": args.get("status", "True"), "reason": args.get("reason", ""),
            "message": args.get("message", ""), "lastTransitionTime": args.get("since", ago(minutes=5))}
    obj["status"]["conditions"] = [*conds, cond]


def _clone(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    """A copy of an object under another name (e.g. the pending RayCluster of an upgrade)."""
    assert w is not None
    twin = copy.deepcopy(obj)
    twin["metadata"]["name"] = args.pop("name")
    twin["metadata"]["uid"] = f"uid-{twin['kind'].lower()}-{twin['metadata']['name']}"
    for path, value in args.items():
        put(twin, path, value)
    w.add(twin)


def _age(w: World | None, obj: dict[str, Any], args: dict[str, Any]) -> None:
    obj["metadata"]["creationTimestamp"] = ago(minutes=args["minutes"])


def _add_container(w: World | None, pod: dict[str, Any], args: dict[str, Any]) -> None:
    """A container injected into a running pod (a mesh sidecar), with its status."""
    init = bool(args.get("init"))
    container = args["container"]
    pod["spec"].setdefault("initContainers" if init else "containers", []).append(container)
    status = args.get("status") or {"name": container["name"], "image": container.get("image", ""), "ready": True,
                                     "restartCount": 0, "started": True, "state": {"running": {"startedAt": ago(minutes=100)}}}
    if init and "status" not in args:
        status = {"name": container["name"], "image": container.get("image", ""), "ready": True, "restartCount": 0,
                  "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ago(minutes=100),
                                           "finishedAt": ago(minutes=100)}}}
    key = "initContainerStatuses" if init else "containerStatuses"
    statuses = pod["status"].setdefault(key, [])
    if init:
        statuses.insert(0, status)  # mesh init containers run first
        pod["spec"]["initContainers"].insert(0, pod["spec"]["initContainers"].pop())
    else:
        statuses.append(status)


OPS: dict[str, Callable[[World | None, dict[str, Any], dict[str, Any]], None]] = {
    "set": _set, "unset": _unset, "append": _append, "crash": _crash, "pending": _pending,
    "waiting_for_gcs": _waiting, "not_ready": _not_ready, "event": _event, "condition": _condition, "age": _age, "clone": _clone,
    "add_container": _add_container,
}


# --- dotted paths and values --------------------------------------------------------------------

_SEGMENT = re.compile(r'([^.\[\]]+)|\[(\d+)\]|\["([^"]+)"\]')


def segments(path: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index, quoted in _SEGMENT.findall(path):
        out.append(int(index) if index else (quoted or name))
    return out


def walk(obj: Any, path: str, *, create: bool) -> tuple[Any, str | int]:
    parts = segments(path)
    cur = obj
    for part, nxt in zip(parts, parts[1:]):
        if isinstance(part, int):
            cur = cur[part]
            continue
        if part not in cur or cur[part] is None:
            if not create:
                return {}, part
            cur[part] = [] if isinstance(nxt, int) else {}
        cur = cur[part]
    return cur, parts[-1]


def put(obj: Any, path: str, value: Any) -> None:
    parent, key = walk(obj, path, create=True)
    if isinstance(key, int):
        while len(parent) <= key:
            parent.append({})
    parent[key] = value


_AGO = re.compile(r"^ago:(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


_NAME = re.compile(r"\$\{([\w-]+)\}")


def resolve(value: Any, known: dict[str, str] | None = None) -> Any:
    """`ago:5m` strings become timestamps and `${head}`-style names the world's; recursively."""
    known = known or {}
    if isinstance(value, str):
        match = _AGO.match(value)
        if match:
            return ts(-timedelta(**{_UNITS[match.group(2)]: float(match.group(1))}))
        return _NAME.sub(lambda m: known.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [resolve(v, known) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, known) for k, v in value.items()}
    return value


# --- running it through the emulator --------------------------------------------------------------

@dataclass
class Outcome:
    exit_code: int
    document: dict[str, Any] | None
    stderr: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any] | None:
        return self.findings[0] if self.findings else None

    def ids(self) -> set[str]:
        out: set[str] = set()

        def walk_findings(items: list[dict[str, Any]]) -> None:
            for f in items:
                out.add(f["id"])
                out.update(f.get("aliases") or [])
                walk_findings(f.get("consequences") or [])

        walk_findings(self.findings)
        return out


def serve_core(emu: Any, *optional: str) -> None:
    """Make the emulator serve what every API server serves (and the optional APIs named) besides its own."""
    from tests.emulator.resources import ResourceInfo

    extras = [ResourceInfo(g, v, plural, kind, namespaced) for plural, (g, v, kind, namespaced) in CORE_EXTRAS.items()]
    for name in optional:
        extras += [ResourceInfo(g, v, plural, kind, namespaced) for g, v, plural, kind, namespaced in OPTIONAL_APIS[name]]
    known = {r.key for r in emu.registry.resources}
    emu.registry.resources += [r for r in extras if r.key not in known]


def serve(emu: Any, incident: Incident) -> None:
    """Make the emulator serve what this incident's cluster serves."""
    api = incident.doc.get("api") or {}
    serve_core(emu, *(api.get("serve") or []))
    for group in api.get("remove_groups") or []:
        emu.registry.remove_group(group)
    for verb, resource in api.get("forbid") or []:
        emu.forbid(verb, resource)


def load_into(emu: Any, incident: Incident, w: World) -> None:
    serve(emu, incident)
    served = {(r.group_version, r.kind) for r in emu.registry.resources}
    for obj in w.objs:
        if (obj.get("apiVersion", ""), obj.get("kind", "")) in served:
            emu.add(obj)
    for entry in incident.doc.get("logs") or []:
        pods = select(w, entry.get("at", "head"))
        container = entry["container"] + ("/previous" if entry.get("previous") else "")
        for pod in pods:
            emu.pod_logs[(pod["metadata"]["namespace"], pod["metadata"]["name"], container)] = entry["text"]


def command(incident: Incident, w: World) -> list[str]:
    t = w.target
    args = ["debug", f"{t.kind.lower()}/{t.name}", "-n", t.namespace, "-o", "json"]
    if incident.doc.get("logs"):
        args.append("--logs")
    return args


def outcome(exit_code: int, stdout: str, stderr: str) -> Outcome:
    try:
        doc = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        doc = None
    findings = doc["targets"][0]["findings"] if doc and doc.get("targets") else []
    return Outcome(exit_code, doc, stderr, findings)


def verdict(incident: Incident, result: Outcome) -> list[str]:
    """What is wrong with this outcome (empty: the diagnosis got the incident right)."""
    expect = incident.expect
    problems = []
    if result.exit_code != expect["exit"]:
        problems.append(f"exit code {result.exit_code}, expected {expect['exit']}")
    first = result.first
    wanted = expect.get("first")
    if wanted:
        got = [first["id"], *first.get("aliases", [])] if first else []
        if wanted not in got:
            problems.append(f"first finding {first['id'] if first else 'none'}, expected {wanted}")
        elif expect.get("severity") and first["severity"] != expect["severity"]:
            problems.append(f"{wanted} is {first['severity']}, expected {expect['severity']}")
    missing = [i for i in expect.get("present") or [] if i not in result.ids()]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    return problems
