"""Support bundles: round trip, redaction with seeded secrets, the shipped example, hostile archives."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from kubectl_ray.debug.bundle import BundleError, read_bundle, write_bundle
from kubectl_ray.debug.engine import diagnose
from kubectl_ray.debug.redact import REDACTED, redact, redact_text
from tests.conftest import REPO, run_cli
from tests.debug.world import EXAMPLE, World, load
MARK = "S3KR1T"  # every seeded secret contains it


def _targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["targets"]


def broken_world() -> World:
    w = World("ray-cluster.external-redis.yaml")
    # Redis and its Service are deployed (the sample's other documents), but Redis refuses connections
    w.objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis", "namespace": "default"},
                   "spec": {"ports": [{"name": "redis", "port": 6379}], "selector": {"app": "redis"}}})
    w.crash(w.head, message="Failed to connect to Redis at redis:6379: Connection refused")
    w.waiting_for_gcs(w.worker, minutes=9)
    return w


def test_round_trip_gives_the_same_findings(emulator, frozen_now, tmp_path: Path) -> None:
    load(emulator, broken_world().objs)
    out = tmp_path / "b.tar.gz"
    live = emulator.run("debug", "raycluster-external-redis", "--logs", "--bundle", str(out), "-o", "json")
    assert live.exit_code == 1, live
    assert live.stderr.startswith(f"Wrote support bundle {out} (")
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    offline = run_cli("debug", "--from-bundle", str(out), "-o", "json", env={"KUBECONFIG": "/nonexistent"})
    assert offline.exit_code == 1, offline
    live_doc, offline_doc = json.loads(live.stdout), json.loads(offline.stdout)
    assert _targets(offline_doc) == _targets(live_doc)
    assert offline_doc["source"]["type"] == "bundle"
    assert {"FT-07", "WKR-01", "CRASH-02"} <= _all_ids(live_doc)
    human = run_cli("debug", "raycluster/raycluster-external-redis", "--from-bundle", str(out))
    assert human.exit_code == 1 and "[FT-07] the head crashes and cannot reach Redis at redis:6379" in human.stdout


def test_snapshot_round_trip_is_exact(tmp_path: Path) -> None:
    w = broken_world()
    w.log(w.worker, "wait-gcs-ready", "150 seconds elapsed: Still waiting for GCS to be ready.")
    snap = w.snapshot()
    path = tmp_path / "s.tar.gz"
    write_bundle(str(path), snap)
    back = read_bundle(str(path))
    assert back.to_dict()["objects"] == snap.to_dict()["objects"]
    assert back.logs == snap.logs and back.targets == snap.targets and back.collected == snap.collected
    assert diagnose(back).to_dict() == diagnose(snap).to_dict()


def seed_secrets(w: World) -> None:
    c = w.head_container
    c.setdefault("env", []).extend([
        {"name": "MY_DB_PASSWORD", "value": f"pw-{MARK}-1"}, {"name": "HF_TOKEN", "value": f"hf_{MARK}_2"},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": f"aws{MARK}3"}, {"name": "OPENAI_API_KEY", "value": f"sk-{MARK}4"},
        {"name": "GCP_CREDENTIALS", "value": f'{{"k": "{MARK}5"}}'},
        {"name": "RAY_REDIS_ADDRESS", "value": f"redis://default:{MARK}6@redis:6379"},
        {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-password-secret", "key": "password"}}},
    ])
    c["args"] = [f"ulimit -n 65536; ray start --head --redis-password={MARK}7 --block"]
    w.spec["gcsFaultToleranceOptions"]["redisPassword"] = {"value": f"{MARK}8"}
    w.spec["headGroupSpec"]["rayStartParams"]["redis-password"] = f"{MARK}9"
    for pod in (w.head, w.worker):
        pod["spec"]["containers"][0].setdefault("env", []).append({"name": "API_TOKEN", "value": f"tok{MARK}10"})
    w.cluster["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(
        {"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": {"headGroupSpec": {"template": {"spec": {"containers": [
            {"name": "ray-head", "env": [{"name": "DB_PASSWORD", "value": f"la{MARK}11"}]}]}}}}})
    w.crash(w.head, message=f"redis auth failed: password={MARK}12; Authorization: Bearer abcdefgh{MARK}13")
    w.event(w.head, "Unhealthy", f"Readiness probe failed: token: {MARK}14")


def test_secrets_never_reach_the_bundle_or_any_output(emulator, frozen_now, tmp_path: Path) -> None:
    w = World("ray-cluster.external-redis.yaml")
    seed_secrets(w)
    load(emulator, w.objs)
    emulator.emu.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "redis-password-secret", "namespace": "default"},
                      "stringData": {"password": f"sec{MARK}15"}, "data": {"password": "czNrcjF0"}})
    emulator.emu.pod_logs[("default", w.head["metadata"]["name"], "ray-head/previous")] = f"connecting with password {MARK}16\npassword={MARK}17\n"
    emulator.emu.pod_logs[("default", w.head["metadata"]["name"], "ray-head")] = f"export REDIS_PASSWORD={MARK}18\n"
    out = tmp_path / "bundle.tar.gz"
    runs = [emulator.run("debug", "raycluster-external-redis", "--logs", "--bundle", str(out)),
            emulator.run("debug", "raycluster-external-redis", "--logs", "-o", "json"),
            emulator.run("debug", "-n", "default"),
            run_cli("debug", "--from-bundle", str(out)), run_cli("debug", "--from-bundle", str(out), "-o", "json")]
    for r in runs:
        assert r.exit_code in (0, 1), r
        assert MARK not in r.stdout and MARK not in r.stderr
    assert REDACTED in runs[1].stdout  # the redaction is visible, not silent
    files = _bundle_files(out)
    assert "metadata.json" in files and any(name.startswith("logs/") for name in files)
    leaked = [name for name, data in files.items() if MARK.encode() in data]
    assert not leaked, leaked
    assert not any("secrets" in name for name in files)
    # what is needed for a diagnosis survives redaction
    cluster_yaml = files["objects/rayclusters/default/raycluster-external-redis.yaml"]
    for kept in (b"RAY_REDIS_ADDRESS", b"redis-password-secret", b"redis:6379", b"MY_DB_PASSWORD", b"redis-password:"):
        assert kept in cluster_yaml


def _bundle_files(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar if m.isfile()}


def _all_ids(doc: dict[str, Any]) -> set[str]:
    def walk(findings: list[dict[str, Any]]) -> set[str]:
        out: set[str] = set()
        for f in findings:
            out |= {f["id"]} | walk(f["consequences"])
        return out
    return set().union(*(walk(t["findings"]) for t in doc["targets"]))


@pytest.mark.parametrize("text,expected", [
    ("ray start --redis-password=abc --block", f"ray start --redis-password={REDACTED} --block"),
    ("ray start --redis-password abc --block", f"ray start --redis-password {REDACTED} --block"),
    ("redis://user:pa55@redis:6379/0", f"redis://user:{REDACTED}@redis:6379/0"),
    ('{"password": "abc", "user": "ray"}', f'{{"password": "{REDACTED}", "user": "ray"}}'),
    ("Authorization: Bearer eyJhbGciOi.x.y", f"Authorization: Bearer {REDACTED}"),
    ('secret "redis-password-secret" not found', 'secret "redis-password-secret" not found'),
    ("token auth needs Ray 2.52.0", "token auth needs Ray 2.52.0"),
])
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_keeps_structure_and_names() -> None:
    pod = {"spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                    "containers": [{"env": [{"name": "TOKEN", "value": "x"}, {"name": "EMPTY_SECRET", "value": ""},
                                            {"name": "RAY_ADDRESS", "value": "auto"},
                                            {"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}}]}]}}
    out = redact(pod)
    assert out["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists"}]
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "TOKEN", "value": REDACTED}, {"name": "EMPTY_SECRET", "value": ""}, {"name": "RAY_ADDRESS", "value": "auto"},
        {"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}}]


def test_the_shipped_example_shows_the_broken_cluster() -> None:
    result = run_cli("debug", "--from-bundle", str(EXAMPLE), env={"KUBECONFIG": "/nonexistent"})
    assert result.exit_code == 1, result
    lines = result.stdout.splitlines()
    assert lines[0] == "RayCluster ml/demo: 1 error, 2 warnings, 1 info"
    assert "[CRASH-01] the Ray container of the head was OOMKilled (limit 1Gi)" in lines
    assert "    explains: GCS-02 the head pod is not Ready" in lines
    assert "              WKR-01 workers of group cpu-workers wait for the GCS of a head that is down" in lines
    doc = json.loads(run_cli("debug", "--from-bundle", str(EXAMPLE), "-o", "json").stdout)
    target = doc["targets"][0]
    assert [(f["id"], f["severity"]) for f in target["findings"]] == [
        ("CRASH-01", "error"), ("VER-02", "warning"), ("RES-01", "warning"), ("STAT-01", "info")]
    assert [c["id"] for c in target["findings"][0]["consequences"]] == ["GCS-02", "GCS-05", "WKR-01"]
    assert lines[-1] == "Verdict: 1 error; start with CRASH-01."


def test_the_example_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    import runpy

    module = runpy.run_path(str(REPO / "examples" / "make_broken_bundle.py"), run_name="example")
    out = tmp_path / "again.tar.gz"
    snap = module["build"]()
    from kubectl_ray.debug import report

    write_bundle(str(out), snap, report.to_document(snap, [diagnose(snap)], single=True))
    assert out.read_bytes() == EXAMPLE.read_bytes()
    assert EXAMPLE.stat().st_size < 16 * 1024


def _tar(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def test_hostile_bundles_are_refused_without_touching_the_disk(tmp_path: Path) -> None:
    link = tarfile.TarInfo("kubectl-ray-debug/metadata.json")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    escape = tarfile.TarInfo("../../evil.txt")
    escape.size = 4
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(_tar([(link, None), (escape, b"evil")]))
    with pytest.raises(BundleError, match="not a kubectl-ray support bundle"):
        read_bundle(str(bad))
    assert not (tmp_path.parent.parent / "evil.txt").exists()
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(gzip.compress(b"not a tar"))
    result = run_cli("debug", "--from-bundle", str(garbage))
    assert result.exit_code == 3 and result.stderr.startswith("error: cannot read the bundle")
    missing = run_cli("debug", "--from-bundle", str(tmp_path / "nope.tar.gz"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_from_bundle_rejects_flags_that_need_a_cluster() -> None:
    for flags in (["--logs"], ["--deep"], ["-A"], ["--bundle", "x.tar.gz"]):
        result = run_cli("debug", "--from-bundle", str(EXAMPLE), *flags)
        assert result.exit_code == 2, (flags, result)
        assert "cannot be used with --from-bundle" in result.stderr
    absent = run_cli("debug", "rayjob/other", "--from-bundle", str(EXAMPLE))
    assert absent.exit_code == 3
    assert absent.stderr == f"error: rayjob/other is not in bundle {EXAMPLE} (it holds: raycluster/demo)\n"


# --- writing: empty names, full disks, size limits, unwritable output ---------------------------------------

def test_an_empty_bundle_name_or_a_missing_directory_is_refused_before_collecting(emulator, tmp_path: Path) -> None:
    for args, message in ((["--bundle", ""], "error: --bundle needs a file name, such as debug.tar.gz"),
                          (["--bundle", str(tmp_path / "no" / "b.tar.gz")], f"the directory {tmp_path / 'no'} does not exist"),
                          (["--from-bundle", ""], "error: --from-bundle needs the file name of a support bundle")):
        emulator.emu.clear_requests()
        result = emulator.run("debug", "demo", *args)
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1, result
        assert not emulator.emu.requests, "nothing is read before the flags are valid"


def _child(args: list[str], *, stdout: Any = None, fsize: int | None = None, kubeconfig: str | None = None):
    """The real CLI in a child process (file-size limits and /dev/full need real file descriptors)."""
    import subprocess
    import sys

    limit = f"import resource; resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize})); " if fsize else ""
    code = f"{limit}import sys; from kubectl_ray.cli import main; sys.exit(main({args!r}))"
    env = {**os.environ, "KUBECONFIG": kubeconfig or "/nonexistent"}
    return subprocess.run([sys.executable, "-c", code], stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO), timeout=120)


def test_a_file_size_limit_while_writing_the_bundle_is_one_line_and_leaves_nothing(emulator, tmp_path: Path) -> None:
    load(emulator, broken_world().objs)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "b.tar.gz"
    proc = _child(["debug", "raycluster-external-redis", "--bundle", str(out)], fsize=2048, kubeconfig=emulator.kubeconfig)
    assert proc.returncode == 3, proc
    assert proc.stderr == (f"error: cannot write the bundle {out}: the file is larger than this process may write "
                           "(file size limit) (nothing was written)\n")
    assert list(out.parent.iterdir()) == [], "no bundle and no temporary file left behind"


def test_a_full_disk_while_writing_the_bundle_is_one_line_and_leaves_nothing(emulator, tmp_path: Path, mocker) -> None:
    import errno

    load(emulator, broken_world().objs)
    real_write = gzip.GzipFile.write
    calls = {"n": 0}

    def write(self, data):  # the disk fills up after the first few blocks (no server can play a full disk)
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    mocker.patch.object(gzip.GzipFile, "write", write)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "b.tar.gz"
    result = emulator.run("debug", "raycluster-external-redis", "--bundle", str(out))
    assert result.exit_code == 3 and result.stderr == (
        f"error: cannot write the bundle {out}: no space left on the device (nothing was written)\n"), result
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("fmt", [[], ["-o", "json"]])
def test_a_report_to_a_full_device_is_one_line(fmt: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = _child(["debug", "--from-bundle", str(EXAMPLE), *fmt], stdout=full)
    assert proc.returncode == 3, proc
    assert proc.stderr == "error: cannot write the report to /dev/full: no space left on the device\n"
