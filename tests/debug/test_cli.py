"""`kubectl ray debug` as a command: flags, help, colour, JSON schema, exit codes, import cost."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from kubectl_ray.debug.report import JSON_SCHEMA
from tests.conftest import REPO, run_cli
from tests.debug.world import EXAMPLE, World, load

ANSI = "\x1b["


def test_help_documents_exit_codes_and_examples() -> None:
    result = run_cli("debug", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: kubectl ray debug [OPTIONS] [NAME | TYPE/NAME]")
    assert "Exit codes: 0 no errors found, 1 errors found, 3 the diagnosis could not run" in " ".join(result.stdout.split())
    assert "kubectl ray debug --from-bundle examples/broken-cluster.tar.gz" in result.stdout
    assert "Connection flags (--kubeconfig, --context, -n, --token, ...)" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["demo", "-A"], "error: a resource name cannot be combined with -A/--all-namespaces"),
    (["--deep"], "error: --deep and --address need one RayCluster, RayJob or RayService (NAME or TYPE/NAME)"),
    (["pods/demo"], "error: unsupported resource type 'pods' in 'pods/demo': use one of raycluster, rayjob, rayservice"),
    (["demo", "--address", "ftp://x"], "error: invalid --address 'ftp://x': the Ray dashboard address must be http:// or https://"),
    (["demo", "-o", "yaml"], "error: Invalid value for '-o' / '--output': 'yaml' is not 'json'."),
    (["demo", "--tail", "0"], "error: Invalid value for '--tail': 0 is not in the range 1<=x<=10000."),
])
def test_bad_flags_exit_2_before_any_request(emulator, args: list[str], message: str) -> None:
    result = emulator.run("debug", *args)
    assert result.exit_code == 2, result
    assert result.stderr.startswith(message), result.stderr
    assert emulator.emu.request_count == 0


def test_list_rules_needs_no_cluster_and_names_every_check() -> None:
    from kubectl_ray.debug.rules import rule_ids

    result = run_cli("debug", "--list-rules", env={"KUBECONFIG": "/nonexistent"})
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "ALIASES", "NEEDS", "CHECKS", "THAT"]
    assert lines[1].startswith("OP-01") and "KubeRay CRDs are installed and ray.io/v1 is served" in lines[1]
    listed = [line.split()[0] for line in lines[1:]]
    assert sorted(listed) == rule_ids() and len(listed) == len(set(listed)) >= 120
    assert any(line.startswith("GCS-04") and "VER-04" in line for line in lines)
    assert any(line.startswith("DEEP-01") and "--deep" in line for line in lines)


def test_no_colour_without_a_terminal() -> None:
    result = run_cli("debug", "--from-bundle", str(EXAMPLE))
    assert ANSI not in result.stdout


@pytest.mark.parametrize("env,flags,coloured", [
    ({}, [], True), ({"NO_COLOR": "1"}, [], False), ({}, ["--no-color"], False), ({"NO_COLOR": ""}, [], True),
])
def test_colour_only_on_a_terminal_and_never_with_no_color(mocker, env, flags, coloured) -> None:
    mocker.patch("kubectl_ray.cli.debug._isatty", return_value=True)
    result = run_cli("debug", "--from-bundle", str(EXAMPLE), *flags, env=env)
    assert (ANSI in result.stdout) is coloured
    if coloured:
        assert "\x1b[31m\x1b[1m[CRASH-01]\x1b[0m the Ray container of the head was OOMKilled (limit 1Gi)" in result.stdout


def test_json_output_follows_the_documented_schema(emulator, frozen_now) -> None:
    broken = World()
    broken.crash(broken.head, reason="OOMKilled", exit_code=137)
    broken.waiting_for_gcs(broken.worker, minutes=8)
    load(emulator, broken.objs)
    load(emulator, World("ray-job.sample.yaml").objs)
    emulator.emu.forbid("list", "nodes")
    docs = [json.loads(emulator.run("debug", "raycluster-complete", "-o", "json").stdout),
            json.loads(emulator.run("debug", "-o", "json").stdout),
            json.loads(emulator.run("debug", "rayjob/nope", "-o", "json").stdout),
            json.loads(run_cli("debug", "--from-bundle", str(EXAMPLE), "-o", "json").stdout)]
    for doc in docs:
        jsonschema.validate(doc, JSON_SCHEMA)
    single, scan, missing, example = docs
    assert single["exitCode"] == 1 and single["summary"]["targets"] == 1
    assert single["targets"][0]["verdict"] == "error"
    assert single["operator"] == {"version": "v1.7.0", "namespace": "kuberay-system", "name": "kuberay-operator",
                                  "source": "deployment"}
    crash = single["targets"][0]["findings"][0]
    assert crash["id"] == "CRASH-01" and crash["object"].startswith("Pod/raycluster-complete-head-")
    assert crash["evidence"][0] == {"kind": "field", "where": "status.containerStatuses[ray-head].lastState.terminated.reason",
                                    "value": "OOMKilled (exit 137, restarts 5)"}
    assert {c["id"] for c in crash["consequences"]} >= {"GCS-02", "GCS-05", "WKR-01"}
    assert [t["name"] for t in scan["targets"]] == ["raycluster-complete", "rayjob-sample"]
    assert missing["exitCode"] == 3 and missing["targets"][0]["verdict"] == "not-found"
    assert example["source"]["type"] == "bundle"


def test_exit_code_of_json_mode_matches_the_document(emulator, frozen_now) -> None:
    load(emulator, World().objs)
    result = emulator.run("debug", "raycluster-complete", "-o", "json")
    assert result.exit_code == json.loads(result.stdout)["exitCode"] == 0
    missing = emulator.run("debug", "nope", "-o", "json")
    assert missing.exit_code == json.loads(missing.stdout)["exitCode"] == 3


def test_importing_the_command_stays_light() -> None:
    code = ("import sys, kubectl_ray.cli.debug; heavy = [m for m in ('yaml', 'kubernetes', 'ssl', 'urllib3', "
            "'kubectl_ray.debug.rules') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.kubectl
def test_works_as_a_real_kubectl_plugin_offline(tmp_path) -> None:
    """`kubectl ray debug --from-bundle` through the real kubectl's plugin dispatch."""
    import os
    import shutil

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("SKIPPED LOUDLY: kubectl is not installed")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    plugin = bindir / "kubectl-ray"
    plugin.write_text(f"#!/bin/sh\nexec {sys.executable} -m kubectl_ray \"$@\"\n")
    plugin.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '')}", PYTHONPATH=str(REPO),
               KUBECONFIG=str(tmp_path / "none"), HOME=str(tmp_path))
    out = subprocess.run([kubectl, "ray", "debug", "--from-bundle", str(EXAMPLE)], capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines()[0] == "RayCluster ml/demo: 1 error, 2 warnings, 1 info"


def test_multi_line_evidence_is_one_line_for_people_and_whole_in_json() -> None:
    from kubectl_ray.debug.finding import Evidence

    traceback = ("Deploying app 'fruit_app' failed with exception:\nTraceback (most recent call last):\n"
                 '  File "/app/x.py", line 1, in <module>\nModuleNotFoundError: No module named \'fruit\'\n')
    ev = Evidence("field", "status.message", traceback)
    assert ev.render() == ("status.message = Deploying app 'fruit_app' failed with exception: ... "
                           "ModuleNotFoundError: No module named 'fruit'")
    assert ev.to_dict()["value"] == traceback
    assert Evidence("note", "", "a\nb").render() == "a / b"


def test_a_bug_in_the_engine_exits_3_not_1(monkeypatch) -> None:
    def broken(snap):
        raise RuntimeError("boom")

    monkeypatch.setattr("kubectl_ray.debug.engine.diagnose", broken)
    result = run_cli("debug", "--from-bundle", str(EXAMPLE))
    assert result.exit_code == 3
    assert result.stderr == ("error: the diagnosis stopped: unexpected RuntimeError: boom (run with --debug for a "
                             "traceback; please report it)\n")


def test_malformed_objects_read_as_absent_and_crash_no_rule(tmp_path) -> None:
    from kubectl_ray.debug.bundle import write_bundle

    w = World()
    w.head["status"]["containerStatuses"] = "garbage"
    w.worker["metadata"]["labels"]["ray.io/group"] = ["not", "a", "string"]
    path = tmp_path / "odd.tar.gz"
    write_bundle(str(path), w.snapshot())
    result = run_cli("debug", "--from-bundle", str(path))
    assert result.exit_code in (0, 1), result
    assert "RULE ERRORS" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("Verdict:")


def test_a_rule_that_crashes_hides_no_other() -> None:
    from kubectl_ray.debug.engine import diagnose
    from kubectl_ray.debug.rules import Rule, all_rules

    def boom(snap):
        raise RuntimeError("boom")

    w = World()
    rules = [Rule("TEST-01", "a broken rule", boom, 0), *all_rules()]
    d = diagnose(w.snapshot(), rules=rules)
    assert d.crashed == [("TEST-01", "RuntimeError: boom")]
    assert d.findings, "the other rules still ran"


