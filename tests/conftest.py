"""Shared fixtures: an isolated environment, the CLI runner, the API emulator, a frozen clock."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.emulator.crds import find_shared

REPO = Path(__file__).resolve().parent.parent
SHARED = find_shared()
FROZEN_NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


def shared_path(*parts: str) -> Path:
    """A file under ../shared (KubeRay CRDs and samples); skips loudly when the folder is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"SKIPPED LOUDLY: {path} is missing; KubeRay CRDs/samples live in ../shared "
                    "(set KUBECTL_RAY_SHARED to their folder)", allow_module_level=True)
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # shows up in assertion failures
        return f"CliResult(exit_code={self.exit_code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def run_cli(*args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> CliResult:
    """Run our real entry point (kubectl_ray.cli.main) in-process with captured streams."""
    from kubectl_ray import cli
    from kubectl_ray.cli import registry

    runner = CliRunner()
    debug = registry.DEBUG
    with runner.isolation(input=input, env=env) as (out, err, _mixed):
        code = cli.main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    registry.set_debug(debug)
    return CliResult(int(code), stdout, stderr)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's ~/.kube or environment."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECACHEDIR", str(home / "kube-cache"))
    for var in ("KUBECONFIG", "KUBECTL_RAY_TRANSPORT", "KUBECTL_RAY_DEBUG", "KUBERNETES_SERVICE_HOST",
                "KUBERNETES_SERVICE_PORT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


class EmulatorHandle:
    """An emulator served on 127.0.0.1 with a kubeconfig pointing at it."""

    def __init__(self, emu: Emulator, server: EmulatorServer, kubeconfig_path: str) -> None:
        self.emu = emu
        self.server = server
        self.url = server.url
        self.kubeconfig = kubeconfig_path

    def run(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> CliResult:
        """`kubectl ray ARGS --kubeconfig <emulator>`."""
        return run_cli(*args, "--kubeconfig", self.kubeconfig, input=input, env=env)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    emu = Emulator()
    with EmulatorServer(emu) as server:
        path = write_kubeconfig(tmp_path / "kubeconfig", kubeconfig(server.url))
        yield EmulatorHandle(emu, server, path)


@pytest.fixture(scope="session")
def test_ca() -> Any:
    """One certificate authority for the HTTPS emulators of a test run."""
    import trustme

    return trustme.CA()


@pytest.fixture
def secure_emulator(tmp_path: Path, test_ca: Any) -> Iterator[EmulatorHandle]:
    """The emulator over HTTPS, trusted by its kubeconfig: where credentials matter (kubectl sends
    tokens, passwords and exec-plugin credentials only over TLS)."""
    import base64
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    ca_data = {"certificate-authority-data": base64.b64encode(test_ca.cert_pem.bytes()).decode()}
    emu = Emulator()
    with EmulatorServer(emu, ssl_context=ctx) as server:
        path = write_kubeconfig(tmp_path / "kubeconfig", kubeconfig(server.url, cluster_extra=ca_data))
        yield EmulatorHandle(emu, server, path)


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Freeze the clock ages are computed from."""
    monkeypatch.setattr("kubectl_ray.printing.now", lambda: FROZEN_NOW)
    return FROZEN_NOW


def ray_cluster(name: str = "demo", namespace: str = "default", **spec_overrides: Any) -> dict[str, Any]:
    """A small RayCluster like the ones the operator manages."""
    spec = {
        "rayVersion": "2.52.0",
        "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [
            {"name": "ray-head", "image": "rayproject/ray:2.52.0",
             "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}}]}}},
        "workerGroupSpecs": [{"groupName": "default-group", "replicas": 1, "minReplicas": 0, "maxReplicas": 5,
                              "rayStartParams": {}, "template": {"spec": {"containers": [
                                  {"name": "ray-worker", "image": "rayproject/ray:2.52.0",
                                   "resources": {"requests": {"cpu": "2", "memory": "4Gi"},
                                                 "limits": {"memory": "4Gi"}}}]}}}],
    }
    spec.update(spec_overrides)
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-11-23T10:50:00Z"},
            "spec": spec}
