"""The click-free fast paths (cli/fast.py, root completion) print what the click path prints, errors and exit codes included.

Every command line runs twice against the same emulator: through the entry point (which tries the fast
path first) and through the click root directly. Lines the fast path must take are checked to be
taken; the others (help, errors, other commands) must fall back to click.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.conftest import CliResult, EmulatorHandle
from tests.test_get import default_namespace, ml_team_namespace

TAKEN = [
    ["get", "cluster"],
    ["get", "clusters", "-A"],
    ["list", "cluster", "-A"],
    ["get", "rayclusters.ray.io", "-n", "ml-team"],
    ["get", "RayCluster", "-A", "-o", "wide"],
    ["get", "raycluster/raycluster-kuberay"],
    ["get", "raycluster/raycluster-kuberay", "-o", "yaml"],
    ["get", "cluster", "raycluster-kuberay", "ray-cluster-with-auth", "-o", "json"],
    ["get", "cluster", "-A", "-o", "json"],
    ["get", "cluster", "-A", "-o", "YAML"],
    ["get", "cluster", "-Ao", "name"],
    ["get", "cluster", "-A", "--no-headers"],
    ["get", "cluster", "-A", "-L", "team", "-Lenv,app", "--show-labels"],
    ["get", "cluster", "-A", "--sort-by", ".metadata.name", "-o", "name"],
    ["get", "cluster", "-A", "--sort-by={.status.desiredMemory}"],
    ["get", "cluster", "-A", "-l", "team=ml"],
    ["get", "cluster", "-A", "--selector=team!=ml"],
    ["get", "cluster", "nope"],
    ["get", "cluster", "raycluster-kuberay", "nope", "other"],
    ["get", "cluster", "nope", "-A"],
    ["get", "cluster", "-n=ml-team"],
    ["get", "cluster", "-nml-team"],
    ["get", "cluster", "--namespace", "ml-team", "--all-namespaces=false"],
    ["get", "cluster", "-A=true", "--no-headers=1"],
    ["get", "cluster", "--", "raycluster-kuberay"],
    ["get", "cluster", "-", "-A"],
    ["get", "cluster", "-o", "bogus"],
    ["get", "cluster", "-o", "jsonpath={.items[*].metadata.name}"],
    ["get", "cluster", "-o", "jsonpath={.items[", "-A"],
    ["get", "cluster", "-A", "-o", "custom-columns=N:.metadata.name,V:.spec.rayVersion"],
    ["get", "cluster", "-l", ""],
    ["get", "cluster", "a", "-l", "x=y"],
    ["get", "cluster", "-w", "a", "b"],
    ["get", "cluster", "--show-labels", "-o", "json"],
    ["get", "cluster", "--debug", "-A"],
    ["get", "cluster", "-A", "--request-timeout", "30s"],
    ["get", "cluster", "--request-timeout", "bogus"],
    ["get", "cluster", "--context", "nope"],
    ["get", "cluster", "--as", "someone", "--as-group", "a", "--as-group=b", "-A"],
    ["get", "job", "-A"],
    ["get", "jobs", "-A", "-o", "wide"],
    ["get", "rayjob", "rayjob-sample", "-o", "name"],
    ["get", "service", "-A"],
    ["get", "rayservice/rayservice-sample", "-o", "wide"],
    ["get", "rayservices.ray.io", "-n", "nowhere"],
    ["version", "--client"],
    ["version", "--client", "-o", "json"],
    ["version", "--client", "-o", "YAML"],
    ["version", "--client=true", "--debug"],
]

FALLS_BACK = [
    ["get", "cluster", "--bogus"],
    ["get", "cluster", "--all-namspaces"],
    ["get", "cluster", "-x"],
    ["get", "cluster", "-A=maybe"],
    ["get", "cluster", "---x"],
    ["get", "cluster", "--=x"],
    ["get", "cluster", "-h"],
    ["get", "cluster", "--help"],
    ["get", "clusterz"],
    ["get", "raycluster/"],
    ["get", "/x"],
    ["get", "cluster/a/b"],
    ["get", "-A", "cluster"],
    ["get"],
    ["get", "workergroup", "-A"],
    ["get", "node", "-A", "--no-headers"],
    ["version"],
    ["version", "--client", "-o", "xml"],
    ["version", "--client", "extra"],
    ["version", "--client=false"],
    ["version", "--client", "-o"],
]


@pytest.fixture
def world(emulator: EmulatorHandle, frozen_now) -> EmulatorHandle:
    emulator.emu.add_all(default_namespace() + ml_team_namespace())
    return emulator


def click_path(*args: str) -> CliResult:
    """The same command line through the click root only (what main() did before the fast path)."""
    from kubectl_ray.cli import registry
    from kubectl_ray.cli.root import run

    debug = registry.DEBUG
    with CliRunner().isolation() as (out, err, _mixed):
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    registry.set_debug(debug)
    return CliResult(int(code), stdout, stderr)


def takes(args: list[str]) -> bool:
    """True when the fast path reads this line itself (nothing runs)."""
    from kubectl_ray.cli import fast

    try:
        return fast._command(args) is not None
    except fast._Unsure:
        return False


@pytest.mark.parametrize("args", TAKEN, ids=" ".join)
def test_fast_path_prints_what_click_prints(world, args):
    line = [*args, "--kubeconfig", world.kubeconfig]
    assert takes(line)
    fast, slow = world.run(*args), click_path(*line)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.parametrize("args", FALLS_BACK, ids=" ".join)
def test_other_lines_fall_back_to_click(world, args):
    line = [*args, "--kubeconfig", world.kubeconfig]
    assert not takes(line)
    fast, slow = world.run(*args), click_path(*line)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_hot_commands_import_no_click(world):
    """A fresh process: `get cluster -A` and `version --client` run without importing click."""
    script = ("import sys; from kubectl_ray.cli import main; code = main(sys.argv[1:]); "
              "sys.stderr.write('click-imported=%s' % ('click' in sys.modules)); sys.exit(code)")
    for args in (["get", "cluster", "-A", "--kubeconfig", world.kubeconfig], ["version", "--client"],
                 ["get", "job", "-o", "yaml", "--kubeconfig", world.kubeconfig]):
        result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and result.stderr.endswith("click-imported=False"), result.stderr


@pytest.mark.parametrize("prefix", ["", "g", "l", "lo", "logs", "de", "v", "zz", "get/", "a b"])
def test_root_completion_without_click_is_the_click_walk(prefix, capsys):
    """`kubectl ray <TAB>` is answered from the registry; the same text as walking the click tree."""
    from kubectl_ray import completion

    assert completion.main([prefix]) == 0
    assert capsys.readouterr().out == completion.complete([], prefix).render()


def test_root_completion_imports_no_click():
    script = "import sys; from kubectl_ray.completion import main; main(['']); print('click' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "False", result.stderr
    assert result.stdout.startswith("create\t")
