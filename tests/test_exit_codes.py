"""One voice for errors and the README's exit codes everywhere (issue 15): kubectl's NotFound line for
every command, with a hint when another Ray kind has the name; 1 for errors, 2 for bad flags or
input, 3 when `debug` could not look; a refused --address fails at once; camelCase JSON."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from tests.conftest import EmulatorHandle, run_cli

NOT_FOUND = 'Error from server (NotFound): rayclusters.ray.io "nope" not found\n'
HINT = ('Error from server (NotFound): rayclusters.ray.io "rayjob-sample" not found; a RayJob named "rayjob-sample" '
        "exists: use rayjob/rayjob-sample\n")


def rayjob(name: str = "rayjob-sample") -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name, "namespace": "default"},
            "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_x"},
            "status": {"jobId": "raysubmit_x", "rayClusterName": f"{name}-raycluster"}}


@pytest.mark.parametrize("args, code, message", [
    (["get", "cluster", "nope"], 1, NOT_FOUND),
    (["get", "raycluster/nope", "-o", "yaml"], 1, NOT_FOUND),
    (["get", "workergroup", "-c", "nope"], 1, NOT_FOUND),
    (["get", "node", "-c", "nope"], 1, NOT_FOUND),  # was: "No resources found" and exit 0
    (["get", "token", "nope"], 1, NOT_FOUND),
    (["scale", "cluster", "nope", "-w", "g", "-r", "1"], 1, NOT_FOUND),
    (["create", "workergroup", "g", "-c", "nope"], 1, NOT_FOUND),
    (["delete", "nope", "-y"], 1, NOT_FOUND),
    (["delete", "nope", "--dry-run"], 1, NOT_FOUND),
    (["session", "nope"], 1, NOT_FOUND),
    (["log", "nope"], 1, NOT_FOUND),
    (["job", "logs", "nope"], 1, 'Error from server (NotFound): rayjobs.ray.io "nope" not found\n'),
    (["job", "stop", "nope"], 1, 'Error from server (NotFound): rayjobs.ray.io "nope" not found\n'),
    (["debug", "nope"], 3, NOT_FOUND),
    (["debug", "rayservice/nope"], 3, 'Error from server (NotFound): rayservices.ray.io "nope" not found\n'),
])
def test_every_command_says_not_found_in_kubectls_words(emulator: EmulatorHandle, args, code, message, tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)  # `log` would write ./nope
    result = emulator.run(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", message)
    assert [w for w in emulator.emu.writes() if w.status < 400] == []


@pytest.mark.parametrize("args, code", [
    (["debug", "rayjob-sample"], 3), (["session", "rayjob-sample"], 1), (["log", "rayjob-sample"], 1),
    (["delete", "rayjob-sample", "-y"], 1), (["get", "cluster", "rayjob-sample"], 1),
    (["scale", "cluster", "rayjob-sample", "-w", "g", "-r", "1"], 1),
])
def test_a_bare_name_of_another_kind_gets_a_hint(emulator: EmulatorHandle, args, code, tmp_path, monkeypatch):
    """Issue 15: `debug rayjob-sample` said the RayCluster was not found, with no word of the RayJob."""
    monkeypatch.chdir(tmp_path)
    emulator.emu.add(rayjob())
    result = emulator.run(*args)
    assert (result.exit_code, result.stderr) == (code, HINT)


def test_debug_without_any_kubeconfig_could_not_look(tmp_path, monkeypatch):
    """Issue 15: exit 1 ("errors found") when there was no kubeconfig at all; 3 means it could not run."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    result = run_cli("debug", "demo")
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


@pytest.mark.timeout(45)  # the issue: 60 s of retries before the error
def test_job_logs_with_a_refused_address_fails_at_once(emulator: EmulatorHandle):
    emulator.emu.add(rayjob("my-job"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens
    result = emulator.run("job", "logs", "my-job", "--address", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot reach the Ray dashboard at http://127.0.0.1:{port}: connection refused\n"


def test_version_json_is_camel_case_throughout(emulator: EmulatorHandle):
    from tests.test_version import operator_deployment

    emulator.emu.add(operator_deployment())
    doc = json.loads(emulator.run("version", "-o", "json").stdout)

    def keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [k for k in value] + [k for v in value.values() for k in keys(v)]
        return [k for v in value for k in keys(v)] if isinstance(value, list) else []

    assert doc["kuberayOperator"]["availableReplicas"] == 1
    assert [k for k in keys(doc) if "_" in k] == []


@pytest.mark.parametrize("flag", ["--log-style=record", "--log-color=true"])
def test_ray_cli_styling_flags_are_refused_with_the_reason(flag: str):
    result = run_cli("job", "submit", "--name", "x", flag, "--dry-run", "--", "python", "x.py")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {flag.split('=')[0]} is not supported: upstream passed it to a local "
                                    "`ray job submit`")


@pytest.mark.parametrize("args", [
    ["get", "cluster", "--bogus"], ["get", "cluster", "-o", "table"], ["scale", "cluster", "x", "-r", "two"],
    ["create", "cluster", "x", "--dry-run=maybe"], ["delete"], ["get", "cluster", "-A=perhaps"],
])
def test_bad_flags_and_input_exit_2(args):
    result = run_cli(*args)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
