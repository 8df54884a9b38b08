"""`kubectl ray job submit` without Ray: flags, validation before any write, the RayJob it creates or
prints, and cleanup when the dashboard cannot be reached. The real-Ray cases are in tests/e2e/."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_ray.cli.job.follow import first_line_of_ray_message
from kubectl_ray.cli.job.submit_options import SUBMISSION_ID_ALPHABET, new_submission_id
from kubectl_ray.cli.job.submit_run import cluster_readiness
from kubectl_ray.resources.cluster import ClusterOptions, build_cluster_spec
from tests.conftest import REPO, CliResult, EmulatorHandle, run_cli
from tests.crd_schema import assert_valid_cr
from tests.e2e.operator import play_kuberay

INTERACTIVE_FILE = """\
apiVersion: ray.io/v1
kind: RayJob
metadata:
  name: from-file
spec:
  submissionMode: InteractiveMode
  entrypoint: python old.py
  rayClusterSpec:
    rayVersion: "2.52.0"
    headGroupSpec:
      rayStartParams: {}
      template:
        spec:
          containers: [{name: ray-head, image: "rayproject/ray:2.52.0"}]
"""


def submit(emulator: EmulatorHandle, *flags: str, entrypoint: list[str] | None = None) -> CliResult:
    args = ["job", "submit", *flags, "--kubeconfig", emulator.kubeconfig]
    if entrypoint is not None:
        args += ["--", *entrypoint]
    return run_cli(*args)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def rayjob_file(tmp_path: Path, **spec_changes: Any) -> str:
    doc = yaml.safe_load(INTERACTIVE_FILE)
    for key, value in spec_changes.items():
        if value is None:
            doc["spec"].pop(key, None)
        else:
            doc["spec"][key] = value
    return write(tmp_path, "job.yaml", yaml.safe_dump(doc))


# --- bad input: one line each, nothing written -----------------------------------------------------

BAD_INPUT: dict[str, tuple[list[str], list[str] | None, str]] = {
    # case: (flags, entrypoint or None for no `--`, expected error text)
    "no --": (["--name", "j"], None, "error: no entrypoint: put the command after --"),
    "empty entrypoint": (["--name", "j"], [], "error: empty entrypoint after --"),
    "blank entrypoint": (["--name", "j"], ["", " "], "error: empty entrypoint after --"),
    "words before --": (["--name", "j", "python"], ["x.py"], "error: unexpected argument(s) before --: python"),
    "no name and no file": ([], ["true"], "error: Must set either yaml file (--filename) or set Ray job name (--name)"),
    "missing working dir": (["--name", "j", "--working-dir", "/no/such/dir"], ["true"],
                            "error: working directory /no/such/dir must be an existing directory"),
    "runtime env file missing": (["--name", "j", "--runtime-env", "/no/env.yaml"], ["true"],
                                 "error: --runtime-env /no/env.yaml: Runtime Env file does not exist"),
    "runtime env not YAML": (["--name", "j", "--runtime-env", "@BAD_YAML"], ["true"],
                             "error: --runtime-env @BAD_YAML: not valid YAML:"),
    "runtime env not a mapping": (["--name", "j", "--runtime-env", "@LIST_YAML"], ["true"],
                                  "error: --runtime-env @LIST_YAML: expected a YAML mapping"),
    "both runtime env flags": (["--name", "j", "--runtime-env", "@LIST_YAML", "--runtime-env-json", "{}"], ["true"],
                               "error: only one of --runtime-env and --runtime-env-json can be given"),
    "bad runtime env json": (["--name", "j", "--runtime-env-json", "{nope"], ["true"],
                             "error: invalid --runtime-env-json: not valid JSON"),
    "bad metadata json": (["--name", "j", "--metadata-json", "[1]"], ["true"],
                          "error: invalid --metadata-json: expected a JSON object"),
    "metadata values not strings": (["--name", "j", "--metadata-json", '{"a": 1}'], ["true"],
                                    "error: invalid --metadata-json: values must be strings"),
    "bad entrypoint resources json": (["--name", "j", "--entrypoint-resources", "{"], ["true"],
                                      "error: invalid --entrypoint-resources: not valid JSON"),
    "entrypoint resources not numbers": (["--name", "j", "--entrypoint-resources", '{"NPU": "x"}'], ["true"],
                                         "error: invalid --entrypoint-resources: 'NPU' must be a number >= 0"),
    "bad headers json": (["--name", "j", "--headers", "nope"], ["true"], "error: invalid --headers: not valid JSON"),
    "bad head ray resources json": (["--name", "j", "--head-ray-resources", "{"], ["true"],
                                    "error: invalid --head-ray-resources '{': not valid JSON"),
    "negative entrypoint cpus": (["--name", "j", "--entrypoint-num-cpus", "-1"], ["true"],
                                 "error: invalid --entrypoint-num-cpus -1: must be a number >= 0"),
    "invalid head cpu": (["--name", "j", "--head-cpu", "two"], ["true"],
                         "error: --head-cpu is not a valid resource quantity: 'two'"),
    "negative worker memory": (["--name", "j", "--worker-memory", "-1Gi"], ["true"],
                               "error: --worker-memory cannot be negative: '-1Gi'"),
    "invalid worker gpu": (["--name", "j", "--worker-gpu", "1.5.2"], ["true"],
                           "error: --worker-gpu is not a valid resource quantity: '1.5.2'"),
    "negative ttl": (["--name", "j", "--ttl-seconds-after-finished", "-5"], ["true"],
                     "error: --ttl-seconds-after-finished must be greater than or equal to 0"),
    "name too long": (["--name", "j" * 48], ["true"], "must be no more than 47 characters"),
    "bad name": (["--name", "Bad_Name"], ["true"], "error: invalid RayJob name 'Bad_Name'"),
    "bad cluster timeout": (["--name", "j", "--cluster-timeout", "soon"], ["true"],
                            "error: invalid --cluster-timeout 'soon': not a duration"),
    "empty address": (["--name", "j", "--address", " "], ["true"], "error: --address was provided but is empty"),
    "address not http": (["--name", "j", "--address", "ray://head:10001"], ["true"],
                         "error: invalid --address 'ray://head:10001': the Ray dashboard address must be http"),
    "-f missing": (["-f", "/no/job.yaml"], ["true"], "error: -f /no/job.yaml: Ray Job file does not exist"),
    "-f not a RayJob": (["-f", "@CLUSTER_YAML"], ["true"], "error: @CLUSTER_YAML is not a RayJob: kind is 'RayCluster'"),
    "-f not InteractiveMode": (["-f", "@K8S_JOB_MODE"], ["true"],
                               "error: @K8S_JOB_MODE: spec.submissionMode must be InteractiveMode"),
    "-f backoffLimit": (["-f", "@BACKOFF"], ["true"],
                        "error: @BACKOFF: spec.backoffLimit is 2: BackoffLimit is incompatible with InteractiveMode"),
    "-f negative ttl": (["-f", "@NEG_TTL"], ["true"], "error: @NEG_TTL: ttlSecondsAfterFinished must be greater than or "
                                                     "equal to 0"),
    "-f ttl without shutdown": (["-f", "@TTL_NO_SHUTDOWN"], ["true"], "error: @TTL_NO_SHUTDOWN: ttlSecondsAfterFinished "
                                "is only supported when shutdownAfterJobFinishes is set to true"),
    "-f other namespace": (["-f", "@OTHER_NS"], ["true"], 'error: @OTHER_NS: the RayJob\'s namespace "prod" does not '
                           'match the namespace "default"'),
    "-f with cluster flags": (["-f", "@K8S_JOB_MODE", "--head-cpu", "4", "--image", "x"], ["true"],
                              "error: --image, --head-cpu cannot be used with -f"),
    "-f two documents": (["-f", "@TWO_DOCS"], ["true"], "error: -f @TWO_DOCS: holds 2 YAML documents; expected one"),
}


@pytest.fixture
def input_files(tmp_path: Path) -> dict[str, str]:
    cluster = yaml.safe_load(INTERACTIVE_FILE)
    cluster["kind"] = "RayCluster"
    other_ns = yaml.safe_load(INTERACTIVE_FILE)
    other_ns["metadata"]["namespace"] = "prod"
    return {
        "@BAD_YAML": write(tmp_path, "bad.yaml", "working_dir: [unclosed\n"),
        "@LIST_YAML": write(tmp_path, "list.yaml", "- a\n- b\n"),
        "@CLUSTER_YAML": write(tmp_path, "cluster.yaml", yaml.safe_dump(cluster)),
        "@K8S_JOB_MODE": rayjob_file(tmp_path, submissionMode="K8sJobMode"),
        "@BACKOFF": write(tmp_path, "backoff.yaml", INTERACTIVE_FILE + "  backoffLimit: 2\n"),
        "@NEG_TTL": write(tmp_path, "negttl.yaml", INTERACTIVE_FILE + "  ttlSecondsAfterFinished: -1\n"),
        "@TTL_NO_SHUTDOWN": write(tmp_path, "ttl.yaml", INTERACTIVE_FILE + "  ttlSecondsAfterFinished: 10\n"),
        "@OTHER_NS": write(tmp_path, "otherns.yaml", yaml.safe_dump(other_ns)),
        "@TWO_DOCS": write(tmp_path, "two.yaml", INTERACTIVE_FILE + "---\n" + INTERACTIVE_FILE),
    }


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_creates_nothing(emulator: EmulatorHandle, input_files: dict[str, str],
                                                   case: str) -> None:
    flags, entrypoint, expected = BAD_INPUT[case]
    flags = [input_files.get(f, f) for f in flags]
    for placeholder, path in input_files.items():
        expected = expected.replace(placeholder, path)

    result = submit(emulator, *flags, entrypoint=entrypoint)

    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
    assert emulator.emu.writes() == []


# --- the RayJob ------------------------------------------------------------------------------------

def test_generated_rayjob_matches_upstreams_shape_and_the_crd(emulator: EmulatorHandle) -> None:
    result = submit(emulator, "--name", "demo", "--submission-id", "raysubmit_fixed", "--dry-run",
                    entrypoint=["python", "-c", "import a; print('x y')"])

    assert result.exit_code == 0, result
    job = yaml.safe_load(result.stdout)
    assert job == {
        "apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "demo", "namespace": "default"},
        "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_fixed",
                 "entrypoint": "python -c 'import a; print('\"'\"'x y'\"'\"')'",
                 "shutdownAfterJobFinishes": False, "rayClusterSpec": build_cluster_spec(ClusterOptions())},
    }
    assert_valid_cr(job)
    assert emulator.emu.writes() == [] and emulator.emu.requests_where(verb="create") == []


def test_generated_rayjob_with_resources_selectors_and_extras(emulator: EmulatorHandle) -> None:
    result = submit(emulator, "--name", "gpu", "--dry-run", "--ray-version", "2.46.0", "--head-cpu", "1",
                    "--head-memory", "2Gi", "--worker-cpu", "3", "--worker-memory", "6Gi", "--worker-gpu", "1",
                    "--worker-replicas", "2", "--head-node-selectors", "kubernetes.io/os=linux",
                    "--worker-node-selectors", "pool=gpu", "--worker-runtime-class-name", "nvidia",
                    "--worker-tolerations", "nvidia.com/gpu:NoSchedule", "--worker-resources", "amd.com/gpu=1",
                    "--ttl-seconds-after-finished", "0", entrypoint=["python", "train.py"])

    assert result.exit_code == 0, result
    job = yaml.safe_load(result.stdout)
    assert_valid_cr(job)
    spec = job["spec"]
    assert (spec["ttlSecondsAfterFinished"], spec["shutdownAfterJobFinishes"]) == (0, True)
    cluster = spec["rayClusterSpec"]
    assert cluster["rayVersion"] == "2.46.0"
    head = cluster["headGroupSpec"]["template"]["spec"]
    assert head["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert head["containers"][0]["image"] == "rayproject/ray:2.46.0"
    assert head["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    (group,) = cluster["workerGroupSpecs"]
    assert (group["groupName"], group["replicas"]) == ("default-group", 2)
    pod = group["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "gpu"} and pod["runtimeClassName"] == "nvidia"
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "6Gi", "nvidia.com/gpu": "1", "amd.com/gpu": "1"}


def test_dry_run_with_a_file_creates_nothing_either(emulator: EmulatorHandle, tmp_path: Path) -> None:
    path = rayjob_file(tmp_path, jobId="old-id")

    result = submit(emulator, "-f", path, "--dry-run", "--submission-id", "raysubmit_new",
                    "--ttl-seconds-after-finished", "30", entrypoint=["python", "new.py"])

    assert result.exit_code == 0, result
    job = yaml.safe_load(result.stdout)
    assert job["metadata"] == {"name": "from-file", "namespace": "default"}
    assert job["spec"]["jobId"] == "raysubmit_new"
    assert job["spec"]["entrypoint"] == "python new.py"
    assert (job["spec"]["ttlSecondsAfterFinished"], job["spec"]["shutdownAfterJobFinishes"]) == (30, True)
    assert_valid_cr(job)
    assert "spec.entrypoint 'python old.py' is replaced by the command after --" in result.stderr
    assert "spec.jobId 'old-id' is replaced by the submission id raysubmit_new" in result.stderr
    assert emulator.emu.writes() == []


def test_file_saved_from_the_server_loses_its_server_fields(emulator: EmulatorHandle, tmp_path: Path) -> None:
    doc = yaml.safe_load(INTERACTIVE_FILE)
    doc["metadata"].update(resourceVersion="42", uid="u-1", creationTimestamp="2026-01-01T00:00:00Z")
    doc["status"] = {"jobStatus": "SUCCEEDED"}
    path = write(tmp_path, "saved.yaml", yaml.safe_dump(doc))

    result = submit(emulator, "-f", path, "--name", "renamed", "--dry-run", entrypoint=["true"])

    job = yaml.safe_load(result.stdout)
    assert job["metadata"] == {"name": "renamed", "namespace": "default"} and "status" not in job


def test_submission_ids_look_like_upstreams() -> None:
    ids = {new_submission_id() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert re.fullmatch(rf"raysubmit_[{SUBMISSION_ID_ALPHABET}]{{16}}", value)


# --- running without a dashboard --------------------------------------------------------------------

def test_unreachable_dashboard_deletes_the_created_rayjob(emulator: EmulatorHandle,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    play_kuberay(emulator.emu)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr("kubectl_ray.ray.connect.DASHBOARD_READY_TIMEOUT", 1.0)

    result = submit(emulator, "--name", "nodash", "--address", f"http://127.0.0.1:{port}", entrypoint=["true"])

    assert result.exit_code == 1, result
    assert result.stderr.splitlines()[-1] == (  # refused at a given --address: final at once, no retries
        f"error: cannot reach the Ray dashboard at http://127.0.0.1:{port}: connection refused; "
        'deleted RayJob "nodash" created by this command')
    assert emulator.emu.get("rayjobs", "default", "nodash") is None
    assert [r.verb for r in emulator.emu.writes()] == ["create", "delete"]


def test_keep_leaves_the_rayjob_and_says_how_to_delete_it(emulator: EmulatorHandle) -> None:
    play_kuberay(emulator.emu, ready=False)

    result = submit(emulator, "--name", "kept", "--address", "http://127.0.0.1:9", "--cluster-timeout", "1s", "--keep",
                    entrypoint=["true"])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].endswith(
        'kept RayJob "kept" (--keep); delete it with: kubectl ray delete rayjob/kept -n default')
    assert emulator.emu.get("rayjobs", "default", "kept") is not None


def test_existing_rayjob_is_not_touched(emulator: EmulatorHandle) -> None:
    emulator.emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "taken", "namespace": "default"},
                      "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_theirs"}})
    emulator.emu.clear_requests()

    result = submit(emulator, "--name", "taken", "--address", "http://127.0.0.1:9", entrypoint=["true"])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == 'Error from server (AlreadyExists): rayjobs.ray.io "taken" already exists'
    assert [r.verb for r in emulator.emu.writes()] == ["create"]
    assert emulator.emu.get("rayjobs", "default", "taken")["spec"]["jobId"] == "raysubmit_theirs"


def test_operator_that_never_names_a_cluster(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kubectl_ray.cli.job.submit_run.CLUSTER_NAME_TIMEOUT", 1.0)

    result = submit(emulator, "--name", "orphan", "--address", "http://127.0.0.1:9", entrypoint=["true"])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        'error: RayJob "orphan" got no RayCluster within 1s (status.rayClusterName is empty): is the KubeRay operator '
        'running? Try: kubectl ray debug rayjob/orphan; deleted RayJob "orphan" created by this command')


@pytest.mark.parametrize("status, expected", [
    (None, (False, "not created yet")),
    ({"state": "ready"}, (True, "state ready")),
    ({"conditions": [{"type": "HeadPodReady", "status": "True"}]}, (True, "no state yet")),
    ({"conditions": [{"type": "RayClusterProvisioned", "status": "True"}]}, (True, "no state yet")),
    ({"state": "suspended", "reason": "Suspended by Kueue"}, (False, "state suspended, Suspended by Kueue")),
    ({"conditions": [{"type": "HeadPodReady", "status": "False", "reason": "HeadPodNotFound"},
                     {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreateWorkerPod", "message": "quota"}]},
     (False, "no state yet, HeadPodReady=False (HeadPodNotFound), ReplicaFailure=True (FailedCreateWorkerPod: quota)")),
])
def test_cluster_readiness(status: dict | None, expected: tuple[bool, str]) -> None:
    cluster = None if status is None else {"status": status}
    assert cluster_readiness(cluster) == expected


@pytest.mark.parametrize("message, expected", [
    ("Job entrypoint command failed with exit code 3, last available logs (truncated to 20,000 chars):\nboom\n",
     "Job entrypoint command failed with exit code 3"),
    ("Job supervisor actor died.", "Job supervisor actor died."),
    ("", "no message"),
])
def test_failure_message_keeps_rays_reason_without_the_repeated_logs(message: str, expected: str) -> None:
    assert first_line_of_ray_message(message) == expected


# --- no Ray in the plugin ------------------------------------------------------------------------------

def test_the_plugin_never_imports_ray() -> None:
    sources = [p for p in (REPO / "kubectl_ray").rglob("*.py")]
    offenders = [str(p) for p in sources if re.search(r"^\s*(import ray\b|from ray\b)", p.read_text(), re.M)]
    assert offenders == []
    code = ("import sys, kubectl_ray.cli.job, kubectl_ray.ray.dashboard, kubectl_ray.ray.packaging, "
            "kubectl_ray.ray.logtail, kubectl_ray.ray.connect; from kubectl_ray.cli import main; "
            "main(['job', 'submit', '--name', 'x', '--dry-run', '--', 'true']); "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


def test_job_list_is_get_job(emulator: EmulatorHandle, frozen_now: Any) -> None:
    emulator.emu.add({"apiVersion": "ray.io/v1", "kind": "RayJob",
                      "metadata": {"name": "listed", "namespace": "default", "creationTimestamp": "2026-11-23T11:00:00Z"},
                      "spec": {"submissionMode": "InteractiveMode", "jobId": "raysubmit_listed"},
                      "status": {"jobId": "raysubmit_listed", "jobStatus": "RUNNING", "rayClusterName": "listed-abc"}})

    listed = emulator.run("job", "list")
    got = emulator.run("get", "job")

    assert listed.exit_code == 0, listed
    assert listed.stdout == got.stdout and "raysubmit_listed" in listed.stdout
    assert emulator.run("job", "list", "-o", "name").stdout == "rayjob.ray.io/listed\n"
    help_text = run_cli("job", "list", "--help").stdout
    assert help_text.startswith("Usage: kubectl ray job list [OPTIONS] [NAME | TYPE/NAME]...")
    assert "also `kubectl ray job list`" not in help_text  # issue 15: it said so of itself
    assert "The same command as `kubectl ray get job`." in help_text and "kubectl ray job list -A" in help_text


def test_payload_carries_optional_fields_only_when_given() -> None:
    from kubectl_ray.cli.job.submit_options import _payload

    base = {"metadata_json": None, "entrypoint_num_cpus": None, "entrypoint_num_gpus": None,
            "entrypoint_memory": None, "entrypoint_resources": None}
    assert _payload(base, "python x.py", "raysubmit_a") == {"entrypoint": "python x.py", "submission_id": "raysubmit_a"}
    full = dict(base, metadata_json='{"team": "ml"}', entrypoint_num_cpus=2.0, entrypoint_num_gpus=0.5,
                entrypoint_memory=1024, entrypoint_resources='{"NPU": 1}')
    assert _payload(full, "true", "raysubmit_b") == {
        "entrypoint": "true", "submission_id": "raysubmit_b", "metadata": {"team": "ml"}, "entrypoint_num_cpus": 2,
        "entrypoint_num_gpus": 0.5, "entrypoint_memory": 1024, "entrypoint_resources": {"NPU": 1}}
