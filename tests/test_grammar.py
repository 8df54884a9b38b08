"""pflag's grammar for every command (issue 15): equivalent spellings give the same result, for our
flags and for kubectl's shared ones, and the real kubectl agrees on the shared ones."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import click
import pytest

from kubectl_ray.cli.grammar import INT32, OptionalValueOption, PflagCommand, parse_go_int
from tests.conftest import EmulatorHandle, run_cli
from tests.test_get import default_namespace, ml_team_namespace

KUBECTL = shutil.which("kubectl")


@click.command("demo", cls=PflagCommand)
@click.argument("names", nargs=-1)
@click.option("-n", "--namespace")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-y", "--yes", is_flag=True)
@click.option("-r", "--replicas", type=INT32, default=-1)
@click.option("--as-group", "as_groups", multiple=True)
@click.option("--dry-run", cls=OptionalValueOption, no_opt_default="unchanged", default="none")
def demo(**params: Any) -> None:
    click.echo(repr(sorted(params.items())))


def parsed(*args: str) -> dict[str, Any]:
    ctx = demo.make_context("demo", list(args))
    return dict(ctx.params)


EQUIVALENT = [
    [["-n=ml"], ["-nml"], ["-n", "ml"], ["--namespace=ml"], ["--namespace", "ml"], ["-n", "x", "-n", "ml"],
     ["--namespace=x", "-nml"]],
    [["-r=2"], ["-r2"], ["-r", "2"], ["--replicas=2"], ["--replicas", "2"], ["-r", "0x2"], ["--replicas=02"]],
    [["-A"], ["-A=true"], ["--all-namespaces=1"], ["-A=t"], ["--all-namespaces=True"], ["-A=false", "-A"]],
    [[], ["-A=false"], ["--all-namespaces=0"], ["-A", "--all-namespaces=false"], ["-A=F"]],
    [["-Ay"], ["-yA"], ["-A", "-y"], ["-y=true", "--all-namespaces"]],
    [["--dry-run"], ["--dry-run=unchanged"]],
    [["--as-group", "a", "--as-group=b"], ["--as-group=a", "--as-group", "b"]],
    [["-Anml"], ["-A", "-n", "ml"], ["-A", "-n=ml"]],
]


@pytest.mark.parametrize("spellings", EQUIVALENT, ids=[" | ".join(" ".join(s) for s in e) for e in EQUIVALENT])
def test_equivalent_spellings_parse_the_same(spellings: list[list[str]]):
    results = [parsed(*spelling) for spelling in spellings]
    assert all(result == results[0] for result in results), results


def test_a_bare_optional_value_never_takes_the_next_word():
    assert parsed("--dry-run", "server") == dict(parsed("--dry-run"), names=("server",))


def test_everything_after_double_dash_is_an_argument():
    assert parsed("--", "-n=x", "--yes")["names"] == ("-n=x", "--yes")
    assert parsed("-n", "--")["namespace"] == "--"  # pflag takes the next word as a value, whatever it is


def test_false_bools_count_as_given():
    ctx = demo.make_context("demo", ["--yes=false"])
    assert ctx.params["yes"] is False
    assert ctx.get_parameter_source("yes") is click.core.ParameterSource.COMMANDLINE


@pytest.mark.parametrize("args, message", [
    (["--bogus"], "unknown flag: --bogus"),
    (["--namespac=x"], "unknown flag: --namespac. Did you mean this? --namespace"),
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["-Ax"], "unknown shorthand flag: 'x' in -x"),
    (["-n"], "flag needs an argument: 'n' in -n"),
    (["--namespace"], "flag needs an argument: --namespace"),
    (["---x"], "bad flag syntax: ---x"),
    (["--=x"], "bad flag syntax: --=x"),
    (["-A=maybe"], 'invalid argument "maybe" for "-A, --all-namespaces" flag: strconv.ParseBool: parsing "maybe": '
                   "invalid syntax"),
])
def test_errors_in_pflags_words(args: list[str], message: str):
    with pytest.raises(click.UsageError) as exc:
        parsed(*args)
    assert exc.value.format_message() == message


@pytest.mark.parametrize("text, value", [("0", 0), ("010", 8), ("0x10", 16), ("0b11", 3), ("1_000", 1000),
                                         ("-7", -7), ("2147483647", 2147483647)])
def test_ints_parse_as_go_does(text: str, value: int):
    assert parse_go_int(text, 32) == value


@pytest.mark.parametrize("text, reason", [("", "invalid syntax"), ("08", "invalid syntax"), ("1e3", "invalid syntax"),
                                          ("_1", "invalid syntax"), ("2147483648", "value out of range")])
def test_bad_ints_say_what_go_says(text: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        parse_go_int(text, 32)


# --- through the real commands ------------------------------------------------------------------------

@pytest.fixture
def world(emulator: EmulatorHandle, frozen_now) -> EmulatorHandle:
    emulator.emu.add_all(default_namespace() + ml_team_namespace())
    return emulator


COMMAND_SPELLINGS = {
    "namespace": [["-n=ml-team"], ["-nml-team"], ["-n", "ml-team"], ["--namespace=ml-team"],
                  ["--namespace", "ml-team"], ["-n", "default", "-n", "ml-team"]],
    "output": [["-o=name"], ["-oname"], ["-o", "name"], ["--output=name"], ["--output", "name"]],
    "all-namespaces": [["-A"], ["-A=true"], ["--all-namespaces=1"], ["-A", "-o", "wide", "-o", "name"]],
    "selector": [["-l=team=search"], ["-lteam=search"], ["-l", "team=search"], ["--selector=team=search"], ["-A=false", "-l", "team=search"]],
}


@pytest.mark.parametrize("flag", COMMAND_SPELLINGS)
def test_get_gives_the_same_answer_for_every_spelling(world, flag):
    base = {"namespace": ["-o", "name"], "output": [], "all-namespaces": ["-o", "name"], "selector": ["-o", "name"]}[flag]
    outputs = {tuple(s): world.run("get", "clusters", *s, *base) for s in COMMAND_SPELLINGS[flag]}
    first = next(iter(outputs.values()))
    assert first.exit_code == 0 and first.stdout and first.stderr == ""
    assert {key: (r.exit_code, r.stdout) for key, r in outputs.items()} == {
        key: (0, first.stdout) for key in outputs}


def test_issue_15_spellings(world):
    """`get cluster -n=default` listed namespace `=default`; `-o=name` and `-r=2` failed."""
    assert world.run("get", "cluster", "-n=ml-team", "-o=name").stdout.count("raycluster.ray.io/") == 3
    scaled = world.run("scale", "cluster", "raycluster-kuberay", "-w=workergroup", "-r=2", "--dry-run=client")
    assert scaled.exit_code == 0, scaled
    assert "replicas: 2" in scaled.stdout


# --- against the real kubectl, for the flags kubectl has too ----------------------------------------------

SHARED = [
    ["-n=ml-team"], ["-nml-team"], ["--namespace", "ml-team"], ["-n", "x", "--namespace=ml-team"], ["-A"],
    ["-A=true"], ["--all-namespaces=false"], ["-A=0"], ["-l=team=search", "-A"], ["--selector", "team=search", "-A"],
    ["--insecure-skip-tls-verify=false"], ["--request-timeout=30s"], ["--request-timeout", "30"], ["-o=name"],
    ["--", "raycluster-kuberay"],
]
SHARED_ERRORS = [["-n"], ["--bogus"], ["-A=maybe"], ["---x"], ["-q"], ["--namespace"]]


def kubectl_get(world: EmulatorHandle, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KUBECACHEDIR=str(tmp_path / "cache"))
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, "get", "rayclusters", "--kubeconfig", world.kubeconfig, *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
@pytest.mark.parametrize("spelling", SHARED, ids=" ".join)
def test_shared_flags_mean_what_they_mean_to_kubectl(world, tmp_path, spelling):
    output = [] if "-o=name" in spelling else ["-o", "name"]
    expected = kubectl_get(world, tmp_path, *output, *spelling)
    ours = run_cli("get", "clusters", "--kubeconfig", world.kubeconfig, *output, *spelling)
    assert expected.returncode == 0, expected.stderr
    assert (ours.exit_code, ours.stdout) == (0, expected.stdout)


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
@pytest.mark.parametrize("spelling", SHARED_ERRORS, ids=" ".join)
def test_shared_flag_errors_are_kubectls_words(world, tmp_path, spelling):
    expected = kubectl_get(world, tmp_path, *spelling)
    ours = run_cli("get", "clusters", "--kubeconfig", world.kubeconfig, *spelling)
    assert expected.returncode != 0 and ours.exit_code == 2
    first = expected.stderr.splitlines()[0]  # cobra's "Error: " for flag errors; ours is always "error: "
    assert ours.stderr == "error: " + first.removeprefix("Error: ") + " (see 'kubectl ray get cluster --help')\n"
