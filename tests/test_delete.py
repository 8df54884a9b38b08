"""`kubectl ray delete`: confirmation through click, -y, order, partial failures, --wait."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import ray_cluster


def rayjob(name: str, namespace: str = "default") -> dict:
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name, "namespace": namespace},
            "spec": {"entrypoint": "python -c 'print(1)'"}}


def rayservice(name: str, namespace: str = "default") -> dict:
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": name, "namespace": namespace},
            "spec": {"serveConfigV2": "applications: []"}}


@pytest.fixture
def objects(emulator):
    emulator.emu.add_all([ray_cluster("a"), ray_cluster("b"), rayjob("j"), rayservice("s"),
                          ray_cluster("a", "other")])
    emulator.emu.clear_requests()
    return emulator


@pytest.fixture
def terminal(mocker):
    """Pretend stdin is a terminal (the prompt is then fed through click's test input)."""
    return mocker.patch("kubectl_ray.cli.delete.stdin_is_terminal", return_value=True)


def remaining(emulator, plural: str) -> list[str]:
    return [o["metadata"]["name"] for o in emulator.emu.objects(plural, "default")]


def deletes(emulator) -> list[tuple[str, str]]:
    return [(r.resource, r.name) for r in emulator.emu.requests_where(verb="delete")]


# --- -y, order, output ------------------------------------------------------------------------

def test_yes_deletes_in_argument_order_kubectl_style(objects):
    result = objects.run("delete", "rayservice/s", "b", "RayJob/j", "raycluster/a", "b", "-y")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == ('rayservice.ray.io "s" deleted\nraycluster.ray.io "b" deleted\n'
                             'rayjob.ray.io "j" deleted\nraycluster.ray.io "a" deleted\n')
    assert deletes(objects) == [("rayservices", "s"), ("rayclusters", "b"), ("rayjobs", "j"), ("rayclusters", "a")]
    assert remaining(objects, "rayclusters") == [] and objects.emu.objects("rayclusters", "other") != []


def test_one_missing_others_still_deleted_exit_1(objects):
    result = objects.run("delete", "a", "missing", "rayjob/j", "--yes")
    assert result.exit_code == 1
    assert result.stdout == 'raycluster.ray.io "a" deleted\nrayjob.ray.io "j" deleted\n'
    assert result.stderr == ('Error from server (NotFound): rayclusters.ray.io "missing" not found\n'
                             "1 of 3 resources could not be deleted\n")
    assert remaining(objects, "rayclusters") == ["b"] and remaining(objects, "rayjobs") == []


def test_forbidden_is_reported_and_the_rest_goes_on(objects):
    objects.emu.forbid("delete", "rayjobs")
    result = objects.run("delete", "rayjob/j", "b", "-y")
    assert result.exit_code == 1
    assert result.stdout == 'raycluster.ray.io "b" deleted\n'
    assert result.stderr.startswith("Error from server (Forbidden): rayjobs.ray.io is forbidden")


def test_namespace_flag(objects):
    result = objects.run("delete", "a", "-n", "other", "-y")
    assert result.exit_code == 0 and objects.emu.objects("rayclusters", "other") == []
    assert remaining(objects, "rayclusters") == ["a", "b"]


# --- the prompt -------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["y", "yes", "YES"])
def test_prompt_yes_deletes(objects, terminal, answer):
    result = objects.run("delete", "a", "rayjob/j", input=answer + "\n")
    assert result.exit_code == 0
    assert result.stderr == ("Are you sure you want to delete the following resources in namespace default?\n"
                             f"- raycluster/a\n- rayjob/j\n(y/yes/n/no) {answer}\n")  # the test runner echoes input
    assert result.stdout == 'raycluster.ray.io "a" deleted\nrayjob.ray.io "j" deleted\n'


@pytest.mark.parametrize("answer", ["n", "no"])
def test_prompt_no_cancels(objects, terminal, answer):
    result = objects.run("delete", "a", input=answer + "\n")
    assert (result.exit_code, result.stdout) == (0, "Canceled deletion.\n")
    assert objects.emu.writes() == []


def test_prompt_asks_again_on_other_input(objects, terminal):
    result = objects.run("delete", "a", input="maybe\nn\n")
    assert result.exit_code == 0 and result.stdout == "Canceled deletion.\n"
    assert "'maybe' is not one of 'y', 'yes', 'n', 'no'" in result.stderr
    assert objects.emu.writes() == []


def test_prompt_end_of_input_deletes_nothing(objects, terminal):
    result = objects.run("delete", "a", input="")
    assert result.exit_code == 1
    assert result.stderr.endswith("\nerror: no answer to the confirmation (end of input): nothing was deleted; "
                                  "pass -y/--yes to delete without asking\n")
    assert objects.emu.writes() == []


def test_no_terminal_and_no_yes_refuses(objects):
    result = objects.run("delete", "a", input="y\n")  # piped input is not a confirmation
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == ("error: refusing to delete without confirmation: standard input is not a terminal; "
                             "pass -y/--yes to delete without asking\n")
    assert objects.emu.requests_where() == []


# --- bad input: nothing is deleted ------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    ([], "accepts a minimum of 1 arg, received 0"),
    (["a", "pod/x"], "unsupported resource type 'pod' in 'pod/x': use one of raycluster, rayjob, rayservice"),
    (["a", "a/b/c"], "invalid resource type/name: 'a/b/c' (use NAME or TYPE/NAME)"),
    (["a", "rayjob/"], "invalid resource type/name: 'rayjob/': the name is empty"),
    (["a", ""], "invalid resource type/name: '': the name is empty"),
    (["a", "--timeout", "soon"], "invalid --timeout 'soon': not a duration"),
])
def test_bad_arguments_delete_nothing(objects, args, fragment):
    result = objects.run("delete", *args, "-y")
    assert result.exit_code == 2, result
    assert result.stderr.startswith("error: ") and fragment in result.stderr and result.stderr.count("\n") == 1
    assert objects.emu.requests_where() == []


# --- --wait -----------------------------------------------------------------------------------

def keep_with_finalizer(emulator, plural: str, release_after: float | None):
    """Play the API server with a finalizer: a deleted object stays (with deletionTimestamp) until released."""
    def on_delete(obj, emu):
        obj["metadata"].update(deletionTimestamp="2026-11-23T12:00:00Z", finalizers=["ray.io/test"])
        emu.add(obj)
        if release_after is not None:
            threading.Timer(release_after, emu.remove, args=(plural, obj["metadata"]["namespace"],
                                                              obj["metadata"]["name"])).start()
    emulator.emu.on("delete", plural, on_delete)


def test_wait_until_gone(objects):
    keep_with_finalizer(objects, "rayclusters", release_after=0.3)
    result = objects.run("delete", "a", "rayjob/j", "-y", "--wait", "--timeout", "20s")
    assert (result.exit_code, result.stderr) == (0, "")
    assert remaining(objects, "rayclusters") == ["b"]
    watches = objects.emu.requests_where(verb="watch", resource="rayclusters")
    assert len(watches) >= 1 and watches[0].q("fieldSelector") == "metadata.name=a"


def test_wait_times_out_per_resource(objects):
    keep_with_finalizer(objects, "rayclusters", release_after=None)
    result = objects.run("delete", "a", "rayjob/j", "-y", "--wait", "--timeout", "1s")
    assert result.exit_code == 1
    assert result.stdout == 'raycluster.ray.io "a" deleted\nrayjob.ray.io "j" deleted\n'
    assert result.stderr == ('error: timed out after 1s waiting for raycluster.ray.io "a" to be deleted\n'
                             "1 of 2 resources could not be deleted\n")


def test_wait_zero_timeout_checks_once(objects):
    result = objects.run("delete", "b", "-y", "--wait", "--timeout", "0")
    assert result.exit_code == 0
    assert [r.verb for r in objects.emu.requests] == ["delete", "get"]
