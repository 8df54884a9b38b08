"""Filesystem safety: `log` never writes outside each pod's folder, whatever the pod sends, and neither
`log --out-dir` nor `debug --bundle` overwrites files they did not write without a flag."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import EmulatorHandle, ray_cluster
from tests.reliability.test_secrets import seeded_world
from tests.test_safetar import MALICIOUS, build_tar, entry, tree

NS = "default"
POD = "demo-head-x"


def head_pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": NS,
                         "labels": {"ray.io/cluster": "demo", "ray.io/node-type": "head", "ray.io/group": "headgroup"}},
            "spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2.52.0"}]},
            "status": {"phase": "Running"}}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_pod_cannot_write_outside_its_folder(emulator: EmulatorHandle, tmp_path: Path, tally, case: str):
    """The whole command, not just the extractor: a compromised Ray container serving a hostile tar."""
    with tally.case("filesystem safety"):
        box = tmp_path / "box"
        out = box / "out"
        out.mkdir(parents=True)
        (box / "victim.txt").write_text("untouched")
        entries, expected = MALICIOUS[case]
        entries = [(n.replace("ABS", str(box)), k, d, link.replace("ABS", str(box)), m) for n, k, d, link, m in entries]
        emu = emulator.emu
        emu.add(ray_cluster("demo"))
        emu.add(head_pod())
        emu.pod_logs[(NS, POD, "ray-head")] = "stdout\n"
        emu.exec_streams = {(NS, POD): build_tar(entries + [entry("raylet.out", data=b"ok\n")])}
        before = tree(box, exclude=out)
        etc_before = set(os.listdir("/etc"))
        result = emulator.run("log", "demo", "--out-dir", str(out))
        assert "Traceback" not in result.stderr
        assert tree(box, exclude=out) == before and set(os.listdir("/etc")) == etc_before
        for skipped in expected:
            assert skipped.replace("ABS", str(box)) in result.stderr
        assert (out / POD / "ray" / "raylet.out").read_bytes() == b"ok\n"


def test_log_leaves_an_unrelated_folder_alone(emulator: EmulatorHandle, tmp_path: Path, tally):
    with tally.case("filesystem safety"):
        emu = emulator.emu
        emu.add(head_pod())
        emu.exec_streams = {(NS, POD): build_tar([entry("raylet.out", data=b"ok\n")])}
        out = tmp_path / "home"
        (out / POD).mkdir(parents=True)
        (out / POD / "stdout.log").write_text("someone else's file")
        result = emulator.run("log", "demo", "--out-dir", str(out))
        assert result.exit_code == 1 and "pass --overwrite" in result.stderr
        assert (out / POD / "stdout.log").read_text() == "someone else's file"


def test_bundle_refuses_to_overwrite_an_existing_file(emulator: EmulatorHandle, tmp_path: Path, tally):
    with tally.case("filesystem safety"):
        seeded_world(emulator, tmp_path)
        precious = tmp_path / "notes.tar.gz"
        precious.write_text("my own file")
        result = emulator.run("debug", "ft", "--bundle", str(precious))
        assert result.exit_code == 2 and "refusing to overwrite it (pass --overwrite)" in result.stderr
        assert precious.read_text() == "my own file" and emulator.emu.request_count == 0
        assert emulator.run("debug", "ft", "--bundle", str(precious), "--overwrite").exit_code in (0, 1)
        assert precious.read_bytes()[:2] == b"\x1f\x8b"  # now a gzip bundle
