"""No debug rule crashes on a field of the wrong JSON type, wherever it is.

The hostile-API suite reaches the rules through HTTP, a few drawn mutations per run; a crash found there
once (NET-08 on a container `name` that was a list, CI run of 2026-11-30) showed that drawing is too sparse
for ninety rules. Here, in process, fields of real incident worlds (tests/debug/incidents) are swapped
for values of other JSON types, the objects go through the collector's slimming and the snapshot's
conforming (debug/conform.py) as a server's answer would, and every rule runs: none may crash. The
fields are drawn with the run's seed (KUBECTL_RAY_HOSTILE_SEED replays a run).
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterator

import pytest

from kubectl_ray.debug.engine import diagnose
from tests.debug import sim
from tests.debug.incidents.loader import build, incident_files, load
from tests.reliability.hostile import RUN_SEED

# a RayCluster, a RayJob and a RayService world, each with the objects its incident adds
INCIDENTS = ("kuberay-2958-limitrange-rejects-worker-pods", "ray-40562-ft-external-redis-unreachable",
             "kuberay-1826-rayservice-worker-without-replica-not-ready", "airunway-399-serve-import-path-module-missing")
WRONG_TYPES: list[Any] = [None, [], {}, "x", 7, -1, True, 1.5e300, [[]], [{}], [7], {"a": []}, {"a": {}}]
CASES_PER_INCIDENT = 300


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:3]):
            yield from _paths(value, (*prefix, i))


def _swap(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    for key in path[:-1]:
        obj = obj[key]
    old, obj[path[-1]] = obj[path[-1]], value
    return old


def _resource_of(obj: dict[str, Any]) -> str:
    try:
        return sim.resource_of(obj)
    except KeyError:  # the incident's extra kinds (LimitRange, Secret, ...)
        kind = obj["kind"].lower()
        return kind + ("es" if kind.endswith("s") else "s")


def _snapshot(world: Any, objs: list[dict[str, Any]], resources: list[str], collected: set[str]) -> Any:
    """What the collector stores: each object under the resource it was listed as (whatever its `kind` says)."""
    copies = json.loads(json.dumps(objs))
    by_id = {id(o): r for o, r in zip(copies, resources)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sim, "resource_of", lambda o: by_id[id(o)])
        return world.sim.snapshot(world.target, copies, collected=collected)


@pytest.mark.parametrize("name", INCIDENTS)
def test_no_rule_crashes_on_a_field_of_another_type(name: str, tally) -> None:
    path = next(p for p in incident_files() if p.stem == name)
    world = build(load(path))
    objs = json.loads(json.dumps(world.objs))  # no object shares a dict with another: one swap, one field
    resources = [_resource_of(o) for o in objs]
    collected = set(resources) | {"rayclusters", "rayjobs", "rayservices", "pods", "events",
                                                   "services", "endpointslices", "deployments", "nodes", "jobs"}
    cases = [(i, p) for i, obj in enumerate(objs) for p in _paths(obj)]
    rng = random.Random(f"{RUN_SEED}/{name}")
    crashed: list[str] = []
    for i, field in rng.sample(cases, min(CASES_PER_INCIDENT, len(cases))):
        value = rng.choice(WRONG_TYPES)
        with tally.case("debug rules: wrong-typed fields"):
            old = _swap(objs[i], field, json.loads(json.dumps(value)))
            try:
                snap = _snapshot(world, objs, resources, collected)
                diagnosis = diagnose(snap)
            finally:
                _swap(objs[i], field, old)
            problems = [f"{rule}: {error}" for rule, error in diagnosis.crashed]
            if problems:
                crashed.append(f"{objs[i].get('kind')}{list(field)} = {value!r}: {'; '.join(problems)}")
            assert not problems, crashed[-1]
