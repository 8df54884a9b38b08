"""Disk errors and closed pipes for every command but `log` and `debug --bundle` (they have their own):
`> /dev/full` (ENOSPC), a file past RLIMIT_FSIZE (EFBIG), `| head -1` (EPIPE), and job submit's
temporary package archive on a disk that fills up. Each is ONE
`error:` line naming standard output or the path (a closed pipe ends quietly, as kubectl), exit 1, no
`unexpected`, no `Exception ignored` at exit, no partial files left behind. Run in forked children
(tests/reliability/forkrun.py) so stdout can be a real device, file or pipe.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import ray_cluster
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.reliability.fake_dashboard import FakeDashboard
from tests.reliability.hostile import CASE_TIMEOUT, CLUSTER, JOB, World, assert_handled, forkrunner

__all__ = ["forkrunner"]  # the fixture, imported for pytest

FULL = "error: cannot write to standard output: No space left on device"
DEBUG_FULL = "error: cannot write the report to /dev/full: no space left on the device"  # debug: exit 3
MANY = 300  # extra RayClusters: `get -o yaml` then prints ~1 MB, past any pipe buffer
COMMANDS: list[tuple[str, ...]] = [
    ("--help",), ("--version",), ("version", "--client"), ("version", "-o", "json"), ("get", "cluster"),
    ("get", "cluster", "-o", "yaml"), ("get", "cluster", "-o", "json"), ("get", "workergroup"),
    ("get", "node", "-o", "wide"), ("get", "job"), ("get", "cluster", "--help"),
    ("create", "cluster", "x", "--dry-run", "-o", "yaml"), ("create", "workergroup", "g", "-c", CLUSTER, "--dry-run"),
    ("scale", "cluster", CLUSTER, "-w", "small-group", "-r", "2", "--dry-run"), ("delete", "bulk-000", "--dry-run", "-y"),
    ("debug", CLUSTER), ("debug", CLUSTER, "-o", "json"), ("debug", "--list-rules"), ("job", "list"),
    ("job", "logs", JOB, "--address", "{url}"),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    emu = Emulator()
    World(emu)
    for index in range(MANY):
        emu.add(ray_cluster(f"bulk-{index:03d}"))
    emu.on("create", "rayjobs", _give_cluster)
    folder = tmp_path_factory.mktemp("stdout")
    with EmulatorServer(emu) as server, FakeDashboard() as dashboard:
        yield {"config": write_kubeconfig(folder / "kubeconfig", kubeconfig(server.url)), "url": dashboard.url,
               "folder": folder}


def _give_cluster(obj: dict[str, Any], emu: Any) -> None:
    obj = copy.deepcopy(obj)
    obj["status"] = {"rayClusterName": CLUSTER, "jobDeploymentStatus": "Running"}
    emu.add(obj)


def run(forkrunner: Any, setup: dict[str, Any], command: tuple[str, ...], **kwargs: Any) -> Any:
    args = [setup["url"] if word == "{url}" else word for word in command]
    if command[0] not in ("--help", "--version"):
        at = args.index("--") if "--" in args else len(args)
        args[at:at] = ["--kubeconfig", setup["config"]]
    kwargs.setdefault("env", {})
    kwargs["env"].setdefault("KUBECTL_PATH", "/bin/false")
    return forkrunner.run(args, timeout=CASE_TIMEOUT, **kwargs)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_full_disk_is_one_line(forkrunner, setup, tally, command):
    with tally.case("stdout: /dev/full"):
        result = run(forkrunner, setup, command, stdout="/dev/full")
        assert_handled(result, command)
        debug = command[0] == "debug" and command[1:] != ("--list-rules",)
        assert (result.exit_code, result.stderr.splitlines()[-1:]) == ((3, [DEBUG_FULL]) if debug else (1, [FULL])), \
            result
        assert len(result.stderr.splitlines()) == 1 or debug, result  # debug notes go first


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] in ("get", "debug", "version")], ids=" ".join)
def test_a_closed_pipe_ends_quietly(forkrunner, setup, tally, command):
    """`| head -1` after its line: whatever is still to print meets EPIPE; nothing on stderr about it."""
    with tally.case("stdout: closed pipe"):
        result = run(forkrunner, setup, command, stdout="closed-pipe")
        assert_handled(result, command)
        assert result.exit_code in (0, 1), result
        assert "Exception ignored" not in result.stderr and "Broken pipe" not in result.stderr, result


@pytest.mark.parametrize("command", [("get", "cluster", "-o", "yaml"), ("get", "cluster"), ("debug", CLUSTER)],
                         ids=" ".join)
def test_a_file_past_its_size_limit_is_one_line(forkrunner, setup, tmp_path, tally, command):
    """`> file` on a filesystem (or ulimit -f) that refuses to grow it: EFBIG."""
    with tally.case("stdout: file too large"):
        target = tmp_path / "out.txt"
        target.touch()
        result = run(forkrunner, setup, command, stdout=str(target), file_size_limit=256)
        assert_handled(result, command)
        debug = command[0] == "debug"
        expected = f"error: cannot write the report to {target}: File too large" if debug else \
            "error: cannot write to standard output: File too large"
        assert (result.exit_code, result.stderr.splitlines()[-1:]) == ((3 if debug else 1), [expected]), result


def _submit_with_working_dir(forkrunner: Any, setup: dict[str, Any], tmp_path: Path, name: str, *,
                             tmpdir: Path, limit: int) -> Any:
    workdir = tmp_path / "wd"
    workdir.mkdir()
    (workdir / "data.bin").write_bytes(b"x" * 200_000)
    command = ("job", "submit", "--name", name, "--no-wait", "--address", "{url}", "--working-dir", str(workdir),
               "--", "python", "x.py")
    return run(forkrunner, setup, command, env={"TMPDIR": str(tmpdir)}, file_size_limit=limit)


def test_a_package_archive_that_cannot_be_written_names_its_path_and_is_removed(forkrunner, setup, tmp_path, tally):
    with tally.case("disk: package archive"):
        tmpdir = tmp_path / "tmp"
        tmpdir.mkdir()
        result = _submit_with_working_dir(forkrunner, setup, tmp_path, "efbig", tmpdir=tmpdir, limit=100_000)
        assert_handled(result, "EFBIG")
        last = result.stderr.splitlines()[-1]
        assert result.exit_code == 1 and last.startswith("error: cannot package working_dir "), result
        assert "File too large" in last and str(tmpdir) in last, result
        assert list(tmpdir.iterdir()) == [], "the partial archive and its folder are removed"
