"""A user's terminal for the journeys: the real `kubectl` (plugin dispatch to the installed `kubectl-ray`),
an API server emulator with the KubeRay player running in the background, and, for e2e journeys,
the session's real Ray head behind the stand-in `kubectl port-forward`.

    def test_x(shell):
        out = shell.ray("get", "cluster")           # kubectl ray get cluster, as a user types it
        obj = shell.kubectl_json("get", "raycluster", "demo")
        shell.until(lambda: ..., "the workers are ready")
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig
from tests.emulator.kuberay.player import Player
from tests.fake_kubectl import FAKE_KUBECTL
from tests.ray_head import RayHead, ray_head  # noqa: F401 - the session fixture

COMMAND_TIMEOUT = 180
UNTIL_TIMEOUT = 120.0


@dataclass
class Result:
    args: list[str]
    code: int
    out: str
    err: str

    def __repr__(self) -> str:
        return f"Result({' '.join(self.args)!r}, code={self.code}, out={self.out!r}, err={self.err!r})"


@dataclass
class Shell:
    """The user's terminal: KUBECONFIG set, the venv's bin on PATH, port-forwards landing on the Ray head."""

    emu: Emulator
    player: Player
    env: dict[str, str]
    cwd: Path
    history: list[Result] = field(default_factory=list)

    def run(self, *args: str, input: str | None = None, timeout: float = COMMAND_TIMEOUT) -> Result:
        proc = subprocess.run(list(args), capture_output=True, text=True, env=self.env, cwd=self.cwd, input=input,
                              timeout=timeout)
        result = Result(list(args), proc.returncode, proc.stdout, proc.stderr)
        self.history.append(result)
        return result

    def ray(self, *args: str, **options: Any) -> Result:
        """`kubectl ray ARGS` through kubectl's plugin dispatch."""
        return self.run("kubectl", "ray", *args, **options)

    def ok(self, *args: str, **options: Any) -> Result:
        result = self.ray(*args, **options)
        assert result.code == 0, result
        assert "Traceback" not in result.err and "unexpected" not in result.err, result
        return result

    def kubectl_json(self, *args: str) -> dict[str, Any]:
        result = self.run("kubectl", *args, "-o", "json")
        assert result.code == 0, result
        return json.loads(result.out)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(["kubectl", "ray", *args], env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def until(self, check: Callable[[], Any], what: str, timeout: float = UNTIL_TIMEOUT) -> Any:
        """Poll check() until it returns something true (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting until {what}")
            time.sleep(0.1)


def user_env(kubeconfig_path: str, home: Path, forwards: dict[str, str]) -> dict[str, str]:
    bin_dir = os.path.dirname(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECTL_RAY_", "FAKE_KUBECTL"))}
    env.update({"PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]), "KUBECONFIG": kubeconfig_path,
                "HOME": str(home), "KUBECACHEDIR": str(home / "kube-cache"), "KUBECTL_PATH": str(FAKE_KUBECTL),
                "FAKE_KUBECTL_BACKENDS": json.dumps(forwards), "NO_COLOR": "1"})
    env.pop("KUBECTL_RAY_TRANSPORT", None)
    return env


def require_kubectl() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("SKIPPED LOUDLY: the journeys run the real kubectl (plugin dispatch); it is not on PATH")
    if not (Path(sys.executable).parent / "kubectl-ray").exists():
        pytest.skip("SKIPPED LOUDLY: kubectl-ray is not installed in this environment (pip install -e '.[test]')")


def open_shell(tmp: Path, ray: RayHead | None, **player_options: Any) -> Iterator[Shell]:
    require_kubectl()
    emu = Emulator()
    forwards = {"8265": ray.dashboard_url.split("//", 1)[1]} if ray else {}
    logs = str(Path(ray.temp_dir) / "session_latest" / "logs") if ray else None
    player = Player(emu, step_interval=0.02, ray_dashboard=ray.dashboard_url if ray else None, log_dir=logs,
                    **player_options)
    with EmulatorServer(emu) as server:
        path = write_kubeconfig(tmp / "kubeconfig", kubeconfig(server.url))
        (tmp / "home").mkdir(exist_ok=True)
        (tmp / "work").mkdir(exist_ok=True)
        with player:
            yield Shell(emu, player, user_env(path, tmp / "home", forwards), tmp / "work")


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    """A terminal on an emulated cluster with KubeRay; Ray is simulated (no head)."""
    yield from open_shell(tmp_path, None)


@pytest.fixture
def ray_shell(tmp_path: Path, ray_head: RayHead) -> Iterator[Shell]:  # noqa: F811
    """A terminal whose emulated Ray heads are the session's real Ray head."""
    yield from open_shell(tmp_path, ray_head)
