"""A hostile API server: every command against answers that a broken or malicious server could send.

The emulator serves a realistic world (a RayCluster, a RayJob and a RayService with their pods,
services, operator Deployment and nodes); from the `start`-th request of a command on, each answer is
replaced as a drawn mutation says (tests/reliability/mutations.py): a field swapped for a value of
another type, the whole document swapped, bytes truncated or not JSON, nesting past any real object,
odd status codes with odd bodies, wrong Content-Types, watch streams of garbage. Every command must
end with its output or one clean error: see hostile.py for the verdict (no hang, no RSS above 200 MB,
no `unexpected`, no traceback, no crashed debug rule).
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.reliability.hostile import (CASE_TIMEOUT, CLUSTER, JOB, RUN_SEED, SERVICE, SUITE, World, assert_handled,
                                       forkrunner)
from tests.reliability.mutations import MUTATIONS, Mutation, emulator_hook

__all__ = ["forkrunner"]  # the fixture, imported for pytest

REFUSED = "http://127.0.0.1:9"  # a dashboard address nothing listens on: the API side is what is tested here
OUT = "{out}"  # replaced by the case's own folder
COMMANDS: list[tuple[str, ...]] = [
    ("get", "cluster"),
    ("get", "cluster", "-A", "-o", "wide", "--sort-by", ".metadata.name", "-L", "team", "--show-labels"),
    ("get", "cluster", CLUSTER, "-o", "yaml"),
    ("get", "cluster", "-o", "json"),
    ("get", "cluster", "-o", "jsonpath={..name}"),
    ("get", "cluster", "-o", "custom-columns=N:.metadata.name,R:.spec.workerGroupSpecs[*].replicas"),
    ("get", "cluster", "-w"),
    ("get", "workergroup", "-o", "wide"),
    ("get", "workergroup", "-c", CLUSTER, "-o", "yaml"),
    ("get", "node", "-o", "wide"),
    ("get", "node", "-A", "-o", "name"),
    ("get", "job", "-o", "wide"),
    ("get", "service", "-o", "wide"),
    ("get", "token", CLUSTER),
    ("scale", "cluster", CLUSTER, "-w", "small-group", "-r", "3"),
    ("scale", "cluster", CLUSTER, "-w", "small-group", "--max-replicas", "7", "--dry-run=server"),
    ("delete", CLUSTER, "-y", "--wait", "--timeout", "2s"),
    ("delete", f"rayjob/{JOB}", f"rayservice/{SERVICE}", "-y"),
    ("create", "cluster", "newc", "--wait", "--timeout", "2s"),
    ("create", "cluster", "newc", "--dry-run=server", "-o", "yaml"),
    ("create", "workergroup", "g2", "-c", CLUSTER),
    ("session", CLUSTER, "--timeout", "1s"),
    ("session", f"rayjob/{JOB}", "--timeout", "1s"),
    ("log", CLUSTER, "--out-dir", OUT, "--overwrite", "--max-concurrency", "2"),
    ("debug", CLUSTER),
    ("debug", f"rayjob/{JOB}", "-o", "json"),
    ("debug", f"rayservice/{SERVICE}", "--logs"),
    ("debug", "-A"),
    ("version",),
    ("version", "-o", "yaml"),
    ("job", "list"),
    ("job", "logs", JOB, "--address", REFUSED),
    ("job", "stop", JOB, "--address", REFUSED),
    ("job", "submit", "--name", "jx", "--dry-run=server", "--", "python", "-c", "pass"),
    ("job", "submit", "--name", "jx", "--cluster-timeout", "2s", "--address", REFUSED, "--", "python", "-c", "pass"),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str, str]]:
    emu = Emulator()
    world = World(emu)
    emu.on("create", "rayjobs", _give_cluster)  # the operator's part that `job submit` waits for
    folder = tmp_path_factory.mktemp("hostile-api")
    with EmulatorServer(emu) as server:
        yield world, write_kubeconfig(folder / "kubeconfig", kubeconfig(server.url)), str(folder / "logs")


def _give_cluster(obj: dict[str, Any], emu: Any) -> None:
    obj = copy.deepcopy(obj)
    obj["status"] = {"rayClusterName": CLUSTER, "jobDeploymentStatus": "Running"}
    emu.add(obj)


def run_case(forkrunner: Any, api: tuple[World, str, str], command: tuple[str, ...], mutation: Mutation,
             start: int) -> Any:
    world, config, out = api
    world.reset()
    world.emu.mutate_response = emulator_hook(world.emu, mutation, start)
    args = [out if word == OUT else word for word in command]
    try:
        return forkrunner.run([*args, "--kubeconfig", config, "--request-timeout", "5s"],
                              env={"KUBECTL_PATH": "/bin/false"}, timeout=CASE_TIMEOUT)
    finally:
        world.emu.mutate_response = None


@pytest.mark.timeout(1800)  # ~270 process runs; generous for a busy machine
@seed(RUN_SEED)
@settings(SUITE, max_examples=270)
@given(command=st.sampled_from(COMMANDS), mutation=MUTATIONS, start=st.integers(0, 4))
def test_every_command_survives_a_hostile_api_server(forkrunner, api, tally, command, mutation, start):
    with tally.case(f"hostile API: {command[0]}"):
        assert_handled(run_case(forkrunner, api, command, mutation, start), (command, mutation, start))


WHOLE_ANSWERS = [
    Mutation("body", value=[]), Mutation("body", value="str"), Mutation("body", value=None),
    Mutation("body", value={"kind": "List", "items": {"a": 1}}), Mutation("body", value={"items": ["a", 1]}),
    Mutation("body", value={"items": [], "metadata": {"continue": "again"}}),
    Mutation("status", status=302, raw=b""), Mutation("status", status=302, raw=b"[1,2]"),
    Mutation("status", status=500, raw=b'{"kind":"Status","details":[1,2]}'),
    Mutation("raw", raw=b'{"a":' * 100_000), Mutation("raw", raw=b'{"items": ['),
]


@pytest.mark.parametrize("mutation", WHOLE_ANSWERS, ids=repr)
@pytest.mark.parametrize("command", [("get", "cluster"), ("scale", "cluster", CLUSTER, "-w", "small-group", "-r", "3"),
                                     ("debug", CLUSTER), ("version",), ("delete", CLUSTER, "-y")], ids=" ".join)
def test_the_issues_shapes_are_named_in_one_line(forkrunner, api, tally, command, mutation):
    """The cases the issue lists, each on the command's first answer: one `error:` (or kubectl's
    `Error from server`) line, exit 1 (debug: 3, could not run)."""
    with tally.case("hostile API: listed shapes"):
        result = run_case(forkrunner, api, command, mutation, 0)
        assert_handled(result, (command, mutation))
        if command[0] == "delete" and isinstance(mutation.value, dict):
            assert result.exit_code == 0, result  # DELETE answers with any object (the object, or a Status)
            return
        assert result.exit_code == (3 if command[0] == "debug" else 1), result
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(("error: ", "Error from server")), result


@pytest.mark.parametrize("command", [("get", "cluster"), ("get", "cluster", CLUSTER), ("get", "node"),
                                     ("delete", CLUSTER, "-y", "--wait", "--timeout", "2s")], ids=" ".join)
def test_an_endless_answer_is_cut_at_the_cap(forkrunner, api, tally, command):
    """A body that never ends (300 MiB on offer) is refused at 128 MiB, read in pieces: RSS stays low."""
    with tally.case("hostile API: endless answer"):
        result = run_case(forkrunner, api, command, Mutation("huge"), 0)
        assert_handled(result, command)
        assert "is larger than 128 MiB" in result.stderr, result
