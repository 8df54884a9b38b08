"""The CLI root: help, version, usage errors, one-line failures, fast start, kubectl dispatch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_ray import __version__
from tests.conftest import REPO, run_cli

BIN = Path(sys.executable).parent


def test_help_shows_kubectl_ray_usage_and_commands():
    result = run_cli("--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: kubectl ray [OPTIONS] COMMAND [ARGS]...")
    assert "version" in result.stdout and "kubectl ray options" in result.stdout
    assert run_cli("-h").stdout == result.stdout
    assert run_cli().stdout == result.stdout  # bare `kubectl ray` shows help


def test_fast_root_help_is_exactly_what_click_renders():
    """`kubectl ray --help` skips importing click; its text must not drift from click's."""
    import click

    from kubectl_ray.cli import root_help
    from kubectl_ray.cli.root import cli

    settings = {k: v for k, v in cli.context_settings.items() if k != "max_content_width"}
    ctx = click.Context(cli, info_name="kubectl ray", terminal_width=80, **settings)
    assert root_help() == cli.get_help(ctx) + "\n"


def test_root_help_and_version_do_not_import_click():
    code = ("import sys; from kubectl_ray.cli import main; main(['--help']); main(['--version']); "
            "print('click' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_python_env(), cwd=REPO)
    assert out.stderr.strip() == "False"


def test_version_flag():
    result = run_cli("--version")
    assert (result.exit_code, result.stdout) == (0, f"kubectl ray, version {__version__}\n")


def test_unknown_command_and_flag_are_usage_errors_on_one_line():
    result = run_cli("frobnicate")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown command \"frobnicate\" for \"kubectl ray\" (see 'kubectl ray --help')\n"
    result = run_cli("version", "--bogus")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown flag: --bogus (see 'kubectl ray version --help')\n"


@pytest.mark.parametrize("args, expected", [
    (["gte", "cluster"], "error: unknown command \"gte\" for \"kubectl ray\". Did you mean this? get "
                         "(see 'kubectl ray --help')\n"),
    (["get", "clustr"], "error: unknown command \"clustr\" for \"kubectl ray get\". Did you mean this? cluster "
                        "(see 'kubectl ray get --help')\n"),
    (["version", "--clinet"], "error: unknown flag: --clinet. Did you mean this? --client "
                              "(see 'kubectl ray version --help')\n"),
    (["version", "--bogus"], "error: unknown flag: --bogus (see 'kubectl ray version --help')\n"),  # not --user
    (["version", "-x"], "error: unknown shorthand flag: 'x' in -x (see 'kubectl ray version --help')\n"),
])
def test_typos_get_cobras_suggestions_on_one_line(args: list[str], expected: str):
    """Issue 15: `gte` suggested nothing, `version --bogus` suggested --user."""
    result = run_cli(*args)
    assert (result.exit_code, result.stderr) == (2, expected)


def test_options_lists_every_connection_flag():
    out = run_cli("options").stdout
    for flag in ("--kubeconfig", "--context", "--cluster", "--user", "-n, --namespace", "-s, --server", "--token",
                 "--as", "--as-group", "--as-uid", "--certificate-authority", "--client-certificate", "--client-key",
                 "--insecure-skip-tls-verify", "--tls-server-name", "--request-timeout"):
        assert flag in out


def test_connection_flags_before_or_after_the_command(emulator):
    """kubectl ray -n a version  and  kubectl ray version -n b : the later one wins."""
    emu = emulator.emu
    emu.forbid("list", "deployments", None)  # forces the namespaced fallbacks, which show the namespace used
    emu.forbid("list", "deployments", "team-a")
    run_cli("-n", "team-a", "version", "--kubeconfig", emulator.kubeconfig)
    assert emu.requests_where(verb="list", resource="pods")[-1].namespace == "team-a"
    run_cli("-n", "team-a", "version", "-n", "team-b", "--kubeconfig", emulator.kubeconfig)
    assert emu.requests_where(verb="list", resource="deployments")[-1].namespace == "team-b"


def test_namespace_from_context_and_context_flag(emulator, tmp_path):
    from tests.emulator import kubeconfig, write_kubeconfig

    doc = kubeconfig(emulator.url, namespace="ctx-ns", contexts={"other": {"namespace": "other-ns"}})
    path = write_kubeconfig(tmp_path / "two", doc)
    emulator.emu.forbid("list", "deployments")
    run_cli("version", "--kubeconfig", path)
    assert emulator.emu.requests_where(verb="list", resource="pods")[-1].namespace == "ctx-ns"
    run_cli("version", "--kubeconfig", path, "--context", "other")
    assert emulator.emu.requests_where(verb="list", resource="pods")[-1].namespace == "other-ns"
    result = run_cli("version", "--kubeconfig", path, "--context", "missing")
    assert (result.exit_code, result.stderr) == (1, 'error: context "missing" does not exist\n')


def test_kubeconfig_env_var_is_honoured(emulator):
    result = run_cli("version", env={"KUBECONFIG": emulator.kubeconfig})
    assert result.exit_code == 0 and emulator.emu.request_count > 0


@pytest.mark.parametrize("fault, expected", [
    ({"status": 401}, "error: You must be logged in to the server (injected fault: HTTP 401)\n"),
    ({"status": 500, "times": None, "headers": {"Retry-After": "0"}}, "Error from server (InternalError): injected fault: HTTP 500\n"),
    ({"status": 429, "times": None, "headers": {"Retry-After": "0"}}, "Error from server (TooManyRequests): injected fault: HTTP 429\n"),
])
def test_api_failures_through_the_cli_are_one_line(emulator, fault, expected):
    emulator.emu.fault(verb="list", **fault)
    result = emulator.run("version")
    assert (result.exit_code, result.stderr) == (1, expected)
    assert "Traceback" not in result.stdout + result.stderr


def test_connection_refused_through_the_cli(tmp_path):
    import socket

    from tests.emulator import kubeconfig, write_kubeconfig

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(f"https://127.0.0.1:{port}"))
    result = run_cli("version", "--kubeconfig", path)
    assert result.exit_code == 1
    assert result.stderr == f"error: The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?\n"


def test_unexpected_exceptions_are_one_line_unless_debug(monkeypatch, emulator):
    def boom(*_a, **_k):
        raise RuntimeError("kaput\nsecond line")

    monkeypatch.setattr("kubectl_ray.kube.operator.find_operator", boom)
    result = emulator.run("version")
    assert (result.exit_code, result.stderr) == (1, "error: unexpected RuntimeError: kaput; second line (run with --debug for a traceback)\n")
    result = emulator.run("version", "--debug")
    assert "Traceback (most recent call last)" in result.stderr


def test_ctrl_c_exits_130(monkeypatch, emulator):
    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr("kubectl_ray.kube.operator.find_operator", interrupted)
    assert emulator.run("version").exit_code == 130


def _python_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["version", "--help"], ["options"], ["version", "--client"],
                                  ["create", "cluster", "--help"], ["create", "workergroup", "--help"],
                                  ["get", "cluster", "--help"], ["scale", "cluster", "--help"], ["delete", "--help"],
                                  ["job", "submit", "--help"], ["job", "--help"], ["session", "--help"],
                                  ["log", "--help"], ["debug", "--help"]])
def test_help_and_version_do_not_import_kubernetes(args):
    code = ("import sys; from kubectl_ray.cli import main; rc = main(%r); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'yaml', 'urllib3', 'ssl')); "
            "print('IMPORTED', bad, file=sys.stderr); sys.exit(rc)") % (args,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_python_env(), cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("IMPORTED []"), out.stderr


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "kubectl_ray", "--version"], capture_output=True, text=True)
    assert out.stdout == f"kubectl ray, version {__version__}\n"


@pytest.mark.kubectl
def test_real_kubectl_dispatches_to_our_executable(emulator, tmp_path):
    kubectl = shutil.which("kubectl")
    if not kubectl or not (BIN / "kubectl-ray").exists():
        pytest.skip("needs kubectl on PATH and kubectl-ray installed in this environment")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run([kubectl, "ray", "version", "--kubeconfig", emulator.kubeconfig, "-o", "json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["clientVersion"]["plugin"] == __version__
    listed = subprocess.run([kubectl, "plugin", "list"], capture_output=True, text=True, env=env, timeout=60)
    assert str(BIN / "kubectl-ray") in listed.stdout
    rejected = subprocess.run([kubectl, "--kubeconfig", emulator.kubeconfig, "ray", "version"], capture_output=True,
                              text=True, env=env, timeout=60)
    assert rejected.returncode != 0 and "flags cannot be placed before plugin name" in rejected.stderr
