"""`kubectl_complete-ray`: kubectl's plugin completion protocol over the click command tree.

Generic tests walk whatever commands exist (others are still landing), the completers are tested
on a small tree of their own, and the real kubectl drives the installed completer at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import click
import pytest

from kubectl_ray import completion, names
from kubectl_ray.cli import COMMANDS, _module_exists
from kubectl_ray.cli.common import kube_command
from kubectl_ray.env import CONNECTION_PARAM_NAMES
from tests.conftest import ray_cluster
from tests.emulator import kubeconfig, write_kubeconfig

CONNECTION_FLAGS = ("--kubeconfig", "--context", "--cluster", "--user", "-n", "--namespace", "--token",
                    "--request-timeout", "--as", "--server")


@pytest.fixture(autouse=True)
def fresh_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own completion budget, as each TAB is its own process."""
    monkeypatch.setattr(names, "_deadline", None)
    monkeypatch.setattr(names, "_abandoned", False)


def values(result: completion.Completion) -> list[str]:
    return [value for value, _ in result.candidates]


def available_commands() -> list[str]:
    return [name for name, spec in COMMANDS.items() if _module_exists(spec[0])]


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree with the words that reach it."""
    ctx = click.Context(command)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield (*path, name), sub
                yield from walk(sub, (*path, name))


def all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    from kubectl_ray.cli.root import cli

    return list(walk(cli))


# --- commands, options and choices, over whatever commands exist ------------------------------------

def test_root_lists_every_available_command_with_its_help():
    result = completion.complete([], "")
    expected = [(name, COMMANDS[name][2]) for name in available_commands()]
    assert result.candidates == expected
    assert result.directive == completion.NO_FILE_COMP
    assert result.render().endswith("\n:4\n")
    assert "version\tShow the plugin and KubeRay operator versions\n" in result.render()


def test_root_filters_by_the_word_being_completed():
    assert values(completion.complete([], "ve")) == ["version"]
    assert values(completion.complete([], "zz")) == []


@pytest.mark.parametrize("alias, canonical", [(a, name) for name, spec in COMMANDS.items() for a in spec[3]])
def test_an_alias_completes_when_its_command_name_does_not_match(alias: str, canonical: str):
    if not _module_exists(COMMANDS[canonical][0]):
        pytest.skip(f"`{canonical}` has not landed yet")
    prefix = alias[:2] if not canonical.startswith(alias[:2]) else alias
    result = completion.complete([], prefix)
    assert alias in values(result) or canonical in values(result)
    if not canonical.startswith(prefix):
        assert result.candidates == [(alias, f"{COMMANDS[canonical][2]} (alias of {canonical})")]


def test_every_group_completes_its_visible_subcommands():
    groups = [(path, cmd) for path, cmd in all_commands() if isinstance(cmd, click.Group)]
    for path, group in groups:
        ctx = click.Context(group)
        visible = [n for n in group.list_commands(ctx) if not group.get_command(ctx, n).hidden]
        assert values(completion.complete(list(path), "")) == visible, path


def test_every_command_completes_its_options_and_the_hidden_connection_flags():
    leaves = [(path, cmd) for path, cmd in all_commands() if not isinstance(cmd, click.Group)]
    assert leaves, "no command found"
    for path, cmd in leaves:
        got = values(completion.complete(list(path), "-"))
        for param in cmd.params:
            if isinstance(param, click.Option) and (not param.hidden or param.name in CONNECTION_PARAM_NAMES):
                assert set(param.opts) <= set(got), (path, param.opts)
        if any(p.name == "kubeconfig" for p in cmd.params):
            assert set(CONNECTION_FLAGS) <= set(got), path
        assert "--debug" not in got  # hidden and not a connection flag


def test_long_option_prefix_and_options_already_given():
    got = values(completion.complete(["version", "--client"], "--c"))
    assert got == ["--context", "--cluster", "--certificate-authority", "--client-certificate", "--client-key"]


def test_every_choice_option_completes_its_choices_in_both_spellings():
    checked = 0
    for path, cmd in all_commands():
        for param in cmd.params:
            if isinstance(param, click.Option) and isinstance(param.type, click.Choice) and not param.hidden:
                choices = [str(c) for c in param.type.choices]
                flag = param.opts[-1]
                assert values(completion.complete([*path, flag], "")) == choices, (path, flag)
                if flag.startswith("--"):
                    first = choices[0]
                    got = completion.complete(list(path), f"{flag}={first[:1]}")
                    assert first in values(got) and all(v.lower().startswith(first[:1].lower()) for v in values(got))
                checked += 1
    assert checked, "no click.Choice option in the tree"


def test_output_format_prefix():
    result = completion.complete(["version", "-o"], "y")
    assert result.candidates == [("yaml", "")]
    assert result.directive == completion.NO_FILE_COMP


def test_path_like_options_hand_over_to_file_completion():
    assert completion.complete(["version", "--kubeconfig"], "") == completion.Completion([], completion.DEFAULT)
    assert completion.complete(["version", "--client-key"], "/tm").directive == completion.DEFAULT


def test_a_free_text_option_offers_nothing_and_no_files():
    assert completion.complete(["version", "--token"], "") == completion.Completion([], completion.NO_FILE_COMP)


def test_unknown_command_offers_nothing():
    assert completion.complete(["no-such-command"], "") == completion.Completion([], completion.NO_FILE_COMP)


# --- kubeconfig and live names -----------------------------------------------------------------------

@pytest.fixture
def multi_context_kubeconfig(emulator, tmp_path: Path) -> str:
    doc = kubeconfig(emulator.url, contexts={"prod": {"namespace": "team"}, "dev": {}})
    return write_kubeconfig(tmp_path / "multi", doc)


def test_context_cluster_and_user_complete_from_the_kubeconfig(multi_context_kubeconfig: str):
    words = ["version", "--kubeconfig", multi_context_kubeconfig]
    result = completion.complete([*words, "--context"], "")
    assert result.candidates == [("dev", "cluster emulator"), ("emulator", "cluster emulator, namespace default"),
                                 ("prod", "cluster emulator, namespace team")]
    assert values(completion.complete([*words, "--context"], "p")) == ["prod"]
    assert values(completion.complete([*words, "--cluster"], "")) == ["emulator"]
    assert values(completion.complete([*words, "--user"], "")) == ["emulator"]


def test_context_names_follow_the_kubeconfig_env_var(emulator, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KUBECONFIG", emulator.kubeconfig)
    assert values(completion.complete(["version", "--context"], "")) == ["emulator"]


def test_namespace_completes_from_the_cluster(emulator):
    emulator.emu.add(ray_cluster("x", "team-a"))
    result = completion.complete(["version", "--kubeconfig", emulator.kubeconfig, "-n"], "te")
    assert values(result) == ["team-a"]
    assert emulator.emu.requests_where(verb="list", resource="namespaces")


def test_namespace_after_an_equals_sign(emulator):
    emulator.emu.add(ray_cluster("x", "team-a"))
    result = completion.complete(["version", "--kubeconfig", emulator.kubeconfig], "--namespace=te")
    assert values(result) == ["team-a"]


# A tree of our own for the completers, so these tests do not depend on how other commands evolve.

@click.group()
def demo_cli() -> None:
    """A root like ours."""


@demo_cli.command("target")
@click.argument("targets", nargs=-1, shell_complete=names.ray_targets())
@kube_command
def demo_target(env: Any, targets: tuple[str, ...]) -> None:
    """Takes NAME or TYPE/NAME."""


@demo_cli.command("cluster")
@click.argument("name", required=False, shell_complete=names.ray_clusters())
@click.option("-A", "--all-namespaces", is_flag=True)
@kube_command
def demo_cluster(env: Any, name: str | None, all_namespaces: bool) -> None:
    """Takes a RayCluster."""


@demo_cli.command("scale")
@click.argument("cluster_name", required=False, shell_complete=names.ray_clusters())
@click.option("-w", "--worker-group")  # completes by its name (OPTION_DEFAULTS)
@kube_command
def demo_scale(env: Any, cluster_name: str | None, worker_group: str | None) -> None:
    """Takes a cluster and one of its worker groups."""


@demo_cli.command("node")
@click.argument("node", required=False, shell_complete=names.ray_nodes())
@click.option("-c", "--ray-cluster")
@kube_command
def demo_node(env: Any, node: str | None, ray_cluster: str | None) -> None:
    """Takes a Ray pod."""


@demo_cli.command("job")
@click.argument("job", required=False, shell_complete=names.ray_jobs())
@click.option("--service", shell_complete=names.ray_services())
@click.option("--link", shell_complete=names.choices("gke"))
@kube_command
def demo_job(env: Any, job: str | None, service: str | None, link: str | None) -> None:
    """Takes a RayJob."""


@demo_cli.command("run")
@click.argument("entrypoint", nargs=-1, type=click.UNPROCESSED)
def demo_run(entrypoint: tuple[str, ...]) -> None:
    """Takes a command line after --."""


def ray_object(kind: str, name: str, namespace: str = "default", status: dict | None = None) -> dict:
    return {"apiVersion": "ray.io/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": {}, "status": status or {}}


def ray_pod(name: str, cluster: str, role: str, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"ray.io/is-ray-node": "yes", "ray.io/cluster": cluster, "ray.io/node-type": role}},
            "spec": {"containers": [{"name": "ray", "image": "rayproject/ray"}]}, "status": {"phase": "Running"}}


@pytest.fixture
def ray_objects(emulator):
    emu = emulator.emu
    emu.add(ray_cluster("demo"))
    emu.add(ray_cluster("demo2"))
    emu.add(ray_cluster("elsewhere", "other"))
    big = ray_cluster("big")
    big["spec"]["workerGroupSpecs"].append({**big["spec"]["workerGroupSpecs"][0], "groupName": "gpu", "replicas": 2})
    emu.add(big)
    emu.update_status("rayclusters", "default", "demo", {"state": "ready"})
    emu.add(ray_object("RayJob", "train", status={"jobStatus": "RUNNING"}))
    emu.add(ray_object("RayService", "serve"))
    emu.add(ray_pod("demo-head-abc", "demo", "head"))
    emu.add(ray_pod("demo-worker-1", "demo", "worker"))
    emu.add(ray_pod("big-head-xyz", "big", "head"))
    emu.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unrelated", "namespace": "default"},
             "spec": {"containers": [{"name": "c", "image": "x"}]}})
    return emulator


def demo(ray_objects, *words: str, incomplete: str = "") -> completion.Completion:
    return completion.complete([words[0], "--kubeconfig", ray_objects.kubeconfig, *words[1:]], incomplete, cli=demo_cli)


def test_target_offers_cluster_names_and_type_prefixes(ray_objects):
    result = demo(ray_objects, "target")
    assert result.candidates == [("big", "RayCluster"), ("demo", "RayCluster, ready"), ("demo2", "RayCluster"),
                                 ("raycluster/", "a RayCluster by name"), ("rayjob/", "a RayJob (its RayCluster)"),
                                 ("rayservice/", "a RayService (its active RayCluster)")]
    assert result.directive == completion.NO_FILE_COMP


def test_only_prefixes_left_means_no_space(ray_objects):
    result = demo(ray_objects, "target", incomplete="ray")
    assert values(result) == ["raycluster/", "rayjob/", "rayservice/"]
    assert result.directive == completion.NO_FILE_COMP | completion.NO_SPACE
    assert result.render().endswith(":6\n")


def test_names_after_type_keep_the_typed_spelling(ray_objects):
    assert demo(ray_objects, "target", incomplete="rayjob/").candidates == [("rayjob/train", "RayJob, RUNNING")]
    assert values(demo(ray_objects, "target", incomplete="RayJobs/t")) == ["RayJobs/train"]
    assert values(demo(ray_objects, "target", incomplete="rayservice/")) == ["rayservice/serve"]
    assert values(demo(ray_objects, "target", incomplete="raycluster/de")) == ["raycluster/demo", "raycluster/demo2"]
    assert values(demo(ray_objects, "target", incomplete="pods/")) == []


def test_names_already_on_the_line_are_not_offered_again(ray_objects):
    assert values(demo(ray_objects, "target", "demo", "raycluster/big", incomplete="d")) == ["demo2"]
    assert values(demo(ray_objects, "target", "raycluster/demo", incomplete="raycluster/")) == [
        "raycluster/big", "raycluster/demo2"]


def test_cluster_names_follow_the_namespace_on_the_line(ray_objects):
    assert values(demo(ray_objects, "cluster", "-n", "other")) == ["elsewhere"]
    assert values(demo(ray_objects, "cluster", "--namespace=other")) == ["elsewhere"]
    assert values(demo(ray_objects, "cluster", "-A")) == ["big", "demo", "demo2", "elsewhere"]
    listed = ray_objects.emu.requests_where(verb="list", resource="rayclusters")
    assert [r.namespace for r in listed] == ["other", "other", None]


def test_cluster_names_follow_the_context_namespace(ray_objects, tmp_path: Path):
    path = write_kubeconfig(tmp_path / "ctx", kubeconfig(ray_objects.url, contexts={"prod": {"namespace": "other"}}))
    result = completion.complete(["cluster", "--kubeconfig", path, "--context", "prod"], "", cli=demo_cli)
    assert values(result) == ["elsewhere"]


def test_worker_groups_of_the_cluster_on_the_line(ray_objects):
    assert demo(ray_objects, "scale", "big", "-w").candidates == [
        ("default-group", "1 replicas, RayCluster big"), ("gpu", "2 replicas, RayCluster big")]
    assert values(demo(ray_objects, "scale", "raycluster/demo", "-w")) == ["default-group"]


def test_worker_groups_of_every_cluster_without_one(ray_objects):
    assert values(demo(ray_objects, "scale", "-w")) == ["default-group", "gpu"]
    assert values(demo(ray_objects, "scale", "-w", incomplete="g")) == ["gpu"]


def test_ray_nodes_are_ray_pods_optionally_of_one_cluster(ray_objects):
    result = demo(ray_objects, "node")
    assert result.candidates == [("big-head-xyz", "head of big, Running"), ("demo-head-abc", "head of demo, Running"),
                                 ("demo-worker-1", "worker of demo, Running")]
    assert values(demo(ray_objects, "node", "-c", "demo", incomplete="demo-w")) == ["demo-worker-1"]
    selectors = [r.q("labelSelector") for r in ray_objects.emu.requests_where(verb="list", resource="pods")]
    assert selectors == ["ray.io/is-ray-node=yes", "ray.io/is-ray-node=yes,ray.io/cluster=demo"]


def test_jobs_services_and_fixed_values(ray_objects):
    assert values(demo(ray_objects, "job")) == ["train"]
    assert values(demo(ray_objects, "job", "--service")) == ["serve"]
    assert demo(ray_objects, "job", "--link").candidates == [("gke", "")]


@pytest.mark.parametrize("path, rest, incomplete, expected", [
    (["get", "cluster"], [], "de", ["demo", "demo2"]),
    (["get", "clusters"], [], "b", ["big"]),
    (["get", "workergroup"], ["-c", "big"], "", ["default-group", "gpu"]),
    (["get", "node"], ["-c", "demo"], "", ["demo-head-abc", "demo-worker-1"]),
    (["get", "job"], [], "", ["train"]),
    (["get", "service"], [], "", ["serve"]),
    (["get", "token"], [], "b", ["big"]),
    (["scale", "cluster"], [], "d", ["demo", "demo2"]),
    (["scale", "cluster"], ["big", "-w"], "", ["default-group", "gpu"]),
    (["delete"], ["demo"], "rayjob/", ["rayjob/train"]),
    (["session"], [], "rayservice/", ["rayservice/serve"]),
    (["log"], [], "demo", ["demo", "demo2"]),
    (["log"], ["big", "--worker-group"], "g", ["gpu"]),
    (["job", "logs"], [], "", ["train"]),
    (["job", "stop"], [], "t", ["train"]),
    (["debug"], [], "raycluster/b", ["raycluster/big"]),
    (["create", "workergroup"], ["extra", "-c"], "d", ["demo", "demo2"]),
])
def test_commands_complete_the_names_they_take(ray_objects, path: list[str], rest: list[str], incomplete: str,
                                               expected: list[str]):
    if not _module_exists(COMMANDS[path[0]][0]):
        pytest.skip(f"`{path[0]}` has not landed yet")
    result = completion.complete([*path, "--kubeconfig", ray_objects.kubeconfig, *rest], incomplete)
    assert values(result) == expected


def test_dry_run_values_complete_only_after_an_equals_sign():
    """A bare --dry-run means --dry-run=client (kubectl's rule), so the next word is not its value."""
    if not _module_exists(COMMANDS["create"][0]):
        pytest.skip("`create` has not landed yet")
    assert values(completion.complete(["create", "cluster", "x"], "--dry-run=")) == ["none", "client", "server"]
    assert values(completion.complete(["create", "cluster", "x"], "--dry-run=s")) == ["server"]
    assert completion.complete(["create", "cluster", "x", "--dry-run"], "") == completion.Completion([], completion.NO_FILE_COMP)


def test_file_and_directory_options_hand_over_to_the_shell():
    if _module_exists(COMMANDS["create"][0]):
        assert completion.complete(["create", "cluster", "-f"], "").directive == completion.DEFAULT
    if _module_exists(COMMANDS["log"][0]):
        assert completion.complete(["log", "demo", "--out-dir"], "").directive == completion.FILTER_DIRS


def test_a_command_line_after_double_dash_completes_files():
    assert completion.complete(["run", "--"], "", cli=demo_cli).directive == completion.DEFAULT
    assert completion.complete(["run", "--", "python"], "-", cli=demo_cli).directive == completion.DEFAULT


def test_forbidden_or_missing_crds_offer_nothing(ray_objects):
    ray_objects.emu.forbid("list", "rayclusters")
    assert demo(ray_objects, "cluster") == completion.Completion([], completion.NO_FILE_COMP)
    ray_objects.emu.registry.remove_group("ray.io")
    assert values(demo(ray_objects, "target")) == ["raycluster/", "rayjob/", "rayservice/"]


def test_a_broken_kubeconfig_offers_nothing(tmp_path: Path):
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    assert completion.complete(["cluster", "--kubeconfig", str(broken)], "", cli=demo_cli).candidates == []
    assert completion.complete(["cluster", "--kubeconfig", str(broken), "--context"], "", cli=demo_cli).candidates == []


# --- time budget ---------------------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def kubeconfig_for(tmp_path: Path, server: str) -> str:
    return write_kubeconfig(tmp_path / "kc", kubeconfig(server))


@pytest.mark.timeout(60)
def test_refused_connection_offers_nothing_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The issue: an unreachable cluster must answer at once, not when the budget runs out. With a
    budget of 120 s, the lookup still ends by itself (refused), instead of being abandoned."""
    monkeypatch.setenv("KUBECTL_RAY_COMPLETION_TIMEOUT", "120")
    path = kubeconfig_for(tmp_path, f"http://127.0.0.1:{closed_port()}")
    result = completion.complete(["cluster", "--kubeconfig", path], "", cli=demo_cli)
    assert result == completion.Completion([], completion.NO_FILE_COMP)
    assert not names.abandoned()


def test_a_silent_server_is_abandoned_when_the_budget_runs_out(tmp_path: Path, blackhole: int,
                                                               monkeypatch: pytest.MonkeyPatch):
    """Without the budget it would wait for ever: the lookup is left behind (never answered)."""
    monkeypatch.setenv("KUBECTL_RAY_COMPLETION_TIMEOUT", "0.3")
    path = kubeconfig_for(tmp_path, f"http://127.0.0.1:{blackhole}")
    result = completion.complete(["cluster", "--kubeconfig", path], "", cli=demo_cli)
    assert result.candidates == []
    assert names.abandoned()


def test_a_stuck_credential_plugin_is_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An exec credential plugin that hangs (a login prompt, a dead IdP) must not hold the TAB."""
    monkeypatch.setenv("KUBECTL_RAY_COMPLETION_TIMEOUT", "0.3")
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sleep", "args": ["3"],
                     "interactiveMode": "Never"}}
    # exec plugins run only for https servers (as in kubectl), before connecting
    path = write_kubeconfig(tmp_path / "kc", kubeconfig(f"https://127.0.0.1:{closed_port()}", user=user))
    result = completion.complete(["cluster", "--kubeconfig", path], "", cli=demo_cli)
    assert result.candidates == []
    assert names.abandoned()  # main() then exits at once instead of waiting for the thread


@pytest.mark.timeout(30)  # a bound, not a measurement: the budget alone would take 120 s
def test_a_shorter_request_timeout_on_the_line_wins(tmp_path: Path, blackhole: int, monkeypatch: pytest.MonkeyPatch):
    """--request-timeout 200ms ends the lookup, long before a 120 s budget would."""
    monkeypatch.setenv("KUBECTL_RAY_COMPLETION_TIMEOUT", "120")
    path = kubeconfig_for(tmp_path, f"http://127.0.0.1:{blackhole}")
    result = completion.complete(["cluster", "--kubeconfig", path, "--request-timeout", "200ms"], "", cli=demo_cli)
    assert result.candidates == []


# --- the entry point ---------------------------------------------------------------------------------

def test_main_prints_candidates_then_the_directive(capsys: pytest.CaptureFixture[str]):
    assert completion.main(["ver"]) == 0
    assert capsys.readouterr().out == "version\tShow the plugin and KubeRay operator versions\n:4\n"


def test_main_without_arguments_completes_a_new_word(capsys: pytest.CaptureFixture[str]):
    completion.main([])
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == ":4" and "version\t" in out


def test_main_never_prints_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    broken = tmp_path / "broken"
    broken.write_text("{")
    completion.main(["version", "--kubeconfig", str(broken), "-n", ""])
    captured = capsys.readouterr()
    assert captured.out == ":4\n" and captured.err == ""


# --- through the real kubectl ----------------------------------------------------------------------------

KUBECTL = "/usr/bin/kubectl"


def completer_bin_dir() -> Path:
    """The bin dir holding our console scripts (the venv's, for an editable or normal install)."""
    candidates = [Path(sys.executable).parent, Path(sys.prefix) / "bin"]
    for directory in candidates:
        if (directory / "kubectl_complete-ray").exists():
            return directory
    pytest.skip("kubectl_complete-ray is not installed in this environment (pip install -e .)")


def kubectl_complete(*words: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    if not os.path.exists(KUBECTL):
        pytest.skip(f"{KUBECTL} is missing")
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
    env["PATH"] = f"{completer_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.update(env_extra or {})
    done = subprocess.run([KUBECTL, "__complete", "ray", *words], capture_output=True, text=True, env=env, timeout=60)
    if "About to call" not in done.stderr:
        pytest.skip(f"this kubectl does not complete plugins (needs 1.26+): {done.stderr.strip()[:200]}")
    return done


@pytest.mark.kubectl
def test_kubectl_dispatches_to_our_completer():
    done = kubectl_complete("")
    lines = done.stdout.splitlines()
    assert lines[-1] == ":4"
    assert [line.split("\t")[0] for line in lines[:-1]] == available_commands()
    assert "kubectl_complete-ray" in done.stderr


@pytest.mark.kubectl
def test_kubectl_completes_names_served_by_the_emulator(ray_objects):
    ray_objects.emu.add(ray_cluster("x", "team-a"))
    done = kubectl_complete("version", "--kubeconfig", ray_objects.kubeconfig, "--namespace", "te")
    assert done.stdout == "team-a\n:4\n"
    if _module_exists("kubectl_ray.cli.get"):
        done = kubectl_complete("get", "cluster", "--kubeconfig", ray_objects.kubeconfig, "de")
        assert done.stdout == "demo\tRayCluster, ready\ndemo2\tRayCluster\n:4\n"


@pytest.mark.kubectl
def test_kubectl_completion_with_an_unreachable_cluster_is_quiet(tmp_path: Path):
    path = kubeconfig_for(tmp_path, f"https://127.0.0.1:{closed_port()}")
    done = kubectl_complete("version", "--kubeconfig", path, "-n", "")
    assert done.stdout == ":4\n"
    assert "Traceback" not in done.stderr and "error" not in done.stderr.lower()


def test_the_completer_process_with_a_silent_cluster_stops_at_the_budget(tmp_path: Path, blackhole: int):
    """Run directly: kubectl itself waits ~5 s on such a kubeconfig before it even calls a plugin's completer.
    The blackhole never answers, so without the budget the process would never end (timeout=60 is a
    bound for a hung test, not a measurement: benchmarks/ measures the budget)."""
    path = kubeconfig_for(tmp_path, f"http://127.0.0.1:{blackhole}")
    done = subprocess.run([str(completer_bin_dir() / "kubectl_complete-ray"), "version", "--kubeconfig", path, "-n", ""],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, ":4\n", "")


STUCK_PLUGIN = ("import os, sys, time\n"  # never answers, and ends once the completer that ran it is gone
                "parent = os.getppid()\n"
                "deadline = time.monotonic() + 300\n"
                "while os.getppid() == parent and time.monotonic() < deadline:\n"
                "    time.sleep(0.1)\n")


def test_the_completer_process_does_not_wait_for_a_stuck_credential_plugin(tmp_path: Path):
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                     "args": ["-c", STUCK_PLUGIN], "interactiveMode": "Never"}}
    # exec plugins run only for https servers (as in kubectl), before connecting
    path = write_kubeconfig(tmp_path / "kc", kubeconfig(f"https://127.0.0.1:{closed_port()}", user=user))
    # stderr as kubectl passes it (a file, not a pipe it waits on); waiting for the plugin would take 300 s
    done = subprocess.run([str(completer_bin_dir() / "kubectl_complete-ray"), "version", "--kubeconfig", path, "-n", ""],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, ":4\n")


def test_the_completer_module_imports_no_heavy_module_at_load():
    code = ("import sys; import kubectl_ray.completion; "
            "bad = [m for m in ('kubernetes', 'yaml', 'urllib3', 'ssl', 'click') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_console_script_is_declared_for_the_completer():
    import importlib.metadata

    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")
               if ep.name in ("kubectl-ray", "kubectl_complete-ray")}
    assert scripts == {"kubectl-ray": "kubectl_ray.cli:main", "kubectl_complete-ray": "kubectl_ray.completion:main"}
    assert shutil.which("kubectl_complete-ray", path=str(Path(sys.executable).parent)) is not None


def test_get_type_slash_completes_that_types_names(ray_objects):
    """`get raycluster/<TAB>` and `get rayjobs/<TAB>`: kubectl's TYPE/NAME, completed like the plugin's own names."""
    result = completion.complete(["get", "--kubeconfig", ray_objects.kubeconfig], "raycluster/de")
    assert values(result) == ["raycluster/demo", "raycluster/demo2"]
    result = completion.complete(["get", "--kubeconfig", ray_objects.kubeconfig], "rayjobs/")
    assert values(result) == ["rayjobs/train"]
    assert completion.complete(["get"], "nosuchtype/").candidates == []
