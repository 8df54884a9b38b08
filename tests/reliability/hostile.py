"""What the hostile-input suites share: the fork runner, a realistic world in the API emulator, the
verdict on one case, and the run's seed.

A case passes when the command ends on its own within CASE_TIMEOUT, its peak RSS stays under
MAX_RSS_MB, it exits 0, 1, 2 or 3 (debug: could not run), and nothing in its output is a traceback,
the last-resort `error: unexpected ...` line or debug's `RULE ERRORS` (a rule that crashed).

Seeds: every hypothesis test of these suites runs with RUN_SEED, printed in the reliability summary;
`KUBECTL_RAY_HOSTILE_SEED=<seed> python -m pytest tests/reliability/test_hostile_*.py` replays a run.
"""

from __future__ import annotations

import copy
import os
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.reliability.forkrun import CaseResult, ForkRunner

RUN_SEED = int(os.environ.get("KUBECTL_RAY_HOSTILE_SEED") or random.SystemRandom().randrange(2**32))
CASE_TIMEOUT = 40.0  # seconds: a case still running then is a hang (the slowest honest case takes ~3 s)
MAX_RSS_MB = 200
CLUSTER = "raycluster-complete"
JOB = "rayjob-sample"
SERVICE = "rayservice-sample"
SAMPLES = ("ray-cluster.complete.yaml", "ray-job.sample.yaml", "ray-service.sample.yaml")
# No shrinking: a case costs a process run, and the drawn case is printed whole (mutations are plain data).
SUITE = settings(deadline=None, derandomize=False, print_blob=True, report_multiple_bugs=False,
                 phases=[Phase.explicit, Phase.reuse, Phase.generate],
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])


def failures(result: CaseResult) -> list[str]:
    """Why a case failed (empty: it passed)."""
    problems = []
    output = result.stdout + result.stderr
    if result.timed_out:
        problems.append(f"no end within {CASE_TIMEOUT:g}s (a hang)")
    if result.max_rss_mb > MAX_RSS_MB:
        problems.append(f"peak RSS {result.max_rss_mb:.0f} MB > {MAX_RSS_MB} MB")
    if "error: unexpected" in result.stderr:
        problems.append("the last-resort handler fired")
    if "Traceback (most recent call last)" in output:
        problems.append("a traceback")
    if "RULE ERRORS" in result.stdout or '"ruleErrors": [{' in result.stdout:
        problems.append("a debug rule crashed")
    if not result.timed_out and result.exit_code not in (0, 1, 2, 3):
        problems.append(f"exit code {result.exit_code}")
    return problems


def assert_handled(result: CaseResult, case: Any) -> None:
    problems = failures(result)
    assert not problems, f"{'; '.join(problems)} for {case!r}: {result!r}"


@pytest.fixture(scope="session")
def forkrunner(tmp_path_factory: pytest.TempPathFactory, tally: Any) -> Iterator[ForkRunner]:
    tally.note("hostile seed", f"hostile suites ran with seed {RUN_SEED} (replay: KUBECTL_RAY_HOSTILE_SEED={RUN_SEED})")
    home = tmp_path_factory.mktemp("hostile-home")
    env = {key: value for key, value in os.environ.items()
           if not key.upper().endswith("_PROXY") and key not in ("KUBECONFIG", "KUBECTL_RAY_DEBUG")}
    env.update(HOME=str(home), KUBECACHEDIR=str(home / "cache"), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    runner = ForkRunner(env)
    yield runner
    runner.close()


# --- the world in the emulator --------------------------------------------------------------------------

def world_objects() -> list[dict[str, Any]]:
    """A healthy RayCluster, RayJob and RayService with their pods, services, operator and nodes."""
    from tests.debug.world import World

    objs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for sample in SAMPLES:
        for obj in World(sample).objs:
            meta = obj["metadata"]
            objs[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
    return list(objs.values())


class World:
    """The objects every case starts from; `reset` puts them back after a command changed them."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.objs = [obj for obj in world_objects() if _served(emu, obj)]
        self.kinds = {(obj["apiVersion"], obj["kind"]) for obj in self.objs}
        for obj in self.objs:
            emu.add(copy.deepcopy(obj))

    def reset(self) -> None:
        emu = self.emu
        emu.mutate_response = None
        keep = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in self.objs}
        for plural in ("rayclusters", "rayjobs", "rayservices"):
            for obj in emu.objects(plural):
                meta = obj["metadata"]
                if (obj["kind"], meta.get("namespace", ""), meta["name"]) not in keep:
                    emu.remove(plural, meta.get("namespace"), meta["name"])
        for obj in self.objs:
            emu.add(copy.deepcopy(obj), notify=False)


def _served(emu: Any, obj: dict[str, Any]) -> bool:
    try:
        emu.resource(obj["apiVersion"], obj["kind"])
    except KeyError:
        return False
    return True
