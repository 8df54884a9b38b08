"""The CLI as a whole with random flag values, config files and RayJob YAML: the only outcomes are
success or one error line with exit code 1/2, never a traceback, and invalid input (exit 2) never
sends a write to the API server."""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_ray.errors import UsageError
from kubectl_ray.resources.config_file import parse_config
from tests.conftest import EmulatorHandle, ray_cluster, run_cli

CLI_FUZZ = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
VALUE = st.one_of(
    st.sampled_from(["", "0", "-1", "2", "500m", "4Gi", "2GG", "abc", "1e3", "a=b", "a=b,c", "k:NoSchedule",
                     "nvidia.com/gpu=1", '{"NPU": 1}', "{bad", "v2", "V1", "5m", "x" * 70, "--", "-", "Default"]),
    st.text(alphabet=string.ascii_letters + string.digits + "=,:/.-_{}\"' ", max_size=20),
)
CREATE_FLAGS = ["--ray-version", "--image", "--head-cpu", "--head-memory", "--head-gpu", "--head-ephemeral-storage",
                "--head-ray-start-params", "--head-node-selectors", "--worker-replicas", "--worker-cpu",
                "--worker-memory", "--worker-gpu", "--worker-tpu", "--worker-ephemeral-storage",
                "--worker-ray-start-params", "--worker-node-selectors", "--num-of-hosts", "--labels", "--annotations",
                "--autoscaler", "--head-runtime-class-name", "--worker-runtime-class-name", "--head-tolerations",
                "--worker-tolerations", "--head-resources", "--worker-resources", "--worker-ray-resources",
                "--worker-min-replicas", "--worker-max-replicas", "--autoscaler-idle-timeout",
                "--autoscaler-upscaling-mode", "--gcs-ft-redis-address", "--gcs-ft-redis-password-secret",
                "--gcs-ft-external-storage-namespace", "--service-account", "--env", "--head-service-type", "--timeout"]
NAME = st.one_of(st.sampled_from(["demo", "fz", "Bad_Name", "-x", "a" * 60, ""]), st.text(string.ascii_lowercase + "-", max_size=10))


def assert_clean(result, emulator: EmulatorHandle, writes_before: int, max_errors: int = 1) -> None:
    """max_errors: `delete` reports each resource that failed on its own line, like kubectl."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exit_code in (0, 1, 2), result
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "Error from server"))]
        assert 1 <= len(errors) <= max_errors, result.stderr
    if result.exit_code == 2:
        assert len(emulator.emu.writes()) == writes_before, "invalid input reached the API server"


@CLI_FUZZ
@given(name=NAME, flags=st.lists(st.tuples(st.sampled_from(CREATE_FLAGS), VALUE), max_size=5))
def test_create_cluster_with_random_flags(emulator: EmulatorHandle, tally, name, flags):
    with tally.case("fuzz: CLI create cluster"):
        args = ["create", "cluster", name, "--dry-run=server"] + [w for flag, value in flags for w in (flag, value)]
        before = len(emulator.emu.writes())
        assert_clean(emulator.run(*args), emulator, before)


@CLI_FUZZ
@given(group=st.sampled_from(["default-group", "missing", ""]), replicas=VALUE, low=VALUE, high=VALUE,
       chosen=st.lists(st.sampled_from(["-r", "--min-replicas", "--max-replicas"]), max_size=3, unique=True))
def test_scale_with_random_values(emulator: EmulatorHandle, tally, group, replicas, low, high, chosen):
    with tally.case("fuzz: CLI scale"):
        if emulator.emu.get("rayclusters", "default", "demo") is None:
            emulator.emu.add(ray_cluster("demo"))
        values = {"-r": replicas, "--min-replicas": low, "--max-replicas": high}
        args = ["scale", "cluster", "demo", "-w", group, "--dry-run"] + [w for f in chosen for w in (f, values[f])]
        before = len(emulator.emu.writes())
        assert_clean(emulator.run(*args), emulator, before)


@CLI_FUZZ
@given(targets=st.lists(st.one_of(NAME, st.sampled_from(["rayjob/x", "RayService/y", "pod/z", "a/b/c", "raycluster/"])),
                        max_size=3),
       output=st.sampled_from(["json", "yaml", "wide", "name", "table", "", "JSON"]), kind=st.sampled_from(
           ["cluster", "workergroup", "node", "job", "service", "clusters", "bogus"]))
def test_get_and_delete_with_random_arguments(emulator: EmulatorHandle, tally, targets, output, kind):
    with tally.case("fuzz: CLI get/delete"):
        before = len(emulator.emu.writes())
        assert_clean(emulator.run("get", kind, *targets[:1], "-o", output), emulator, before)
        before = len(emulator.emu.writes())
        assert_clean(emulator.run("delete", *targets, "-y"), emulator, before, max_errors=max(1, len(targets)))


CONFIG_KEYS = ["name", "namespace", "labels", "annotations", "ray-version", "image", "service-account", "head",
               "worker-groups", "autoscaler", "gcs-fault-tolerance", "gke", "bogus-key"]
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 10 ** 6), st.floats(allow_nan=False), VALUE)
INNER_KEYS = st.sampled_from(["cpu", "memory", "gpu", "replicas", "name", "ray-start-params", "node-selectors",
                              "tolerations", "min-replicas", "max-replicas", "version", "x"])
YAML_VALUE = st.recursive(
    SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(INNER_KEYS, inner, max_size=4)),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(CONFIG_KEYS), YAML_VALUE, max_size=6))
def test_config_file_parser(tally, doc):
    with tally.case("fuzz: config files"):
        text = yaml.safe_dump(doc)
        try:
            parse_config(text, "fuzz.yaml")
        except UsageError as exc:
            assert "\n" not in exc.render() and exc.render().startswith("error: ")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_config_file_parser_on_any_text(tally, text):
    with tally.case("fuzz: config files"):
        try:
            parse_config(text, "fuzz.yaml")
        except UsageError as exc:
            assert "\n" not in exc.render()


RAYJOB_SPEC = st.fixed_dictionaries({}, optional={
    "submissionMode": st.sampled_from(["InteractiveMode", "K8sJobMode", "", 3]),
    "backoffLimit": st.one_of(st.integers(-2, 3), VALUE),
    "ttlSecondsAfterFinished": st.one_of(st.integers(-5, 100), VALUE),
    "shutdownAfterJobFinishes": st.one_of(st.booleans(), VALUE),
    "entrypoint": VALUE,
    "runtimeEnvYAML": st.one_of(VALUE, st.just("working_dir: ./x\npip: [emoji]")),
    "rayClusterSpec": YAML_VALUE,
})


@CLI_FUZZ
@given(kind=st.sampled_from(["RayJob", "RayCluster", "", None]), api=st.sampled_from(["ray.io/v1", "ray.io/v1alpha1", "v1"]),
       name=NAME, spec=RAYJOB_SPEC, raw=st.booleans(), junk=st.text(max_size=60))
def test_job_submit_with_random_rayjob_files(emulator: EmulatorHandle, tmp_path: Path, tally, kind, api, name, spec,
                                             raw, junk):
    with tally.case("fuzz: RayJob YAML"):
        path = tmp_path / "job.yaml"
        doc = {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}
        path.write_text(junk if raw else yaml.safe_dump(doc))
        before = len(emulator.emu.writes())
        result = run_cli("job", "submit", "-f", str(path), "--dry-run", "--kubeconfig", emulator.kubeconfig,
                         "--", "python", "-c", "pass")
        assert_clean(result, emulator, before)
        assert len(emulator.emu.writes()) == before  # --dry-run never creates anything
