"""Secrets never reach output: bearer tokens, client keys, Redis passwords and Secret data are seeded
as unique markers, every command runs (succeeding and failing, with and without --debug), and all it
printed or wrote is scanned. The one intended exception is `get token`'s stdout.
"""

from __future__ import annotations

import base64
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

