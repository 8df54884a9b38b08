"""`--dry-run[=none|client|server]` on every command that writes, with kubectl's semantics (issue 15):
client sends no write, server sends the write with dryRun=All (nothing is stored), none writes; bare
--dry-run is client; Go booleans are deprecated spellings; anything else is kubectl's error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import EmulatorHandle, ray_cluster, run_cli

WRITES = {
    "create cluster": ["create", "cluster", "fresh"],
    "create workergroup": ["create", "workergroup", "extra", "-c", "demo"],
    "scale": ["scale", "cluster", "demo", "-w", "default-group", "-r", "3"],
    "delete": ["delete", "demo", "-y"],
    "job submit": ["job", "submit", "--name", "j", "--submission-id", "raysubmit_fixed"],
}
ENTRYPOINT = ["--", "python", "-c", "print(1)"]


@pytest.fixture
def demo(emulator: EmulatorHandle) -> EmulatorHandle:
    emulator.emu.add(ray_cluster("demo"))
    emulator.emu.clear_requests()
    return emulator


def run(env: EmulatorHandle, command: str, *flags: str) -> Any:
    args = [*WRITES[command], *flags]
    if command == "job submit":  # the connection flags must come before the entrypoint
        return run_cli(*args, "--kubeconfig", env.kubeconfig, *ENTRYPOINT)
    return env.run(*args)


def writes(env: EmulatorHandle) -> list[tuple[str, bool]]:
    """(verb, dry run) of every write the server saw."""
    return [(w.verb, "All" in w.query.get("dryRun", [])) for w in env.emu.writes()]


def stored(env: EmulatorHandle) -> dict[str, Any]:
    cluster = env.emu.get("rayclusters", "default", "demo")
    return {"fresh": env.emu.get("rayclusters", "default", "fresh") is not None, "demo": cluster is not None,
            "groups": len((cluster or {}).get("spec", {}).get("workerGroupSpecs", [])),
            "replicas": ((cluster or {}).get("spec", {}).get("workerGroupSpecs") or [{}])[0].get("replicas"),
            "job": env.emu.get("rayjobs", "default", "j") is not None}


UNCHANGED = {"fresh": False, "demo": True, "groups": 1, "replicas": 1, "job": False}


@pytest.mark.parametrize("command", WRITES)
@pytest.mark.parametrize("flag", ["--dry-run", "--dry-run=client", "--dry-run=true"])
def test_client_sends_no_write(demo, command, flag):
    result = run(demo, command, flag)
    assert result.exit_code == 0, result
    assert writes(demo) == [] and stored(demo) == UNCHANGED
    if flag == "--dry-run=true":
        assert result.stderr.startswith("Warning: --dry-run=true is deprecated (boolean value) and can be replaced "
                                        "with --dry-run=client.")


@pytest.mark.parametrize("command", WRITES)
def test_server_sends_the_write_with_dry_run_all_and_nothing_is_stored(demo, command):
    result = run(demo, command, "--dry-run=server")
    assert result.exit_code == 0, result
    assert writes(demo) and all(dry for _, dry in writes(demo))
    assert stored(demo) == UNCHANGED


@pytest.mark.parametrize("command, changed", [
    ("create cluster", {"fresh": True}), ("create workergroup", {"groups": 2}), ("scale", {"replicas": 3}),
    ("delete", {"demo": False, "groups": 0, "replicas": None}),
])
@pytest.mark.parametrize("flag", [None, "--dry-run=none", "--dry-run=false"])
def test_none_writes(demo, command, changed, flag):
    result = run(demo, command, *([flag] if flag else []))
    assert result.exit_code == 0, result
    assert writes(demo) and not any(dry for _, dry in writes(demo))
    assert stored(demo) == dict(UNCHANGED, **changed)


@pytest.mark.parametrize("command", WRITES)
def test_an_unknown_strategy_is_kubectls_error(demo, command):
    result = run(demo, command, "--dry-run=maybe")
    assert result.exit_code == 2 and demo.emu.requests_where() == []
    assert result.stderr.startswith('error: Invalid dry-run value (maybe). Must be "none", "server", or "client".')


def test_a_bare_dry_run_does_not_take_the_next_word(demo):
    result = demo.run("create", "cluster", "--dry-run", "fresh", "-o", "name")
    assert (result.exit_code, result.stdout) == (0, "raycluster.ray.io/fresh\n")
    result = demo.run("delete", "--dry-run", "demo")  # a dry run needs no confirmation
    assert (result.exit_code, result.stdout) == (0, 'raycluster.ray.io "demo" deleted (dry run)\n')


def test_delete_says_which_dry_run(demo):
    result = demo.run("delete", "demo", "--dry-run=server")
    assert result.stdout == 'raycluster.ray.io "demo" deleted (server dry run)\n'
