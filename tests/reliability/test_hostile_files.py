"""Hostile input files: `create cluster --file`, `job submit -f` (a RayJob manifest) and `job submit
--runtime-env`, each with any field of a realistic file swapped for a value of another type, YAML that
is not YAML or not UTF-8, alias bombs, nesting thousands of levels deep, files far past the caps and
endless ones (/dev/zero). Every case ends in one clean line or success (hostile.py's verdict), with
--dry-run so nothing is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from tests.reliability.hostile import CASE_TIMEOUT, RUN_SEED, SUITE, assert_handled, forkrunner
from tests.reliability.mutations import VALUES, json_paths, replace_at

__all__ = ["forkrunner"]  # the fixture, imported for pytest

CONFIG = {"name": "c", "namespace": "default", "ray-version": "2.52.0", "labels": {"team": "ml"},
          "head": {"cpu": "2", "memory": "4Gi", "ray-start-params": {"num-cpus": "0"}, "node-selectors": {"a": "b"},
                   "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]},
          "worker-groups": [{"name": "cpu", "replicas": 2, "min-replicas": 0, "max-replicas": 5, "cpu": "2",
                             "memory": "4Gi", "ray-resources": {"NPU": 1}, "env": {"A": "1"}}],
          "autoscaler": {"version": "v2", "idle-timeout-seconds": 60}}
RAYJOB = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "fromfile", "labels": {"a": "b"}},
          "spec": {"entrypoint": "python old.py", "submissionMode": "K8sJobMode", "backoffLimit": 1,
                   "runtimeEnvYAML": "pip: [emoji]\nenv_vars: {A: '1'}\n",
                   "rayClusterSpec": {"rayVersion": "2.52.0", "headGroupSpec": {"rayStartParams": {}, "template": {
                       "spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2.52.0"}]}}}}}}
RUNTIME_ENV = {"pip": ["emoji"], "env_vars": {"A": "1"}, "excludes": ["*.bin"], "config": {"setup_timeout_seconds": 60}}
KINDS = {
    "config": (CONFIG, ("create", "cluster", "c", "--file", "{file}", "--dry-run")),
    "rayjob": (RAYJOB, ("job", "submit", "-f", "{file}", "--dry-run", "--", "python", "x.py")),
    "runtime-env": (RUNTIME_ENV, ("job", "submit", "--name", "j", "--runtime-env", "{file}", "--dry-run", "--",
                                  "python", "x.py")),
}
ALIAS_BOMB = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10) if p else ', '.join(['lol'] * 10)}]\n"
                     for p, c in zip([""] + list("abcdefgh"), "abcdefghi"))
RAW_TEXTS = st.one_of(
    st.sampled_from([ALIAS_BOMB, "[" * 5000 + "]" * 5000, "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 400)),
                     "{a: " * 900 + "1" + "}" * 900, "- " * 3000 + "x", "\t\x00\x01", "key: [unclosed", "---\n---\n",
                     "!!python/object:os.system ls", "&a [*a]", "a: !!binary AAAA", "? [a, b]\n: c", "",
                     "kind: RayJob\napiVersion: ray.io/v1\nmetadata: {name: " + "n" * 300 + "}",
                     "x: " + "y" * (5 * 1024 * 1024)]),
    st.text(max_size=200),
)


def _mutated(doc: Any, where: float, value: Any) -> str:
    paths = [p for p in json_paths(doc) if p]
    path = paths[min(int(where * len(paths)), len(paths) - 1)]
    return yaml.safe_dump(replace_at(doc, path, value), allow_unicode=True)


def run_file_case(forkrunner: Any, folder: Path, kind: str, data: bytes) -> Any:
    path = folder / f"{kind}.yaml"
    path.write_bytes(data)
    _, command = KINDS[kind]
    args = [str(path) if word == "{file}" else word for word in command]
    return forkrunner.run(args, cwd=str(folder), timeout=CASE_TIMEOUT,
                          env={"KUBECONFIG": str(folder / "none"), "KUBECTL_PATH": "/bin/false"})


@pytest.mark.timeout(1800)
@seed(RUN_SEED)
@settings(SUITE, max_examples=80)
@given(kind=st.sampled_from(sorted(KINDS)), where=st.floats(0, 1, exclude_max=True), value=VALUES)
def test_any_field_of_an_input_file_of_any_type(forkrunner, tmp_path_factory, tally, kind, where, value):
    with tally.case(f"hostile files: {kind}"):
        text = _mutated(KINDS[kind][0], where, value)
        result = run_file_case(forkrunner, tmp_path_factory.mktemp("f"), kind, text.encode())
        assert_handled(result, (kind, where, value))


@pytest.mark.timeout(1800)
@seed(RUN_SEED)
@settings(SUITE, max_examples=40)
@given(kind=st.sampled_from(sorted(KINDS)), text=RAW_TEXTS, junk=st.binary(max_size=8), at=st.floats(0, 1))
def test_input_files_that_are_not_yaml_or_are_far_too_big(forkrunner, tmp_path_factory, tally, kind, text, junk, at):
    with tally.case(f"hostile files: {kind}"):
        data = text.encode("utf-8", "surrogatepass")
        cut = int(at * len(data))
        result = run_file_case(forkrunner, tmp_path_factory.mktemp("f"), kind, data[:cut] + junk + data[cut:])
        assert_handled(result, (kind, text[:200], junk, at))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_endless_file_is_refused_at_once(forkrunner, tmp_path, tally, kind):
    """/dev/zero as the file: refused after reading past the cap (or as not a regular file)."""
    with tally.case("hostile files: /dev/zero"):
        _, command = KINDS[kind]
        args = ["/dev/zero" if word == "{file}" else word for word in command]
        result = forkrunner.run(args, cwd=str(tmp_path), timeout=CASE_TIMEOUT, env={"KUBECONFIG": str(tmp_path / "x")})
        assert_handled(result, kind)
        assert result.exit_code == 2 and result.stderr.startswith("error: "), result
        assert ("larger than 4 MiB" in result.stderr) or ("not a regular file" in result.stderr), result


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_alias_bomb_is_refused(forkrunner, tmp_path, tally, kind):
    with tally.case("hostile files: alias bomb"):
        text = ALIAS_BOMB if kind != "rayjob" else ALIAS_BOMB + "apiVersion: ray.io/v1\nkind: RayJob\n"
        result = run_file_case(forkrunner, tmp_path, kind, text.encode())
        assert_handled(result, kind)
        assert result.exit_code == 2 and "once its aliases are expanded" in result.stderr, result
