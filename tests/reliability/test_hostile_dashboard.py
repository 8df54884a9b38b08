"""A hostile Ray dashboard: `job logs` (printed and followed), `job stop`, `job submit` (with a working
directory to upload) and `debug --deep` against answers a broken or malicious dashboard could send,
and against a log-tail WebSocket sending binary frames, bytes that are not UTF-8, a frame announcing
2**62 bytes, or an odd close code. The API server is the honest emulator; the dashboard is
tests/reliability/fake_dashboard.py. Mutations last for `count` requests, then honest answers return
(so `job logs -f`, which follows a running job for as long as it runs, ends).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.reliability.fake_dashboard import WS_KINDS, FakeDashboard
from tests.reliability.hostile import CASE_TIMEOUT, CLUSTER, JOB, RUN_SEED, SUITE, World, assert_handled, forkrunner
from tests.reliability.mutations import MUTATIONS, Mutation

__all__ = ["forkrunner"]  # the fixture, imported for pytest

URL, WORKDIR = "{url}", "{workdir}"
COMMANDS: list[tuple[str, ...]] = [
    ("job", "logs", JOB, "--address", URL),
    ("job", "logs", JOB, "-f", "--address", URL),
    ("job", "stop", JOB, "--address", URL),
    ("job", "submit", "--name", "jx", "--no-wait", "--address", URL, "--working-dir", WORKDIR, "--", "python", "x.py"),
    ("job", "submit", "--name", "jy", "--address", URL, "--", "python", "x.py"),
    ("debug", CLUSTER, "--address", URL),
    ("debug", f"rayjob/{JOB}", "--address", URL, "-o", "json"),
]
DASHBOARD_MUTATIONS = st.one_of(MUTATIONS, st.builds(Mutation, kind=st.sampled_from(WS_KINDS)))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, FakeDashboard, dict[str, str]]]:
    emu = Emulator()
    world = World(emu)
    emu.on("create", "rayjobs", _give_cluster)
    folder = tmp_path_factory.mktemp("hostile-dashboard")
    workdir = folder / "wd"
    workdir.mkdir()
    (workdir / "x.py").write_text("print('hi')\n")
    with EmulatorServer(emu) as server, FakeDashboard() as dashboard:
        config = write_kubeconfig(folder / "kubeconfig", kubeconfig(server.url))
        yield world, dashboard, {"config": config, URL: dashboard.url, WORKDIR: str(workdir)}


def _give_cluster(obj: dict[str, Any], emu: Any) -> None:
    obj = copy.deepcopy(obj)
    obj["status"] = {"rayClusterName": CLUSTER, "jobDeploymentStatus": "Running"}
    emu.add(obj)


def run_case(forkrunner: Any, setup: Any, command: tuple[str, ...], mutation: Mutation, start: int) -> Any:
    world, dashboard, values = setup
    world.reset()
    dashboard.arm(mutation, start, count=3)
    try:
        args = [values.get(word, word) for word in command]
        return forkrunner.run([*args, "--kubeconfig", values["config"], "--request-timeout", "5s"],
                              env={"KUBECTL_PATH": "/bin/false"}, timeout=CASE_TIMEOUT)
    finally:
        dashboard.arm(None)


@pytest.mark.timeout(1800)
@seed(RUN_SEED)
@settings(SUITE, max_examples=120)
@given(command=st.sampled_from(COMMANDS), mutation=DASHBOARD_MUTATIONS, start=st.integers(0, 3))
def test_job_and_debug_survive_a_hostile_dashboard(forkrunner, setup, tally, command, mutation, start):
    with tally.case(f"hostile dashboard: {' '.join(command[:2])}"):
        assert_handled(run_case(forkrunner, setup, command, mutation, start), (command, mutation, start))


@pytest.mark.parametrize("kind", WS_KINDS)
def test_a_hostile_log_tail_falls_back_or_ends_cleanly(forkrunner, setup, tally, kind):
    """`job logs -f` reads the log over the WebSocket: whatever arrives there, the log is printed once
    (by polling when the WebSocket is unusable), a frame of any announced length is read in pieces, and
    the command ends with the job's status."""
    with tally.case("hostile dashboard: log tail"):
        result = run_case(forkrunner, setup, ("job", "logs", JOB, "-f", "--address", URL), Mutation(kind), 0)
        assert_handled(result, kind)
        assert result.exit_code == 0, result
        if kind != "ws-huge-frame":  # there the 70 MiB that came are the log as far as anyone can tell
            assert result.stdout.count("line 1") == 1, result


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("command", [COMMANDS[0], COMMANDS[2]], ids=" ".join)
def test_endless_dashboard_answers_are_cut_at_the_cap(forkrunner, setup, tally, command, start):
    """A body that never ends (300 MiB on offer) is refused at 128 MiB, read in pieces: RSS stays low."""
    with tally.case("hostile dashboard: endless answer"):
        result = run_case(forkrunner, setup, command, Mutation("huge"), start)
        assert_handled(result, command)
        assert "larger than 128 MiB" in result.stderr, result
