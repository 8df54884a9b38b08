"""README.md's Quick start, run as written against `python -m tests.emulator demo` (its "Try it without a
cluster" section): the demo runs in its own process with the session's Ray head, the commands run in a
terminal set up with the demo's `export` line, one by one. `session` runs until Ctrl-C, so it is
started, its dashboard URL is opened, and it is interrupted."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.journeys.conftest import COMMAND_TIMEOUT, require_kubectl, user_env
from tests.ray_head import RayHead

pytestmark = [pytest.mark.e2e, pytest.mark.kubectl]


def quick_start_commands() -> list[list[str]]:
    """The commands of the first ```sh block under `## Quick start`, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README.md's Quick start has no ```sh block"
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.strip()]


def demo_setup_commands() -> list[str]:
    """The README's `python -m tests.emulator demo` line (so the test follows what the README says)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Try it without a cluster\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in re.findall(r"```sh\n(.*?)```", section, re.S)[0].splitlines() if "tests.emulator" in line]


def start_demo(tmp: Path, head: RayHead) -> tuple[subprocess.Popen, dict[str, str]]:
    words = shlex.split(demo_setup_commands()[0], comments=True)
    assert words[:4] == ["python", "-m", "tests.emulator", "demo"], words
    args = [sys.executable, "-m", "tests.emulator", "demo", *words[4:], "--dir", str(tmp / "demo"),
            "--ray-dashboard", head.dashboard_url, "--ray-logs", str(Path(head.temp_dir) / "session_latest" / "logs"),
            "--step", "0.05"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the demo prints its export line once it serves
    if not line.startswith("export "):
        proc.kill()
        raise AssertionError(f"the demo did not print its export line: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    exports = dict(word.split("=", 1) for word in shlex.split(line)[1:])
    return proc, exports


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_the_quick_start_works_against_the_demo(tmp_path: Path, ray_head: RayHead) -> None:
    require_kubectl()
    demo, exports = start_demo(tmp_path, ray_head)
    try:
        env = user_env(exports["KUBECONFIG"], tmp_path, {})
        env.update(exports)
        work = tmp_path / "work"
        work.mkdir()
        (work / "main.py").write_text("print('working dir uploaded')\n")
        for words in quick_start_commands():
            assert words[:2] == ["kubectl", "ray"], words
            if words[2] == "session":
                run_session(words, env, work)
                continue
            result = subprocess.run(words, env=env, cwd=work, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
            assert result.returncode == 0, (words, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr, result.stderr
            if words[2] == "job":
                assert "hi\n" in result.stdout, result.stdout
            if words[2] == "debug":
                assert "Verdict: no problems found." in result.stdout, result.stdout
        assert "No resources found" in subprocess.run(["kubectl", "get", "rayjobs"], env=env, capture_output=True,
                                                      text=True, timeout=60).stderr
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(10)
    assert demo.returncode == 0, demo.stderr.read() if demo.stderr else ""


def run_session(words: list[str], env: dict[str, str], cwd: Path) -> None:
    """`kubectl ray session NAME` forwards fixed local ports; when they are taken, it must say so."""
    free = port_free(8265) and port_free(10001)
    proc = subprocess.Popen(words, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        if not free:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 1 and "in use" in err, (out, err)
            return
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            match = re.search(r"Ray Dashboard: (http://127\.0\.0\.1:8265)", line)
            url = match.group(1) if match else None
        assert url, "the session printed no dashboard URL"
        with urllib.request.urlopen(url + "/api/version", timeout=30) as resp:
            assert b"ray_version" in resp.read()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
