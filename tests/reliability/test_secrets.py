"""Secrets never reach output: bearer tokens, client keys, Redis passwords and Secret data are seeded
as unique markers, every command runs (succeeding and failing, with and without --debug), and all it
printed or wrote is scanned. The one intended exception is `get token`'s stdout.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import stat
import sys
from pathlib import Path
from typing import Iterator

import pytest
import trustme

from tests.conftest import EmulatorHandle, ray_cluster, run_cli
from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.reliability.test_fault_matrix import load_world

TOKEN = "MARKER-kubeconfig-token-7f3a"
FLAG_TOKEN = "MARKER-flag-token-91c2"
EXEC_TOKEN = "MARKER-exec-token-55d0"
AUTH_TOKEN = "MARKER-ray-auth-token-0b8e"
REDIS_PASSWORD = "MARKER-redis-password-c41d"
ENV_SECRET = "MARKER-env-secret-e2aa"
CLIENT_KEY = "MARKER-client-key-6a1f"
MARKERS = (TOKEN, FLAG_TOKEN, EXEC_TOKEN, AUTH_TOKEN, REDIS_PASSWORD, ENV_SECRET, CLIENT_KEY)


_CA = trustme.CA()
_CA_DATA = {"certificate-authority-data": base64.b64encode(_CA.cert_pem.bytes()).decode()}


@pytest.fixture
def secure_emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    """The emulator over HTTPS: credentials travel only over TLS (as with kubectl), so that is where
    they must not leak."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _CA.issue_cert("127.0.0.1").configure_cert(ctx)
    emu = Emulator()
    with EmulatorServer(emu, ssl_context=ctx) as server:
        path = write_kubeconfig(tmp_path / "kubeconfig", kubeconfig(server.url, cluster_extra=_CA_DATA))
        yield EmulatorHandle(emu, server, path)


def seeded_world(handle: EmulatorHandle, tmp: Path) -> None:
    emu = handle.emu
    load_world(emu, tmp)
    ft = ray_cluster("ft")
    ft["spec"]["gcsFaultToleranceOptions"] = {"redisAddress": "redis:6379", "redisPassword": {"value": REDIS_PASSWORD}}
    head = ft["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    head["env"] = [{"name": "DB_PASSWORD", "value": ENV_SECRET}, {"name": "RAY_REDIS_PASSWORD", "value": REDIS_PASSWORD}]
    emu.add(ft)
    secure = emu.get("rayclusters", "default", "secure")
    emu.remove("secrets", "default", "secure")
    emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secure", "namespace": "default"},
             "data": {"auth_token": base64.b64encode(AUTH_TOKEN.encode()).decode()}})
    assert secure is not None


def scan(texts: list[str], where: str, allowed: tuple[str, ...] = ()) -> None:
    for text in texts:
        for marker in MARKERS:
            if marker in allowed:
                continue
            assert marker not in text, f"{marker} leaked in {where}: ...{text[max(0, text.find(marker) - 80):text.find(marker) + 40]}..."


def files_text(root: Path) -> list[str]:
    return [p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()]


COMMANDS = [
    ["get", "cluster"], ["get", "cluster", "ft", "-o", "wide"], ["get", "workergroup"], ["get", "node", "-A"],
    ["get", "job"], ["get", "service"], ["scale", "cluster", "ft", "-w", "default-group", "-r", "2"],
    ["create", "cluster", "new", "--gcs-ft-redis-address", "redis:6379", "--gcs-ft-redis-password-secret", "redis:password"],
    ["create", "workergroup", "extra", "-c", "ft"], ["version"], ["debug", "ft"], ["debug", "ft", "-o", "json"],
    ["debug", "-A"], ["delete", "raycluster/new", "-y"], ["get", "token", "missing"],
]


@pytest.mark.parametrize("failure", ["none", "unauthorized", "server-error", "forbidden"])
def test_no_secret_in_any_output(secure_emulator: EmulatorHandle, tmp_path: Path, tally, failure: str):
    emulator = secure_emulator
    seeded_world(emulator, tmp_path)
    emu = emulator.emu
    emu.tokens = {TOKEN: "alice", FLAG_TOKEN: "bob"}
    path = write_kubeconfig(tmp_path / "cfg", kubeconfig(emulator.url, token=TOKEN, cluster_extra=_CA_DATA))
    if failure == "unauthorized":
        emu.fault(status=401, times=None)
    elif failure == "server-error":
        emu.fault(status=500, times=None, headers={"Retry-After": "0"})
    elif failure == "forbidden":
        emu.forbid()
    (tmp_path / "logs").mkdir()
    for args in COMMANDS + [["log", "demo", "--out-dir", str(tmp_path / "logs")]]:
        for extra in ([], ["--debug"], ["--token", FLAG_TOKEN]):
            with tally.case("secrets"):
                result = run_cli(*args, "--kubeconfig", path, *extra)
                scan([result.stdout, result.stderr], f"{' '.join(args + extra)} ({failure})")
    scan(files_text(tmp_path / "logs"), "log files")


def test_get_token_prints_the_token_and_nothing_else_does(emulator: EmulatorHandle, tmp_path: Path, tally):
    with tally.case("secrets"):
        seeded_world(emulator, tmp_path)
        result = emulator.run("get", "token", "secure", "--debug")
        assert result.stdout == AUTH_TOKEN and result.exit_code == 0
        scan([result.stderr], "get token stderr")


def test_debug_bundle_carries_no_secret(emulator: EmulatorHandle, tmp_path: Path, tally):
    import tarfile

    with tally.case("secrets"):
        seeded_world(emulator, tmp_path)
        bundle = tmp_path / "b.tar.gz"
        result = emulator.run("debug", "ft", "--logs", "--bundle", str(bundle))
        scan([result.stdout, result.stderr], "debug --bundle output")
        with tarfile.open(bundle) as tar:
            texts = [tar.extractfile(m).read().decode("utf-8", "replace") for m in tar.getmembers() if m.isfile()]
        scan(texts, "the bundle")
        assert not any(r.resource == "secrets" for r in emulator.emu.requests), "debug must not read Secrets"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_client_key_and_exec_credentials_never_echoed(tmp_path: Path, tally):
    bad_key = base64.b64encode(f"-----BEGIN PRIVATE KEY-----\n{CLIENT_KEY}\n-----END PRIVATE KEY-----\n".encode()).decode()
    bad_cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnotacert\n-----END CERTIFICATE-----\n").decode()
    user = {"client-certificate-data": bad_cert, "client-key-data": bad_key}
    path = write_kubeconfig(tmp_path / "key", kubeconfig(f"https://127.0.0.1:{_closed_port()}", user=user))
    plugin = tmp_path / "plugin"
    plugin.write_text(f"#!{sys.executable}\nimport json\nprint(json.dumps({{'apiVersion': "
                      f"'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', 'status': {{'token': '{EXEC_TOKEN}'}}}}))\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}}
    exec_path = write_kubeconfig(tmp_path / "exec", kubeconfig(f"https://127.0.0.1:{_closed_port()}", user=exec_user))
    for cfg in (path, exec_path):
        for args in (["get", "cluster"], ["version"], ["debug", "demo"], ["scale", "cluster", "x", "-w", "g", "-r", "1"]):
            for extra in ([], ["--debug"]):
                with tally.case("secrets"):
                    result = run_cli(*args, "--kubeconfig", cfg, *extra)
                    assert result.exit_code != 0
                    scan([result.stdout, result.stderr], " ".join(args + extra))



# --- the placement corpus (issue 14): >= 100 realistic secrets, none in any shared diagnostic -------------

from tests.debug.world import World, load  # noqa: E402
from tests.reliability.secret_corpus import Seeded, seed  # noqa: E402

CLUSTER = "raycluster-complete"


def corpus_world(emulator: EmulatorHandle) -> Seeded:
    w = World()
    seeded = seed(w)
    load(emulator, w.objs + seeded.extra_objects)
    for (pod, container), text in seeded.logs.items():
        emulator.emu.pod_logs[("default", pod, container)] = text
    return seeded


def leaks(seeded: Seeded, texts: dict[str, str]) -> list[str]:
    return [f"{p.cls} placement '{p.where}' ({p.marker}) in {name}: ...{text[max(0, text.find(p.marker) - 60):text.find(p.marker) + 30]!r}..."
            for p in seeded.placements for name, text in texts.items() if p.marker in text]


def test_the_corpus_has_100_placements_that_reach_the_collector(emulator: EmulatorHandle, tally) -> None:
    """Each placement (but Secret/ConfigMap values, dropped on arrival) is in what the collector keeps:
    without redaction it would reach the bundle, so the corpus tests something."""
    from kubectl_ray.debug.collector import CollectOptions, Collector
    from kubectl_ray.kube import connect
    from kubectl_ray.kube.flags import ConnectionFlags

    with tally.case("secrets"):
        seeded = corpus_world(emulator)
        classes = {p.cls for p in seeded.placements}
        assert len(seeded.placements) >= 100 and len({p.marker for p in seeded.placements}) == len(seeded.placements)
        assert classes == {"env-name", "url", "argv", "shell", "param", "annotation", "secret-data", "message", "event", "log"}
        kube = connect(ConnectionFlags(kubeconfig=emulator.kubeconfig))
        snap = Collector(kube, CollectOptions(logs=True)).collect_target("RayCluster", CLUSTER, "default")
        raw = json.dumps(snap.to_dict())
        missing = [f"{p.cls}: {p.where}" for p in seeded.placements if p.collected and p.marker not in raw]
        assert not missing, missing
        kept_values = [p.where for p in seeded.placements if not p.collected and p.marker in raw]
        assert not kept_values, kept_values


def test_no_corpus_secret_in_any_debug_output_or_bundle(emulator: EmulatorHandle, tmp_path: Path, tally) -> None:
    """Every command that prints or bundles shared diagnostics, with and without --debug, live and offline."""
    import tarfile

    seeded = corpus_world(emulator)
    bundle = tmp_path / "corpus.tar.gz"
    texts: dict[str, str] = {}
    runs = [["debug", CLUSTER, "--logs", "--bundle", str(bundle)], ["debug", f"raycluster/{CLUSTER}", "--logs"],
            ["debug", CLUSTER, "--logs", "-o", "json"], ["debug", CLUSTER, "--logs", "--debug"], ["debug"], ["debug", "-A"],
            ["debug", "-A", "--debug"]]
    for args in runs:
        with tally.case("secrets"):
            result = emulator.run(*args)
            assert result.exit_code in (0, 1), (args, result)
            texts[" ".join(args) + " stdout"], texts[" ".join(args) + " stderr"] = result.stdout, result.stderr
    for args in (["debug", "--from-bundle", str(bundle)], ["debug", "--from-bundle", str(bundle), "-o", "json"],
                 ["debug", "--from-bundle", str(bundle), "--debug"]):
        with tally.case("secrets"):
            result = run_cli(*args)
            assert result.exit_code in (0, 1), (args, result)
            texts[" ".join(args[:1] + args[3:]) + " (offline) stdout"] = result.stdout
            texts[" ".join(args[:1] + args[3:]) + " (offline) stderr"] = result.stderr
    with tarfile.open(bundle) as tar:
        members = {m.name: tar.extractfile(m).read().decode("utf-8", "replace") for m in tar if m.isfile()}
    texts.update({f"bundle {name}": text for name, text in members.items()})
    with tally.case("secrets"):
        found = leaks(seeded, texts)
        assert not found, "\n".join(found)
    # the redaction is visible, and the manifest says what was removed where, never the values
    meta = json.loads(members["kubectl-ray-debug/metadata.json"])["redactions"]
    assert meta["total"] >= 100 and sum(meta["byClass"].values()) == meta["total"]
    assert {"env-value", "argv-pair", "secret-field", "authorization", "token-format", "url-userinfo", "cli-password",
            "assignment", "private-key"} <= set(meta["byClass"]), meta["byClass"]
    assert any(path.startswith("logs/") for path in meta["byFile"]) and any(path.startswith("events/") for path in meta["byFile"])
    assert "<redacted>" in texts[f"debug {CLUSTER} --logs -o json stdout"]
    # what a diagnosis needs survives: names, references, hosts
    cluster_yaml = members[f"kubectl-ray-debug/objects/rayclusters/default/{CLUSTER}.yaml"]
    for kept in ("DB_PASS", "app-secret", "redis:6379", "redis-password:", "secretKeyRef", "app-config"):
        assert kept in cluster_yaml, kept


def test_get_output_is_the_users_own_data_like_kubectl(emulator: EmulatorHandle, tally) -> None:
    """`get -o yaml|json` prints objects as the API server gives them (what kubectl get prints too): the
    user's own data, to their own terminal. Redaction is for shared diagnostics (debug, bundles)."""
    with tally.case("secrets"):
        seeded = corpus_world(emulator)
        param = next(p for p in seeded.placements if p.where == "headGroupSpec.rayStartParams.redis-password")
        result = emulator.run("get", "cluster", CLUSTER, "-o", "yaml")
        assert result.exit_code == 0 and param.value in result.stdout


def test_unexpected_errors_and_debug_tracebacks_carry_no_secret(emulator: EmulatorHandle, mocker, tally) -> None:
    """A bug (no server can play one) whose exception text quotes a secret: one redacted line, and the
    --debug traceback redacted too."""
    secret = "hunter2-QZ999K"
    corpus_world(emulator)
    mocker.patch("kubectl_ray.debug.engine.diagnose", side_effect=RuntimeError(f"boom: password={secret} token {secret}"))
    for extra in ([], ["--debug"]):
        with tally.case("secrets"):
            result = emulator.run("debug", CLUSTER, *extra)
            assert result.exit_code == 3, result
            assert "unexpected RuntimeError" in result.stderr and secret not in result.stderr, result.stderr
            assert ("Traceback" in result.stderr) == bool(extra)


HOSTILE_UNITS = ["eyJabcd.", "a.token.", "password ", "--token ", "a://", "token=a=", "aws A1b/", "mysql -p",
                 "-----BEGIN PRIVATE KEY-----", "token: ", '"password": "', "a@", "Bearer ", "Authorization: ", "redis-cli -a ",
                 "-u a:", "ghp_", "sk-", "x" * 300 + "token", "https://a:b", "basic basic ", "auth-", "_key=", "AKIA", "xoxb-"]


@pytest.mark.timeout(120)  # linear: ~0.2 s per text here; a pattern that backtracks quadratically takes hours
def test_redaction_stays_linear_on_hostile_text(tally) -> None:
    """Log tails and messages are attacker-controlled text: 256 KiB of each repeated unit, every pattern run."""
    from kubectl_ray.debug.redact import redact_text

    for unit in HOSTILE_UNITS:
        with tally.case("secrets"):
            text = unit * ((256 * 1024) // len(unit))
            assert len(redact_text(text)) > 0


@pytest.mark.parametrize("text", [
    "ray start --head --redis-password=$REDIS_PASSWORD",
    "ray start --head --redis-password ${REDIS_PASSWORD}",
    "PASSWORD=$(DB_PASSWORD) python serve.py",
    "export API_TOKEN=$TOKEN",
])
def test_a_reference_to_a_variable_is_not_a_secret(text: str) -> None:
    """KubeRay's own head command says `--redis-password=$REDIS_PASSWORD`: it names where the secret
    is (an env var from a Secret) and is kept, so a diagnosis and its bundle read like the pod."""
    from kubectl_ray.debug.redact import redact_text

    assert redact_text(text) == text
    assert redact_text(text.replace("$", "h").replace("{", "").replace("}", "").replace("(", "").replace(")", "")) \
        != text.replace("$", "h").replace("{", "").replace("}", "").replace("(", "").replace(")", "")
